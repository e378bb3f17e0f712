"""A principal with one name (a trust policy asked for a federated provider) matches Principal and NotPrincipal as
the general any() over its names did."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from samlfed.policy import Request, parse_policy
from samlfed.policy.evaluate import _principal_matches

_NAMES = ["arn:aws:iam::111111111111:saml-provider/Corp", "arn:aws:iam::111111111111:saml-provider/Other", "*"]
_TYPES = ["Federated", "AWS"]
_PRINCIPALS = st.one_of(
    st.just("*"),
    st.dictionaries(st.sampled_from(_TYPES), st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3), min_size=1),
)


def _general(statement: object, request: Request) -> bool:
    """_principal_matches as it was, for every request."""
    if statement.principal is None and statement.not_principal is None:  # type: ignore[attr-defined]
        return True
    if request.principal_type is None or request.principal is None:
        return False
    names = (request.principal, *request.principal_aliases)
    principal, not_principal = statement.principal, statement.not_principal  # type: ignore[attr-defined]
    if principal is not None and not any(principal.matches(request.principal_type, n) for n in names):
        return False
    return not_principal is None or not any(not_principal.matches(request.principal_type, n) for n in names)


@given(
    st.sampled_from(["Principal", "NotPrincipal"]), _PRINCIPALS, st.sampled_from(_TYPES), st.sampled_from(_NAMES[:2]),
    st.sampled_from(["Allow", "Deny"]),
)
def test_one_name_matches_as_any_over_names_did(element: str, value: object, principal_type: str, name: str, effect: str) -> None:
    if element == "NotPrincipal" and effect == "Allow":
        effect = "Deny"  # AWS refuses NotPrincipal with Allow in a trust policy
    text = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, element: value, "Action": "sts:AssumeRoleWithSAML"}]})
    statement = parse_policy(text, principal_required=True).statements[0]
    request = Request("sts:AssumeRoleWithSAML", {}, principal_type=principal_type, principal=name)
    assert _principal_matches(statement, request) == _general(statement, request)
    with_alias = Request("sts:AssumeRoleWithSAML", {}, principal_type=principal_type, principal=name, principal_aliases=(name,))
    assert _principal_matches(statement, with_alias) == _general(statement, request)

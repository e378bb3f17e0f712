"""Properties of evaluation that hold for any policies (hypothesis generates them from a small grammar)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from samlfed.policy import NamedPolicy, PolicySet, Request, authorize, evaluate, parse_policy, wildcard_match

ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:Get*", "s3:*", "*", "iam:ListRoles", "s3:?utObject"]
RESOURCES = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/a", "arn:aws:s3:::b/${aws:PrincipalTag/team}/*", "arn:aws:s3:::c/*"]
CONDITIONS = [
    {}, {"StringEquals": {"aws:PrincipalTag/team": "blue"}}, {"StringNotEquals": {"aws:PrincipalTag/team": "blue"}},
    {"Bool": {"aws:SecureTransport": "true"}}, {"StringLikeIfExists": {"s3:prefix": "home/*"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {"Null": {"aws:PrincipalTag/team": "true"}},
]
statements = st.builds(
    lambda effect, action, resource, condition: {"Effect": effect, "Action": action, "Resource": resource, **({"Condition": condition} if condition else {})},
    st.sampled_from(["Allow", "Deny"]), st.sampled_from(ACTIONS), st.sampled_from(RESOURCES), st.sampled_from(CONDITIONS),
)
policies = st.lists(statements, min_size=1, max_size=6)
contexts = st.fixed_dictionaries({}, optional={
    "aws:principaltag/team": st.sampled_from([["blue"], ["red"]]), "aws:securetransport": st.sampled_from([["true"], ["false"]]),
    "s3:prefix": st.sampled_from([["home/x"], ["work"]]), "aws:tagkeys": st.sampled_from([[], ["a"], ["a", "b"]]),
})
requests = st.builds(
    lambda action, resource, context: Request(action, context, resource=resource),
    st.sampled_from(["s3:GetObject", "s3:PutObject", "iam:ListRoles"]),
    st.sampled_from(["arn:aws:s3:::b/a", "arn:aws:s3:::b/blue/x", "arn:aws:s3:::c/x"]),
    contexts,
)


def doc(statements: list[dict], kind: str = "role") -> NamedPolicy:
    return NamedPolicy("p", kind, parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statements}), principal_required=False))


@settings(max_examples=300, deadline=None)
@given(policies, requests, st.randoms())
def test_statement_order_does_not_matter(statements: list[dict], request: Request, random) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(statements)
    random.shuffle(shuffled)
    assert evaluate(doc(statements).document, request).decision == evaluate(doc(shuffled).document, request).decision


@settings(max_examples=300, deadline=None)
@given(policies, requests)
def test_an_unconditional_deny_of_the_action_always_wins(statements: list[dict], request: Request) -> None:
    deny = {"Effect": "Deny", "Action": request.action, "Resource": "*"}
    assert evaluate(doc([*statements, deny]).document, request).decision == "explicitDeny"


@settings(max_examples=300, deadline=None)
@given(policies, policies, requests)
def test_a_boundary_never_widens(identity: list[dict], boundary: list[dict], request: Request) -> None:
    bounded = authorize(PolicySet(identity=(doc(identity),), boundary=doc(boundary, "permissions-boundary")), request)
    if bounded.decision == "allowed":
        assert authorize(PolicySet(identity=(doc(identity),)), request).decision == "allowed"
        assert authorize(PolicySet(identity=(doc(boundary),)), request).decision == "allowed"


@settings(max_examples=300, deadline=None)
@given(policies, policies, requests)
def test_session_policies_never_widen(identity: list[dict], session: list[dict], request: Request) -> None:
    limited = authorize(PolicySet(identity=(doc(identity),), session=(doc(session, "session"),)), request)
    if limited.decision == "allowed":
        assert authorize(PolicySet(identity=(doc(identity),)), request).decision == "allowed"


@settings(max_examples=300, deadline=None)
@given(policies, requests)
def test_adding_an_allow_never_removes_access(statements: list[dict], request: Request) -> None:
    before = evaluate(doc(statements).document, request).decision
    after = evaluate(doc([*statements, {"Effect": "Allow", "Action": "*", "Resource": "*"}]).document, request).decision
    if before == "allowed":
        assert after == "allowed"
    if before == "explicitDeny":
        assert after == "explicitDeny"


@given(st.text(alphabet=st.characters(blacklist_characters="*?"), max_size=30))
def test_a_pattern_without_wildcards_matches_exactly_itself(text: str) -> None:
    assert wildcard_match(text, text)
    assert wildcard_match("*", text)
    assert not wildcard_match(text, text + "x")


OPERATORS = [
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
    "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
    "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnNotEquals", "ArnLike",
    "ArnNotLike",
]
# Values near the edges of each type's parser: long digit runs, signs, exponents, dates with odd offsets, CIDRs,
# base64, ARNs, wildcards and variables, and anything at all.
hostile_values = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats().map(str),
    st.from_regex(r"[+-]?\d{1,40}(\.\d{0,20})?([eE][+-]?\d{1,6})?", fullmatch=True),
    st.from_regex(r"-?\d{4,6}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)?", fullmatch=True),
    st.from_regex(r"(\d{1,3}\.){3}\d{1,3}(/\d{1,3})?|[0-9a-f:]{2,39}(/\d{1,3})?", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9+/=]{0,12}", fullmatch=True),
    st.from_regex(r"arn:[a-z*?-]{0,8}(:[a-z0-9*?/${}-]{0,10}){0,6}", fullmatch=True),
    st.sampled_from(["nan", "inf", "-inf", "1_000", " 5", "\u0665", "\u00b2", "${aws:username}", "true", "TRUE", ""]),
    st.text(max_size=20),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from(OPERATORS), st.sampled_from(["", "IfExists"]), st.sampled_from(["", "ForAnyValue:", "ForAllValues:"]),
    st.lists(hostile_values, min_size=1, max_size=3), st.lists(hostile_values, max_size=3), st.sampled_from(["Allow", "Deny"]),
)
def test_any_condition_on_any_value_gives_a_decision(
    operator: str, suffix: str, qualifier: str, policy_values: list[str], context_values: list[str], effect: str
) -> None:
    """Values of the wrong type or out of range match nothing (or everything, negated); they never fail the request."""
    condition = {f"{qualifier}{operator}{suffix}": {"aws:PrincipalTag/x": policy_values}}
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": "*", "Resource": "*", "Condition": condition}]}), principal_required=False)
    for context in ({}, {"aws:principaltag/x": context_values}, {"aws:principaltag/x": context_values, "aws:username": ["u"]}):
        decision = evaluate(policy, Request("s3:GetObject", context, resource="arn:aws:s3:::b/k")).decision
        assert decision in ("allowed", "explicitDeny", "implicitDeny")

"""A trust policy as IAM shows it: a role principal whose role is gone appears as the role ID it was bound to.

IAM binds each role ARN a trust policy names to that role's unique ID when the policy is written, and maps the ID
back to the ARN when it shows the policy. Once the role is deleted the ID maps to nothing, so GetRole shows the ID
itself, also after a role is created again under the same name: the policy does not trust the new role, and showing
its ARN would say it does. (samlfed keeps the document as written and the bindings beside it, in
`Role.trust_principal_ids`.)"""

from __future__ import annotations

import json
from collections.abc import Container, Sequence
from typing import Any

from ..context import ServiceContext
from ..jsoninput import not_json
from ..store import Role


def trust_policies_shown(ctx: ServiceContext, roles: Sequence[Role]) -> list[str]:
    """Each role's trust policy as GetRole, ListRoles and GetAccountAuthorizationDetails show it (one read for all)."""
    bound = {role_id for role in roles for _, role_id in role.trust_principal_ids or () if role_id}
    live = ctx.store.live_role_ids(bound) if bound else frozenset()
    return [trust_policy_shown(role, live) for role in roles]


def trust_policy_shown(role: Role, live_role_ids: Container[str]) -> str:
    """`role`'s trust policy with each role ARN whose bound role is not in `live_role_ids` replaced, in Principal,
    by that role's ID. The document is returned as written when nothing is replaced; otherwise it is written again
    from its JSON value, compact, each number as written and each string in ASCII (so that the shown text, written
    back, is one the policy pattern admits). An ARN bound to no ID (a policy written before samlfed kept bindings,
    naming a role that did not exist when it upgraded), and a stored text that is no policy, are shown as written."""
    gone = {arn: role_id for arn, role_id in role.trust_principal_ids or () if role_id and role_id not in live_role_ids}
    if not gone:
        return role.trust_policy
    try:
        document = json.loads(role.trust_policy, parse_float=_Number, parse_int=_Number, parse_constant=not_json)
        statements = document.get("Statement") if isinstance(document, dict) else None
        for statement in statements if isinstance(statements, list) else [statements]:
            principal = statement.get("Principal") if isinstance(statement, dict) else None
            if isinstance(principal, dict) and "AWS" in principal:
                principal["AWS"] = _replaced(principal["AWS"], gone)
        return _json_text(document)
    except (ValueError, RecursionError):
        return role.trust_policy


class _Number(str):
    """A JSON number's own text: written again as it was (12345678901234567890.5 and 1.10 stay so; a float would not)."""


def _json_text(value: Any) -> str:
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{_json_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(item) for item in value) + "]"
    return json.dumps(value)  # a string (ASCII escapes), true, false or null


def _replaced(value: Any, gone: dict[str, str]) -> Any:
    """An "AWS" principal value (a string or a list) with the ARNs in `gone` replaced by their role IDs; anything else
    (a stored document another tool wrote) as it is."""
    if isinstance(value, list):
        return [gone.get(item, item) if isinstance(item, str) else item for item in value]
    return gone.get(value, value) if isinstance(value, str) else value

"""The request side shared by the handlers: the Handler signature, and readers of query parameters that hold each one
to its model constraints (required names and lists, integers, flags, enums, tags, PathPrefix) as AWS reports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...context import ServiceContext
from ...decimal_text import signed_decimal_within
from ...errors import ServiceError, ValidationFailed, null_violation
from ...iam import constraints as iam_constraints
from ...store import Tag
from ..auth import Administrator, Caller, Session
from ..protocol import QueryRequest

Handler = Callable[[ServiceContext, Caller | None, QueryRequest], dict[str, Any] | None]
_NAMES: dict[str, tuple[str, Callable[[str], list[str]]]] = {
    "RoleName": ("roleName", iam_constraints.role_name_violations),
    "PolicyName": ("policyName", iam_constraints.policy_name_violations),
}
"""Name parameters checked wherever they are required: against their model constraints, then (check_iam_name) their characters."""
_CHECKED_WITH_THE_REST = frozenset({
    ("RoleName", "CreateRole"), ("PolicyName", "CreatePolicy"), ("RoleName", "PutRolePolicy"), ("PolicyName", "PutRolePolicy"),
    ("RoleName", "UpdateRole"), ("RoleName", "UpdateRoleDescription"), ("RoleName", "UpdateAssumeRolePolicy"), ("RoleName", "TagRole"),
    ("RoleName", "PutRolePermissionsBoundary"), ("RoleName", "DeleteRolePermissionsBoundary"),
})
"""Names their action's service function checks along with its other parameters: AWS reports every model violation
at once, and a name's characters (its own check) only after them."""
_UNIMPLEMENTED: dict[str, tuple[frozenset[str], str]] = {
    "AssumeRole": (frozenset({"ProvidedContexts", "MinimumSessionTokenSize"}), "trusted context providers and padded session tokens are not implemented"),
    "AssumeRoleWithSAML": (frozenset({"MinimumSessionTokenSize"}), "padded session tokens are not implemented"),
    "CreateRole": (frozenset({"MaxSigninSessionDuration"}), "a role's console sign-in session duration is not implemented"),
    "UpdateRole": (frozenset({"MaxSigninSessionDuration", "ResetMaxSigninSessionDuration"}),
                   "a role's console sign-in session duration is not implemented"),
    "CreateSAMLProvider": (frozenset({"ContextProvider", "IdentityCenterInstanceArn"}),
                           "IAM Identity Center trusted identity propagation is not implemented"),
    "UpdateSAMLProvider": (frozenset({"ContextProvider", "IdentityCenterInstanceArn", "RemoveContextProvider", "RemoveIdentityCenterInstance"}),
                           "IAM Identity Center trusted identity propagation is not implemented"),
    "SimulatePrincipalPolicy": (frozenset({"PolicyExclusionList", "ResourceOwner", "ResourceHandlingOption"}),
                                "policy exclusions, resource owners and EC2 resource handling options are not simulated"),
    "SimulateCustomPolicy": (frozenset({"OrderedOrganizationPolicyInputList", "ResourceOwner", "ResourceHandlingOption"}),
                             "organization policies, resource owners and EC2 resource handling options are not simulated"),
}
"""Members of an operation's model (botocore's) that samlfed does not implement, and why."""


def refuse_unimplemented(request: QueryRequest) -> None:
    """Refused rather than ignored: the caller would get less than it asked for (a session without its trusted context, a role
    without its setting) and not know it."""
    names, why = _UNIMPLEMENTED[request.action]
    given = sorted({name.split(".", 1)[0] for name in request.params} & names)
    if given:
        raise ServiceError("InvalidParameterValue", f"samlfed's {request.action} does not support {', '.join(given)} ({why})")


def required(request: QueryRequest, *names: str) -> list[str]:
    violations = [violation for name in names for violation in _required_violations(request, name)]
    if violations:  # every one of them, in parameter order, as AWS reports them (`2 validation errors detected: …`)
        raise ValidationFailed(violations)
    for name in names:
        if _name_checked_here(request, name):
            iam_constraints.check_iam_name(request.params[name], _NAMES[name][0])
    return [request.params[n] for n in names]


def _name_checked_here(request: QueryRequest, name: str) -> bool:
    """Whether `required` checks parameter `name` as a role or policy name (not its action's service function)."""
    return name in _NAMES and (name, request.action) not in _CHECKED_WITH_THE_REST


def _required_violations(request: QueryRequest, name: str) -> list[str]:
    """What a required parameter breaks: it is missing, or it is a name its model constraints refuse."""
    if name not in request.params:
        return [null_violation(name[0].lower() + name[1:])]
    if not _name_checked_here(request, name):
        return []
    field_violations = _NAMES[name][1]
    return field_violations(request.params[name])


def required_list(request: QueryRequest, name: str) -> None:
    """A required list parameter (botocore sends an empty list as `Name=`; a request without it has neither that
    nor any `Name.member.N`)."""
    if name not in request.params and not any(key.startswith(f"{name}.member.") for key in request.params):
        raise ValidationFailed([null_violation(name[0].lower() + name[1:])])


def integer(request: QueryRequest, name: str) -> int | None:
    value = request.params.get(name)
    if value is None:
        return None
    number = signed_decimal_within(value, -(2**31), 2**31 - 1)  # a 32-bit integer as AWS's (Java) parser reads one
    if number is None:
        # AWS's answer to an integer its (Java) parser cannot read, a 32-bit one: MalformedInput with no message at all
        # (aws-azure-login #30 sent DurationSeconds=NaN; a live AssumeRole probe), before any constraint is checked.
        raise ServiceError("MalformedInput", "")
    return number


def default(value: int | None, default: int) -> int:
    """An optional integer parameter's value, `default` when absent (0 is a value, to be checked like any)."""
    return default if value is None else value


def account(caller: Caller | None) -> str:
    """IAM calls act in the caller's account (a session's calls were authorized by `api.iam_access` first)."""
    if isinstance(caller, Administrator):
        return caller.account_id
    if isinstance(caller, Session):
        return caller.claims.account_id
    raise ServiceError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def tags(request: QueryRequest) -> list[Tag]:
    """`Tags.member.N.Key/Value`; the model requires both members (a missing Value is not an empty one)."""
    structs = request.member_structs("Tags", ("Key", "Value"))
    missing = [null_violation(f"tags.{n}.member.{field.lower()}") for n, struct in enumerate(structs, 1) for field in ("Key", "Value") if field not in struct]
    if missing:
        raise ValidationFailed(missing)
    return [Tag(t["Key"], t["Value"]) for t in structs]


_POLICY_PATH_PREFIX = (iam_constraints.POLICY_PATH, "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/")
_PATH_PREFIXES = {  # the model's pathPrefixType (ListRoles) and policyPathType (the policy lists)
    "ListRoles": (re.compile(r"/[\x21-\x7f]*"), "\\u002F[\\u0021-\\u007F]*"),
    "ListPolicies": _POLICY_PATH_PREFIX,
    "ListAttachedRolePolicies": _POLICY_PATH_PREFIX,
    "ListEntitiesForPolicy": (re.compile(r"/|/[\x21-\x7e]+/"), "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"),
}


def path_prefix(request: QueryRequest) -> str:
    """The optional PathPrefix, held to its model constraints (an unchecked one silently matched nothing)."""
    prefix = request.params.get("PathPrefix", "/")
    violations = iam_constraints.name_violations(prefix, "pathPrefix", 512, *_PATH_PREFIXES[request.action])
    if violations:
        raise ValidationFailed(violations)
    return prefix


def enum(request: QueryRequest, name: str, allowed: tuple[str, ...]) -> str | None:
    """An optional enum parameter, refused as AWS's model validation refuses a value outside the set."""
    value = request.params.get(name)
    if value is not None and value not in allowed:
        field = name[0].lower() + name[1:]
        raise ValidationFailed([f"Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"])
    return value


def flag(request: QueryRequest, name: str) -> bool:
    """An optional boolean parameter, `true` or `false` in any case (what SDKs send); absent: false. Anything else is
    refused (read as false, SetAsDefault=1 left the old default), in samlfed's words: no answer of AWS to a boolean
    that is none was found (for an integer that is none it answers MalformedInput, see `integer`)."""
    value = request.params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise ServiceError("ValidationError", f"Invalid value '{request.params[name]}' for {name}: a boolean (true or false) is required")
    return value == "true"

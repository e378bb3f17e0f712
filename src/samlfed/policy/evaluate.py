"""Evaluating policies for a request, as the IAM User Guide's "Policy evaluation logic" describes it.

`evaluate` judges one policy: an explicit Deny wins, then any Allow, else an implicit deny. `authorize` combines
the policies of a role session: identity policies (inline and managed), session policies, the permissions
boundary and resource policies. An explicit Deny anywhere wins; otherwise an Allow is needed from an identity
policy or a resource policy, and every limiting layer present (boundary, session policies) must allow too. A
resource policy that names the role *session* ARN is the exception AWS documents: it is not limited by the
boundary or the session policies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from .conditions import Context
from .document import PolicyDocument, Principal, Statement
from .variables import pattern_matches, written_keys

Decision = Literal["allowed", "explicitDeny", "implicitDeny"]
VARIABLES_VERSION = "2012-10-17"


# Request and Evaluation are read-only by convention, not frozen: a frozen dataclass's __init__ sets each field
# through object.__setattr__, and every authorization builds one of each per action.
@dataclass(slots=True)
class Request:
    action: str
    context: Context = field(default_factory=dict)
    resource: str | None = None
    principal_type: str | None = None
    """For resource and trust policies: 'Federated', 'AWS', …"""
    principal: str | None = None
    principal_aliases: tuple[str, ...] = ()
    """Other names of the same principal that a Principal element may use (role ARN, account root, account ID)."""
    bounded: bool = False
    """The principal has a permissions boundary (`authorize` sets it for resource policies)."""


@dataclass(slots=True)
class Evaluation:
    decision: Decision
    matched: tuple[Statement, ...]
    missing: frozenset[str] = frozenset()
    """Condition keys (and variable keys) the applicable statements needed and the context lacked."""


def _principal_matches(statement: Statement, request: Request) -> bool:
    if statement.principal is None and statement.not_principal is None:
        return True
    if request.principal_type is None or request.principal is None:
        return False
    if request.bounded and statement.not_principal is not None and statement.effect == "Deny":
        # IAM User Guide, NotPrincipal: "The NotPrincipal element with a Deny effect will always deny any IAM
        # principal that has a permissions boundary policy attached, regardless of the values specified".
        return True
    if not request.principal_aliases:  # a trust policy asked for a federated principal: one name, no generator
        return _name_matches(statement, request.principal_type, request.principal)
    names = (request.principal, *request.principal_aliases)
    if statement.principal is not None and not any(statement.principal.matches(request.principal_type, n) for n in names):
        return False
    return statement.not_principal is None or not _spared(statement.not_principal, request.principal_type, names)


def _spared(not_principal: Principal, principal_type: str, names: tuple[str, ...]) -> bool:
    """Whether a NotPrincipal (only ever in a Deny: parse_policy refuses it in a grant) leaves this principal out:
    only when it names every level of it, the account (root ARN or ID) and each other name (for a role session, the
    role and the session). The IAM User Guide (NotPrincipal) says AWS "might" check the account, then the role, then
    the session, and deny at the first level left out: here a level left out is always denied."""
    account_names = [name for name in names if _ACCOUNT_NAME.fullmatch(name)]
    others = [name for name in names if not _ACCOUNT_NAME.fullmatch(name)]
    return all(not_principal.matches(principal_type, name) for name in others) and (
        not account_names or any(not_principal.matches(principal_type, name) for name in account_names)
    )


def _name_matches(statement: Statement, principal_type: str, name: str) -> bool:
    """_principal_matches for a principal with one name (its any() over one name, without building them)."""
    if statement.principal is not None and not statement.principal.matches(principal_type, name):
        return False
    return statement.not_principal is None or not statement.not_principal.matches(principal_type, name)


def _action_matches(statement: Statement, action: str) -> bool:
    regex = statement.action_regex
    if regex is not None and regex.fullmatch(action) is None:
        return False
    regex = statement.not_action_regex
    return regex is None or regex.fullmatch(action) is None


def _targets(statement: Statement, request: Request, variables: bool) -> bool:
    """Resource and principal match (the action already does; conditions aside)."""
    resource = request.resource
    if resource is not None:
        if variables and statement.variable_resources:
            context = request.context
            if statement.resources is not None and not any(pattern_matches(p, resource, context, with_variables=True, arn=True) for p in statement.resources):
                return False
            # A Resource or NotResource entry whose variable has no value "will not match any resource" (IAM User
            # Guide, policy variables with no value): such a NotResource entry excludes nothing.
            if statement.not_resources is not None and any(
                pattern_matches(p, resource, context, with_variables=True, arn=True) for p in statement.not_resources
            ):
                return False
        else:
            regex = statement.resource_regex
            if regex is not None and regex.fullmatch(resource) is None:
                return False
            regex = statement.not_resource_regex
            if regex is not None and regex.fullmatch(resource) is not None:
                return False
    return _principal_matches(statement, request)


def _missing(statement: Statement, context: Context, variables: bool) -> set[str]:
    keys = set()
    for condition in statement.conditions:
        if condition.key not in context and condition.operator != "Null":
            keys.add(condition.name or condition.key)
        if variables:
            keys.update(k for k in condition.variable_keys() if k.lower() not in context)
    if variables:
        for pattern in (statement.resources or ()) + (statement.not_resources or ()):
            if "${" in pattern:
                keys.update(k for k in written_keys(pattern) if k.lower() not in context)
    return keys


def evaluate(policy: PolicyDocument, request: Request, *, explain: bool = False) -> Evaluation:
    """`explain` also collects the missing context keys (the simulator wants them; authorization does not)."""
    variables = policy.version == VARIABLES_VERSION
    context = request.context
    action = request.action
    denies: list[Statement] = []
    allows: list[Statement] = []
    missing: set[str] = set()
    for statement in policy.statements:
        if not _action_matches(statement, action):
            continue
        if explain:
            missing |= _missing(statement, context, variables)
        if not _targets(statement, request, variables):
            continue
        if statement.conditions and not all(c.matches(context, effect=statement.effect, with_variables=variables) for c in statement.conditions):
            continue
        (denies if statement.effect == "Deny" else allows).append(statement)
    if denies:
        return Evaluation("explicitDeny", tuple(denies), frozenset(missing))
    return Evaluation("allowed" if allows else "implicitDeny", tuple(allows), frozenset(missing))


@dataclass(frozen=True)
class NamedPolicy:
    """A policy with the id and type the simulator reports (`SourcePolicyId`, `SourcePolicyType`)."""

    id: str
    type: str
    """'role' (inline), 'user-managed' / 'aws-managed', 'resource', 'session', 'permissions-boundary' or 'none' (custom)."""
    document: PolicyDocument


@dataclass(frozen=True)
class PolicySet:
    identity: tuple[NamedPolicy, ...] = ()
    session: tuple[NamedPolicy, ...] | None = None
    """None: no session policies were passed (no limit); an empty tuple would deny everything."""
    boundary: NamedPolicy | None = None
    resource: tuple[NamedPolicy, ...] = ()


@dataclass(frozen=True)
class Authorization:
    decision: Decision
    matched: tuple[tuple[NamedPolicy, Statement], ...]
    missing: frozenset[str]
    refused_by: str | None = None
    """The layer AWS's AccessDenied text names when refused: 'identity', 'boundary', 'session' or 'resource'."""


def authorize(policies: PolicySet, request: Request, *, session_arn: str | None = None, explain: bool = False) -> Authorization:
    # Resource policies see whether the principal has a boundary: a Deny's NotPrincipal then spares nobody.
    resource_request = replace(request, bounded=True) if policies.resource and policies.boundary is not None else request
    results: list[tuple[str, NamedPolicy, Evaluation]] = []
    for layer, group, asked in (
        ("identity", policies.identity, request), ("session", policies.session or (), request), ("resource", policies.resource, resource_request),
    ):
        results.extend((layer, p, evaluate(p.document, asked, explain=explain)) for p in group)
    if policies.boundary is not None:
        results.append(("boundary", policies.boundary, evaluate(policies.boundary.document, request, explain=explain)))
    missing = frozenset().union(*(e.missing for _, _, e in results))

    denies = tuple((layer, p, s) for layer, p, e in results if e.decision == "explicitDeny" for s in e.matched)
    if denies:
        return Authorization("explicitDeny", tuple((p, s) for _, p, s in denies), missing, refused_by=denies[0][0])

    def allowing(layer: str) -> tuple[tuple[NamedPolicy, Statement], ...]:
        return tuple((p, s) for kind, p, e in results if kind == layer and e.decision == "allowed" for s in e.matched)

    identity, resource = allowing("identity"), allowing("resource")
    boundary_ok = policies.boundary is None or bool(allowing("boundary"))
    session_ok = policies.session is None or bool(allowing("session"))
    direct = tuple((p, s) for p, s in resource if session_arn is not None and s.principal is not None and session_arn in s.principal.by_type.get("AWS", ()))
    if direct:
        return Authorization("allowed", direct, missing)
    # A statement that names only the account delegates to the account's own policies ("all identities inside the
    # account can access the resource if they have the appropriate IAM permissions attached"): it allows
    # nothing alone. One naming the role itself (or anyone) does.
    grants = tuple((p, s) for p, s in resource if _names_the_principal_itself(s, request))
    if (identity or grants) and boundary_ok and session_ok:
        return Authorization("allowed", identity + resource + allowing("boundary") + allowing("session"), missing)
    refused_by = "identity" if not (identity or grants) else "boundary" if not boundary_ok else "session"
    return Authorization("implicitDeny", (), missing, refused_by=refused_by)


_ACCOUNT_NAME = re.compile(r"\d{12}|arn:aws[a-z-]*:iam::\d{12}:root", re.ASCII)


def _names_the_principal_itself(statement: Statement, request: Request) -> bool:
    if statement.principal is None or request.principal_type is None:
        return True
    names = (request.principal, *request.principal_aliases)
    return any(statement.principal.matches(request.principal_type, name) for name in names if name and not _ACCOUNT_NAME.fullmatch(name))

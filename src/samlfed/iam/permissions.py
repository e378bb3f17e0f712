"""What a role session may do: its policy set (from the store) and its request context (from its claims).

Used by samlfed's own IAM API, the simulator and the authorization API for downstream services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from ..context import ServiceContext
from ..policy import MalformedPolicy, NamedPolicy, PolicyDocument, PolicySet, parse_policy
from ..store import NotFound, RoleGrants, Tag
from ..sts.credentials import SessionClaims
from ..timestamps import aws_timestamp

SESSION_KEYS = ("aws:principal", "aws:userid", "aws:username", "aws:sourceidentity", "saml:", "aws:tokenissuetime", "aws:multifactorauth",
                "aws:federatedprovider", "aws:currenttime", "aws:epochtime", "aws:calledvia")
"""Keys that only the session (or samlfed's clock) can give: a caller's `extra` never sets them, even where a
context has none. aws:CalledVia* name the services that made a request on the principal's behalf: none, as
aws:ViaAWSService (false) says."""


@lru_cache(maxsize=2048)
def identity_document(text: str) -> PolicyDocument:
    """Parsed once per document text (stored documents were validated when they were written)."""
    return parse_policy(text, principal_required=False)


def _named(policy_id: str, kind: str, text: str) -> NamedPolicy | None:
    try:
        return NamedPolicy(policy_id, kind, identity_document(text))
    except MalformedPolicy:
        return None  # cannot happen for stored documents; a broken one grants nothing


@dataclass(frozen=True)
class RolePolicies:
    identity: tuple[NamedPolicy, ...] = ()
    boundary: NamedPolicy | None = None
    tags: dict[str, str] = field(default_factory=dict)
    gone: bool = False
    """The role was deleted (and perhaps created again, as another role) since the session was issued."""


@dataclass(frozen=True)
class SessionPermissions:
    """What a request made with a session is judged by: its policies and its request context."""

    policies: PolicySet
    context: dict[str, list[str]]
    role_tags: dict[str, str]
    role_gone: bool = False
    """The session's role no longer exists as the role it was issued for: a policy naming the role's ARN names
    another role, or none (IAM keeps the unique ID a policy's principal was written for)."""


def role_policy_documents(ctx: ServiceContext, account_id: str, role_name: str, role_id: str) -> list[tuple[str, str, str]]:
    """(id, kind, document text) of the role's inline policies, then its attached managed policies; NotFound when the
    role does not exist, or is no longer the role of `role_id` (deleted and created again)."""
    grants = ctx.store.role_grants(account_id, role_name)
    if grants.role.role_id != role_id:
        raise NotFound(f"role {role_name}")
    return _documents(grants)


def _documents(grants: RoleGrants) -> list[tuple[str, str, str]]:
    """A managed policy's document is its default version's, read on every call, uncached, so a new default applies
    from the next request on, on every node."""
    return [(name, "role", document) for name, document in grants.inline] + [(arn, managed_kind(arn), document) for arn, document in grants.attached]


def managed_kind(arn: str) -> str:
    """A managed policy's kind as the engine names it: one of AWS's own (an imported catalogue's) or the account's."""
    return "aws-managed" if arn.startswith("arn:aws:iam::aws:policy/") else "user-managed"


def role_policies(ctx: ServiceContext, account_id: str, role_name: str, role_id: str | None = None) -> RolePolicies:
    """The role's identity policies (inline, then attached managed), its permissions boundary and its tags, all of one
    state of the store; with `role_id`, only if the role by that name is still that role."""
    try:
        grants = ctx.store.role_grants(account_id, role_name)
    except NotFound:
        return RolePolicies(gone=True)  # a deleted role grants nothing
    if role_id is not None and grants.role.role_id != role_id:
        return RolePolicies(gone=True)  # deleted and created again: another role, whose grants are not the session's
    return grants_policies(grants)


def grants_policies(grants: RoleGrants) -> RolePolicies:
    """The policies, boundary and tags of one read of a role."""
    role = grants.role
    boundary = None
    if role.permissions_boundary:
        if grants.boundary_document is not None:
            boundary = _named(role.permissions_boundary, "permissions-boundary", grants.boundary_document)
        if boundary is None:  # a boundary that no longer exists allows nothing, rather than everything
            boundary = NamedPolicy(role.permissions_boundary, "permissions-boundary", PolicyDocument("2012-10-17", ()))
    identity = tuple(p for p in (_named(*document) for document in _documents(grants)) if p is not None)
    return RolePolicies(identity, boundary, {t.key: t.value for t in role.tags})


def policy_texts(grants: RoleGrants) -> dict[tuple[str, str], str]:
    """The document text of each policy of `grants_policies(grants)`, by (id, kind): for the simulator's positions."""
    texts = {(policy_id, kind): text for policy_id, kind, text in _documents(grants)}
    if grants.role.permissions_boundary and grants.boundary_document is not None:
        texts[(grants.role.permissions_boundary, "permissions-boundary")] = grants.boundary_document
    return texts


def session_permissions(
    ctx: ServiceContext, claims: SessionClaims, *, resource_policies: Sequence[NamedPolicy] = (), source_ip: str | None = None,
    secure_transport: bool | None = None, region: str | None = None, extra: Mapping[str, Sequence[str]] | None = None,
) -> SessionPermissions:
    """The session's policy set and request context, from one read of its role."""
    role = role_policies(ctx, claims.account_id, claims.role_arn.rsplit("/", 1)[-1], claims.role_id)
    context = session_context(claims, now=ctx.clock(), role_tags=role.tags, source_ip=source_ip, secure_transport=secure_transport, region=region, extra=extra)
    return SessionPermissions(_policy_set(ctx, claims, role, resource_policies), context, role.tags, role.gone)


def _policy_set(ctx: ServiceContext, claims: SessionClaims, role: RolePolicies, resource_policies: Sequence[NamedPolicy]) -> PolicySet:
    session: list[NamedPolicy] | None = None
    if claims.session_policy is not None or claims.policy_arns:
        session = []
        if claims.session_policy is not None:
            named = _named("session-policy", "session", claims.session_policy)
            if named is not None:
                session.append(named)
        for arn in claims.policy_arns:
            try:
                named = _named(arn, "session", ctx.store.get_policy(arn).document)
            except NotFound:
                named = None
            if named is not None:
                session.append(named)
    return PolicySet(identity=role.identity, session=tuple(session) if session is not None else None, boundary=role.boundary, resource=tuple(resource_policies))


ROLE_RESOURCE_TAG_PREFIXES = ("aws:ResourceTag", "iam:ResourceTag")
"""A role's tags are its resource tags under both keys: IAM's older `iam:ResourceTag/…` still applies to roles."""


def resource_tags(tags: Iterable[Tag], prefixes: tuple[str, ...] = ("aws:ResourceTag",)) -> dict[str, list[str]]:
    """A resource's tags as condition keys (`aws:ResourceTag/KEY`), for a request's context."""
    return {f"{prefix}/{tag.key}": [tag.value] for tag in tags for prefix in prefixes}


def add_request_keys(context: dict[str, list[str]], extra: Mapping[str, Sequence[str]]) -> None:
    """The keys a caller adds to a request (s3:prefix…), lower-cased; never one the context already has, nor one only
    the session or samlfed sets, even where this session has none."""
    for key, values in extra.items():
        lowered = key.lower()
        if lowered not in context and not lowered.startswith(SESSION_KEYS):
            context[lowered] = list(values)


def add_origin_keys(context: dict[str, list[str]], source_ip: str | None, secure_transport: bool | None) -> None:
    """aws:SourceIp and aws:SecureTransport of the request, where known (after trusted proxies): AWS puts both in
    every request context, trust policies' included."""
    if source_ip:
        context["aws:sourceip"] = [source_ip]
    if secure_transport is not None:
        context["aws:securetransport"] = ["true" if secure_transport else "false"]


def principal_tags(role_tags: Mapping[str, str], session_tags: Mapping[str, str]) -> dict[str, str]:
    """A session's principal tags as spelled: its session tags, and the role's tags whose key no session tag has in any
    case (tag keys are case-insensitive, and session tags override role tags: IAM User Guide, "Passing session tags")."""
    overridden = {key.lower() for key in session_tags}
    return {**{key: value for key, value in role_tags.items() if key.lower() not in overridden}, **session_tags}


def session_context(
    claims: SessionClaims, *, now: datetime, role_tags: Mapping[str, str] | None = None, source_ip: str | None = None,
    secure_transport: bool | None = None, region: str | None = None, extra: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """The global condition keys of a request made with this session (IAM User Guide, "AWS global condition
    context keys"), lower-cased; session tags override role tags with the same key."""
    tags = {k.lower(): v for k, v in principal_tags(role_tags or {}, claims.tags).items()}
    context: dict[str, list[str]] = {
        "aws:principalarn": [claims.role_arn],
        "aws:principalaccount": [claims.account_id],
        "aws:principaltype": ["AssumedRole"],
        "aws:userid": [f"{claims.role_id}:{claims.session_name}"],
        "aws:currenttime": [aws_timestamp(now)],
        "aws:epochtime": [str(int(now.timestamp()))],
        "aws:tokenissuetime": [aws_timestamp(datetime.fromtimestamp(claims.issued_at, UTC))],
        "aws:multifactorauthpresent": ["false"],
        # Present, false, in every request signed with credentials (not a service principal, not through a service):
        # data-perimeter policies deny with `Bool {"aws:PrincipalIsAWSService": "false"}`, which an absent key escapes.
        "aws:principalisawsservice": ["false"],
        "aws:viaawsservice": ["false"],
    }
    for key, value in tags.items():
        context[f"aws:principaltag/{key}"] = [value]
    if claims.source_identity:
        context["aws:sourceidentity"] = [claims.source_identity]
    add_origin_keys(context, source_ip, secure_transport)
    if region:
        context["aws:requestedregion"] = [region]
    for key, value in claims.saml.items():
        context[key.lower()] = [value]
    add_request_keys(context, extra or {})
    return context

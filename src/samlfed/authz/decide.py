"""One authorization decision: verify the SigV4 signature the service received, then evaluate the policies."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..api.auth import Administrator, Session, authenticate
from ..api.sigv4 import HttpRequest, parse_claim
from ..context import ServiceContext
from ..errors import ServiceError
from ..iam.permissions import add_origin_keys, add_request_keys, principal_tags, session_permissions
from ..jsoninput import parse_json
from ..policy import Authorization, MalformedPolicy, NamedPolicy, PolicySet, Request, authorize, evaluate, parse_policy
from ..timestamps import aws_timestamp

MAX_HEADER_COUNT = 100
ACTION_NAME = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9_.-]+", re.ASCII)
"""One IAM action, `service:Action`: never a pattern, which the policies' own patterns would match where the
statement written for the one action (a Deny) does not."""


class BadAuthzRequest(ValueError):
    pass


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    payload_hash: str | None


def _text(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 8192) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadAuthzRequest(f"{key} must be a string of at most {limit} characters")
    return value


def _action(body: dict[str, Any]) -> str:
    action = _text(body, "action", limit=256) or ""
    if not ACTION_NAME.fullmatch(action):
        raise BadAuthzRequest("action must name one IAM action (service:Action), without wildcards or spaces")
    return action


def _origin(body: dict[str, Any]) -> tuple[str | None, bool | None]:
    """`source_ip` (an IP address) and `secure_transport` (a JSON boolean), each optional. Anything else is refused,
    not left out: a `"false"` left out leaves aws:SecureTransport unset, a Deny on `"false"` then matches nothing, and
    the request was allowed."""
    source_ip = _text(body, "source_ip", required=False, limit=64)
    if source_ip is not None:
        try:
            ipaddress.ip_address(source_ip)
        except ValueError:
            raise BadAuthzRequest("source_ip must be an IPv4 or IPv6 address") from None
    secure = body.get("secure_transport")
    if secure is not None and not isinstance(secure, bool):
        raise BadAuthzRequest("secure_transport must be true or false")
    return source_ip, secure


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = parse_json(raw)
    except ValueError:
        raise BadAuthzRequest("the body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("request"), dict):
        raise BadAuthzRequest("the body must be an object with a `request` object")
    return body


def _signed_request(raw: dict[str, Any]) -> SignedRequest:
    headers = raw.get("headers")
    if not isinstance(headers, dict) or len(headers) > MAX_HEADER_COUNT or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise BadAuthzRequest("request.headers must be an object of strings")
    return SignedRequest(
        method=_text(raw, "method", limit=16) or "", path=_text(raw, "path") or "/", query=_text(raw, "query", required=False) or "",
        headers={k.lower(): v for k, v in headers.items()}, payload_hash=_payload_hash(raw),
    )


SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)


def _payload_hash(raw: dict[str, Any]) -> str | None:
    """The body's SHA-256 (lower-case hex), or None. Outside S3 it is the signature's payload line: any other text,
    such as the client's own `UNSIGNED-PAYLOAD`, would verify a signature that covers no body."""
    value = _text(raw, "payload_hash", required=False, limit=128)
    if value is not None and not SHA256_HEX.fullmatch(value):
        raise BadAuthzRequest("request.payload_hash must be the hex SHA-256 of the body the service received")
    return value.lower() if value is not None else None


def _context_extra(raw: Any) -> dict[str, list[str]]:
    """The service's condition keys. One key written twice in different case ("s3:prefix", "S3:Prefix") is refused:
    condition key names are case-insensitive, so it is one key with two answers, and keeping either one let the
    order of the body decide whether a Deny on the other applied."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadAuthzRequest("context must be an object of key → string or list of strings")
    extra = {}
    seen: dict[str, str] = {}
    for key, value in raw.items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadAuthzRequest(f"context[{key!r}] must be a string or a list of strings")
        if key.lower() in seen:
            raise BadAuthzRequest(f"context names the key {key!r} twice ({seen[key.lower()]!r}): condition keys are case-insensitive")
        seen[key.lower()] = key
        extra[key] = values
    return extra


OWN_SERVICES = frozenset({"sts", "iam"})
"""Scopes of requests made to samlfed itself. A presigned STS GetCallerIdentity URL is often handed to a third party
as proof of identity: a gateway that does not name its service must not take one for a request of its own."""


def _own_scope_refused(scoped: str) -> dict[str, Any]:
    return {"code": "SignatureDoesNotMatch", "status": 403,
            "message": f"Credential is scoped to '{scoped}': name it in `service` to accept a request signed for {scoped.upper()}."}


def decide(ctx: ServiceContext, body: dict[str, Any]) -> dict[str, Any]:
    signed = _signed_request(body["request"])
    action = _action(body)
    resource = _text(body, "resource", limit=2048)
    if not resource:  # not `*`, which an Allow of every resource matches and a Deny of the guarded ones does not
        raise BadAuthzRequest("resource must be an ARN or `*`, not empty")
    declared = signed.headers.get("x-amz-content-sha256")
    if signed.payload_hash and declared and declared.lower() != signed.payload_hash.lower() and not declared.startswith(("UNSIGNED", "STREAMING")):
        return {"authenticated": False, "allowed": False, "decision": "unauthenticated",
                "error": {"code": "XAmzContentSHA256Mismatch", "message": "The provided 'x-amz-content-sha256' header does not match what was computed.", "status": 400}}
    # The gateway sends the body's hash, not the body: it stands in for the body wherever the signature covers it.
    http = HttpRequest(signed.method, signed.path, signed.query, signed.headers, b"", payload_hash=signed.payload_hash)
    service = _text(body, "service", required=False, limit=64)
    region = _text(body, "region", required=False, limit=64)
    origin = _origin(body)
    # The whole body is checked before the signature: a malformed one is a 400 whether or not the request is signed.
    resource_policies = _resource_policies(body)
    extra = _with_resource_account(resource, _context_extra(body.get("context")))
    try:
        caller = authenticate(ctx, http, service=service, region=region)
    except ServiceError as error:
        return {"authenticated": False, "allowed": False, "decision": "unauthenticated",
                "error": {"code": error.code, "message": error.message, "status": error.status}}
    claim = parse_claim(http)  # parsed once more for the answer: authenticate has accepted it, so it is there
    assert claim is not None
    if service is None and claim.service in OWN_SERVICES:
        return {"authenticated": False, "allowed": False, "decision": "unauthenticated", "error": _own_scope_refused(claim.service)}
    # The region asked about, which authenticate checked the signature covers (a SigV4a region set may name several).
    signed_region = region if region is not None else claim.region
    scope = {"service": claim.service, "region": signed_region}
    owners = {v for k, values in extra.items() if k.lower() == "aws:resourceaccount" for v in values}
    if isinstance(caller, Administrator):
        context = _administrator_context(caller, origin, signed_region, extra, ctx.clock())
        return {**_administrator_decision(caller, Request(action, context, resource=resource), resource_policies, owners), "scope": scope}
    assert isinstance(caller, Session)
    # aws:RequestedRegion is the region the request was signed for.
    return {**_session_decision(ctx, caller, Request(action, extra, resource=resource), origin, signed_region, resource_policies, owners), "scope": scope}


def _resource_policies(body: dict[str, Any]) -> tuple[NamedPolicy, ...]:
    raw_policy = _text(body, "resource_policy", required=False, limit=20480)
    if raw_policy is None:
        return ()
    try:
        return (NamedPolicy("resource-policy", "resource", parse_policy(raw_policy, principal_required=True)),)
    except MalformedPolicy as exc:
        raise BadAuthzRequest(f"resource_policy: {exc.explained}") from None


def _with_resource_account(resource: str, extra: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service's context keys with `aws:ResourceAccount`, the account(s) owning the resource: its ARN's account
    field, which the service cannot contradict (a data perimeter's Deny on another account's resources must see it),
    else the account the service names (S3 ARNs have none)."""
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[4]:
        return extra
    return {**{k: v for k, v in extra.items() if k.lower() != "aws:resourceaccount"}, "aws:ResourceAccount": [parts[4]]}


def _resource_side_allows(resource_policies: Sequence[NamedPolicy], request: Request) -> bool:
    """A resource policy of another account allows, and none denies: naming the caller's account counts here, since
    across accounts it is the owner's half of the grant (the caller's own policies are the other half)."""
    results = [evaluate(p.document, request).decision for p in resource_policies]
    return "allowed" in results and "explicitDeny" not in results


def _administrator_context(
    caller: Administrator, origin: tuple[str | None, bool | None], region: str, extra: dict[str, list[str]], now: datetime,
) -> dict[str, list[str]]:
    """The request context of the account's root: the principal keys, the time (in every request context, so a
    bucket policy's time window binds the root too), the request's origin and region, and the service's request
    keys (which never set a principal key or the time)."""
    context: dict[str, list[str]] = {
        "aws:currenttime": [aws_timestamp(now)], "aws:epochtime": [str(int(now.timestamp()))],
        "aws:principalarn": [f"arn:aws:iam::{caller.account_id}:root"], "aws:principalaccount": [caller.account_id],
        "aws:principaltype": ["Account"], "aws:userid": [caller.account_id], "aws:requestedregion": [region],
        "aws:principalisawsservice": ["false"], "aws:viaawsservice": ["false"],
    }
    add_origin_keys(context, *origin)
    add_request_keys(context, extra)
    return context


def _administrator_decision(caller: Administrator, asked: Request, resource_policies: Sequence[NamedPolicy], owners: set[str]) -> dict[str, Any]:
    """The account's root may do anything in its account that no resource policy denies it (an explicit deny in a
    bucket policy binds the root too); another account's resource needs that account's grant."""
    root = f"arn:aws:iam::{caller.account_id}:root"
    principal = {"arn": root, "account": caller.account_id, "type": "Account"}
    request = replace(asked, principal_type="AWS", principal=root, principal_aliases=(caller.account_id,))
    evaluations = [(policy, evaluate(policy.document, request)) for policy in resource_policies]
    denies = [(policy, statement) for policy, result in evaluations if result.decision == "explicitDeny" for statement in result.matched]
    if denies:
        return {"authenticated": True, "allowed": False, "decision": "explicitDeny", "principal": principal,
                "matched_statements": [{"policy_id": p.id, "policy_type": p.type, "sid": s.sid} for p, s in denies]}
    if owners - {caller.account_id} and not any(result.decision == "allowed" for _, result in evaluations):
        return {"authenticated": True, "allowed": False, "decision": "implicitDeny", "principal": principal, "matched_statements": []}
    return {"authenticated": True, "allowed": True, "decision": "allowed", "principal": principal, "matched_statements": []}


def _session_decision(
    ctx: ServiceContext, caller: Session, asked: Request, origin: tuple[str | None, bool | None], region: str,
    resource_policies: tuple[NamedPolicy, ...], owners: set[str],
) -> dict[str, Any]:
    """`asked`: the action, resource and the service's extra context keys; `origin`: the source IP and whether the
    transport was secure, where the service knows them."""
    claims = caller.claims
    source_ip, secure = origin
    permissions = session_permissions(
        ctx, claims, resource_policies=resource_policies, source_ip=source_ip, secure_transport=secure, region=region, extra=asked.context,
    )
    request = replace(asked, context=permissions.context, principal_type="AWS", principal=claims.role_arn, principal_aliases=claims.principal_aliases)
    result = authorize(permissions.policies, request, session_arn=claims.assumed_role_arn)
    if result.decision == "allowed" and owners - {claims.account_id} and not _across_accounts(permissions.policies, request, claims.assumed_role_arn):
        result = Authorization("implicitDeny", (), result.missing)
    if result.decision == "allowed" and permissions.role_gone:
        # The role was deleted (or deleted and created again) since the session began: its own grants are gone, and
        # a resource policy naming the role's ARN (or the session's) names another role, or none, as in IAM, which
        # keeps the unique ID the policy was written for. Role chaining refuses such sessions the same way.
        result = Authorization("implicitDeny", (), result.missing)
    role_tags = permissions.role_tags
    principal = {
        "arn": claims.assumed_role_arn, "role_arn": claims.role_arn, "account": claims.account_id, "type": "AssumedRole",
        "user_id": f"{claims.role_id}:{claims.session_name}", "session_name": claims.session_name,
        "source_identity": claims.source_identity, "tags": principal_tags(role_tags, claims.tags), "expires_at": claims.expires_at,
    }
    return {
        "authenticated": True, "allowed": result.decision == "allowed", "decision": result.decision, "principal": principal,
        "matched_statements": [{"policy_id": p.id, "policy_type": p.type, "sid": s.sid} for p, s in result.matched],
    }


def _across_accounts(policies: PolicySet, request: Request, session_arn: str) -> bool:
    """Across accounts both sides must allow (IAM User Guide, cross-account policy evaluation): the caller's own
    policies without the resource policy, and the owner's resource policy."""
    own = authorize(replace(policies, resource=()), request, session_arn=session_arn)
    return own.decision == "allowed" and _resource_side_allows(policies.resource, request)

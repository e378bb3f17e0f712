"""The operations: query parameters in, a result structure out (rendered by `api.xml`)."""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed, null_violation
from ..iam import aliases as iam_aliases
from ..iam import attached_policies as iam_attached_policies
from ..iam import authorization_details
from ..iam import constraints as iam_constraints
from ..iam import managed_policies as iam_managed_policies
from ..iam import policy_versions as iam_policy_versions
from ..iam import provider_keys as iam_provider_keys
from ..iam import provider_options as iam_provider_options
from ..iam import providers as iam_providers
from ..iam import role_policies as iam_role_policies
from ..iam import roles as iam_roles
from ..iam.simulate import ContextEntry, Simulation, simulate_custom, simulate_principal
from ..iam.trust_shown import trust_policies_shown
from ..saml import ProviderPolicy
from ..store import ManagedPolicy, PolicyVersion, Role, RoleLastUsed, SamlProvider, SamlProviderSummary, Tag, policy_listing_key
from ..sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from ..sts.chain import AssumeRoleRequest, assume_role
from ..sts.parameters import parameter_violations
from .auth import Administrator, Caller, Session
from .protocol import QueryRequest
from .xml import Verbatim

Handler = Callable[[ServiceContext, Caller | None, QueryRequest], dict[str, Any] | None]


_NAMES = {"RoleName": ("roleName", 64), "PolicyName": ("policyName", 128)}
"""Name parameters checked against their model constraints wherever they are required."""
_INTEGER = re.compile(r"[+-]?\d{1,10}", re.ASCII)
"""An integer parameter as AWS's (Java) parser reads one; Python's int() would also take '1_000', ' 900' and
non-ASCII digits."""
_MARKER_CHARACTERS = re.compile("[\x20-\xff]+")
_MARKER_LENGTH = 320
"""The model's markerType: a Marker handed out must fit it, or the client cannot send it back."""
_MARKER = re.compile(r"samlfed:(?P<action>[A-Za-z]+)(?:#(?P<digest>[0-9a-f]{16}))?:(?P<after>.*)", re.DOTALL)
"""A pagination marker as `paginate` hands it out (base64 of this): its operation and the last item's sort key; for a
key too long to fit (a tag key of 128 non-ASCII letters), the key's digest and as much of its start as fits."""


_CHECKED_WITH_THE_REST = frozenset({("RoleName", "CreateRole"), ("PolicyName", "CreatePolicy")})
"""Names their action's service function checks along with its other parameters (AWS reports every violation)."""


_UNIMPLEMENTED: dict[str, tuple[frozenset[str], str]] = {
    "AssumeRole": (frozenset({"SerialNumber", "TokenCode", "ProvidedContexts", "MinimumSessionTokenSize"}),
                   "MFA, trusted context providers and padded session tokens are not implemented"),
    "AssumeRoleWithSAML": (frozenset({"MinimumSessionTokenSize"}), "padded session tokens are not implemented"),
    "CreateRole": (frozenset({"MaxSigninSessionDuration"}), "a role's console sign-in session duration is not implemented"),
    "UpdateRole": (frozenset({"MaxSigninSessionDuration", "ResetMaxSigninSessionDuration"}),
                   "a role's console sign-in session duration is not implemented"),
    "CreateSAMLProvider": (frozenset({"ContextProvider", "IdentityCenterInstanceArn"}),
                           "IAM Identity Center trusted identity propagation is not implemented"),
    "UpdateSAMLProvider": (frozenset({"ContextProvider", "IdentityCenterInstanceArn", "RemoveContextProvider", "RemoveIdentityCenterInstance"}),
                           "IAM Identity Center trusted identity propagation is not implemented"),
}
"""Members of an operation's model (botocore's) that samlfed does not implement, and why."""


def _refuse_unimplemented(request: QueryRequest) -> None:
    """Refused rather than ignored: the caller would get less than it asked for (a session without its MFA, a role
    without its setting) and not know it."""
    names, why = _UNIMPLEMENTED[request.action]
    given = sorted({name.split(".", 1)[0] for name in request.params} & names)
    if given:
        raise ServiceError("InvalidParameterValue", f"samlfed's {request.action} does not support {', '.join(given)} ({why})")


def _required(request: QueryRequest, *names: str) -> list[str]:
    violations = [violation for name in names for violation in _required_violations(request, name)]
    if violations:  # every one of them, in parameter order, as AWS reports them (`2 validation errors detected: …`)
        raise ValidationFailed(violations)
    return [request.params[n] for n in names]


def _required_violations(request: QueryRequest, name: str) -> list[str]:
    """What a required parameter breaks: it is missing, or it is a name its model constraints refuse."""
    if name not in request.params:
        return [null_violation(name[0].lower() + name[1:])]
    if name not in _NAMES or (name, request.action) in _CHECKED_WITH_THE_REST:
        return []
    return iam_constraints.name_violations(request.params[name], *_NAMES[name])


def _required_list(request: QueryRequest, name: str) -> None:
    """A required list parameter (botocore sends an empty list as `Name=`; a request without it has neither that
    nor any `Name.member.N`)."""
    if name not in request.params and not any(key.startswith(f"{name}.member.") for key in request.params):
        raise ValidationFailed([null_violation(name[0].lower() + name[1:])])


def _integer(request: QueryRequest, name: str) -> int | None:
    value = request.params.get(name)
    if value is None:
        return None
    if not _INTEGER.fullmatch(value):
        raise ServiceError("ValidationError", f"Invalid value '{value}' for {name}: an integer is required")
    return int(value)


def _default(value: int | None, default: int) -> int:
    """An optional integer parameter's value, `default` when absent (0 is a value, to be checked like any)."""
    return default if value is None else value


def _account(caller: Caller | None) -> str:
    """IAM calls act in the caller's account (a session's calls were authorized by `api.iam_access` first)."""
    if isinstance(caller, Administrator):
        return caller.account_id
    if isinstance(caller, Session):
        return caller.claims.account_id
    raise ServiceError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def _tags(request: QueryRequest) -> list[Tag]:
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


def _path_prefix(request: QueryRequest) -> str:
    """The optional PathPrefix, held to its model constraints (an unchecked one silently matched nothing)."""
    prefix = request.params.get("PathPrefix", "/")
    violations = iam_constraints.name_violations(prefix, "pathPrefix", 512, *_PATH_PREFIXES[request.action])
    if violations:
        raise ValidationFailed(violations)
    return prefix


def _tag_list(tags: tuple[Tag, ...]) -> list[dict[str, str]]:
    return [{"Key": t.key, "Value": t.value} for t in tags]


def _tag_key(tag: dict[str, str]) -> str:
    """The order tags are listed in, and what a tag list's Marker holds: the key in lower case, then the key as
    written, which tells apart a SAML provider's or managed policy's `Team` and `team` (a role's keys are unique
    case-insensitively). A tab joins the two: it sorts below every character a key may hold, so the text sorts as
    the pair would."""
    return f"{tag['Key'].lower()}\t{tag['Key']}"


def _sorted_tag_list(tags: tuple[Tag, ...]) -> list[dict[str, str]]:
    """Tags in `_tag_key` order, sorted here: the store's order follows the database's collation, which may not be
    Python's (PostgreSQL's ICU en-US puts 'a:' before 'a0'), and answers that document the order must agree."""
    return sorted(_tag_list(tags), key=_tag_key)


def _policy_text(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986) inside the XML, as AWS does."""
    return quote(document, safe="-_.~")


_BOUNDARY_TYPE = "Policy"
"""What AWS answers as PermissionsBoundaryType (its CLI examples, recordings of GetRole): not the model's only enum
value, PermissionsBoundaryPolicy."""


def _role(role: Role, trust_policy: str, *, full: bool = True) -> dict[str, Any]:
    """`trust_policy`: the role's as IAM shows it (`trust_shown`)."""
    result: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": _policy_text(trust_policy),
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
    }
    if full:  # ListRoles leaves these out (the IAM API reference)
        result["PermissionsBoundary"] = (
            {"PermissionsBoundaryType": _BOUNDARY_TYPE, "PermissionsBoundaryArn": role.permissions_boundary} if role.permissions_boundary else None
        )
        result["Tags"] = _sorted_tag_list(role.tags) or None
    return result


# --- STS ------------------------------------------------------------------------------------------


def assume_role_with_saml_handler(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    params = request.params
    role_arn, principal_arn, assertion = params.get("RoleArn"), params.get("PrincipalArn"), params.get("SAMLAssertion")
    duration = _integer(request, "DurationSeconds")
    policy = params.get("Policy")
    policy_arns = tuple(p["arn"] for p in request.member_structs("PolicyArns", ("arn",)))
    if role_arn is None or principal_arn is None or assertion is None:  # reported with every other violation, as AWS does
        raise ValidationFailed(parameter_violations(role_arn, principal_arn, assertion, duration, policy, policy_arns))
    if "MinimumSessionTokenSize" in params:  # _UNIMPLEMENTED's one member here, tested first: this is the sign-in path
        _refuse_unimplemented(request)
    assumed = assume_role_with_saml(
        ctx,
        AssumeRoleWithSamlRequest(
            role_arn, principal_arn, assertion, duration_seconds=duration, policy=policy, policy_arns=policy_arns,
            source_ip=request.source_ip, secure_transport=request.secure_transport,
        ),
    )
    credentials, response, claims = assumed.credentials, assumed.verified.response, assumed.verified.claims
    return {
        "Credentials": {
            # base32 and base64 of random and sealed bytes: nothing to escape
            "AccessKeyId": Verbatim(credentials.access_key_id),
            "SecretAccessKey": Verbatim(credentials.secret_access_key),
            "SessionToken": Verbatim(credentials.session_token),
            "Expiration": credentials.claims.expiration,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": f"{assumed.role.role_id}:{claims.role_session_name}",
            "Arn": credentials.claims.assumed_role_arn,
        },
        "PackedPolicySize": assumed.packed_policy_size,
        "Subject": response.name_id,
        "SubjectType": response.subject_type,
        "Issuer": response.issuer,
        "Audience": response.recipient,
        "NameQualifier": credentials.claims.saml.get("saml:namequalifier"),
        "SourceIdentity": claims.source_identity,
    }


def assume_role_handler(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    role_arn, session_name = _required(request, "RoleArn", "RoleSessionName")
    if not isinstance(caller, Session):
        # samlfed has no IAM users: an administrator key is its account's root, which AWS refuses in these words.
        raise ServiceError("AccessDenied", "Roles may not be assumed by root accounts.", 403)
    _refuse_unimplemented(request)
    chained = assume_role(ctx, caller.claims, AssumeRoleRequest(
        role_arn=role_arn, session_name=session_name, duration_seconds=_integer(request, "DurationSeconds"),
        policy=request.params.get("Policy"), policy_arns=tuple(p["arn"] for p in request.member_structs("PolicyArns", ("arn",))),
        external_id=request.params.get("ExternalId"), source_ip=request.source_ip, secure_transport=request.secure_transport,
        tags=tuple(_tags(request)), transitive_tag_keys=tuple(request.member_list("TransitiveTagKeys")),
        source_identity=request.params.get("SourceIdentity"),
    ), region=caller.region)
    credentials = chained.credentials
    claims = credentials.claims
    return {
        "Credentials": {
            "AccessKeyId": credentials.access_key_id, "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token, "Expiration": claims.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": f"{claims.role_id}:{claims.session_name}", "Arn": claims.assumed_role_arn},
        "PackedPolicySize": chained.packed_policy_size,
        "SourceIdentity": claims.source_identity,
    }


def _session_credentials_refused(action: str, administrator_message: str) -> Handler:
    """GetSessionToken and GetFederationToken: AWS refuses both to temporary credentials (aws-saml-contract.md §3.11)
    with this exact message, which SDK users and tools such as Hadoop's S3A report as the cause. samlfed has no IAM
    users to issue either for, so an administrator key is told that plainly instead of a vague unknown operation."""

    def refuse(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
        if isinstance(caller, Session):
            raise ServiceError("AccessDenied", f"Cannot call {action} with session credentials", 403)
        raise ServiceError("InvalidAction", administrator_message, 400)

    return refuse


get_session_token = _session_credentials_refused(
    "GetSessionToken",
    "samlfed does not implement GetSessionToken: sign requests with the account administrator key itself (MFA sessions are not offered).",
)
get_federation_token = _session_credentials_refused(
    "GetFederationToken",
    "samlfed does not implement GetFederationToken (it has no IAM users to federate): give users roles through AssumeRoleWithSAML.",
)


def get_caller_identity(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    if isinstance(caller, Session):
        claims = caller.claims
        return {"UserId": f"{claims.role_id}:{claims.session_name}", "Account": claims.account_id, "Arn": claims.assumed_role_arn}
    if isinstance(caller, Administrator):
        return {"UserId": caller.account_id, "Account": caller.account_id, "Arn": f"arn:aws:iam::{caller.account_id}:root"}
    raise ServiceError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


# --- IAM: SAML providers --------------------------------------------------------------------------


_VALID_UNTIL_WITHOUT_ONE = timedelta(days=36500)


def _valid_until(provider: SamlProvider | SamlProviderSummary) -> datetime:
    """ValidUntil: the metadata's validUntil, or, for metadata without one, 100 years of 365 days after CreateDate.
    AWS answers a ValidUntil for such metadata too (LocalStack's recordings of GetSAMLProvider and ListSAMLProviders
    against AWS hold one), and an IAM-compatible store documents that date. Only shown: nothing expires then."""
    return provider.valid_until if provider.valid_until is not None else provider.created_at + _VALID_UNTIL_WITHOUT_ONE


def _provider(provider: SamlProvider) -> dict[str, Any]:
    return {
        "SAMLProviderUUID": provider.uuid,
        "SAMLMetadataDocument": provider.metadata_document,
        "CreateDate": provider.created_at,
        "ValidUntil": _valid_until(provider),
        "Tags": _sorted_tag_list(provider.tags),
        "AssertionEncryptionMode": provider.assertion_encryption_mode,
        "PrivateKeyList": [{"KeyId": key.key_id, "Timestamp": key.created_at} for key in provider.private_keys],
    }


_SCOPES = ("All", "AWS", "Local")


def _enum(request: QueryRequest, name: str, allowed: tuple[str, ...]) -> str | None:
    """An optional enum parameter, refused as AWS's model validation refuses a value outside the set."""
    value = request.params.get(name)
    if value is not None and value not in allowed:
        field = name[0].lower() + name[1:]
        raise ValidationFailed([f"Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"])
    return value


def _encryption_change(request: QueryRequest) -> iam_provider_keys.EncryptionChange:
    """AssertionEncryptionMode, AddPrivateKey (a PEM private key: it goes no further than the service, which seals
    it) and RemovePrivateKey (a KeyId)."""
    params = request.params
    return iam_provider_keys.EncryptionChange(
        mode=_enum(request, "AssertionEncryptionMode", iam_provider_keys.ENCRYPTION_MODES),
        add_private_key=params.get("AddPrivateKey"), remove_private_key=params.get("RemovePrivateKey"),
    )


def create_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    document, name = _required(request, "SAMLMetadataDocument", "Name")
    _refuse_unimplemented(request)
    provider = iam_providers.create_saml_provider(ctx, _account(caller), name, document, _tags(request), _encryption_change(request))
    # botocore's CreateSAMLProviderResponse: "The returned list of tags is sorted by tag key." (as GetSAMLProvider's);
    # without tags AWS answers the ARN alone (recorded).
    return {"SAMLProviderArn": provider.arn, "Tags": _sorted_tag_list(provider.tags) or None}


def get_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "SAMLProviderArn")
    return _provider(iam_providers.get_saml_provider(ctx, _account(caller), arn))


def list_saml_providers(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    providers = iam_providers.list_saml_providers(ctx, _account(caller))
    return {"SAMLProviderList": [{"Arn": p.arn, "ValidUntil": _valid_until(p), "CreateDate": p.created_at} for p in providers]}


def delete_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = _required(request, "SAMLProviderArn")
    iam_providers.delete_saml_provider(ctx, _account(caller), arn)


# --- IAM: roles -----------------------------------------------------------------------------------


def create_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    name, document = _required(request, "RoleName", "AssumeRolePolicyDocument")
    _refuse_unimplemented(request)
    role = iam_roles.create_role(
        ctx,
        _account(caller),
        name,
        document,
        path=request.params.get("Path", "/"),
        description=request.params.get("Description"),
        max_session_duration=_default(_integer(request, "MaxSessionDuration"), 3600),
        tags=_tags(request),
        permissions_boundary=request.params.get("PermissionsBoundary"),
    )
    # AWS's CreateRole answers neither Description (even when given) nor MaxSessionDuration (recorded answers).
    return {"Role": _without(_role(role, role.trust_policy), "Description", "MaxSessionDuration")}  # its trust: just resolved


def _without(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if name not in names}


def _last_used(use: RoleLastUsed | None) -> dict[str, Any]:
    """GetRole's RoleLastUsed: empty (`<RoleLastUsed/>`) for a role never used, as AWS answers."""
    return {} if use is None else {"LastUsedDate": use.used_at, "Region": use.region}


def get_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = _required(request, "RoleName")
    role = iam_roles.get_role(ctx, _account(caller), name)
    (trust_policy,) = trust_policies_shown(ctx, [role])
    return {"Role": {**_role(role, trust_policy), "RoleLastUsed": _last_used(iam_roles.role_last_used(ctx, role))}}


def delete_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = _required(request, "RoleName")
    iam_roles.delete_role(ctx, _account(caller), name)


# --- pagination (Marker / MaxItems), as IAM's list operations -----------------------------------


@dataclass(frozen=True, slots=True)
class _Resume:
    """Where the page a Marker asks for starts: after the item whose sort key is `after`, or, when `digest` is set,
    after the item whose key starts with `after` and has that digest (see `_marker`)."""
    after: str
    digest: str | None = None


def _marker_key(request: QueryRequest) -> _Resume | None:
    """Where a page starts; only markers this operation handed out ("samlfed:-5", a position, or another List call's
    marker would page from odd places)."""
    marker = request.params.get("Marker")
    if marker is None:
        return None
    violations = iam_constraints.name_violations(marker, "marker", _MARKER_LENGTH, _MARKER_CHARACTERS, "[\\u0020-\\u00FF]+")  # the model's markerType
    if violations:
        raise ValidationFailed(violations)
    try:
        found = _MARKER.fullmatch(base64.urlsafe_b64decode(marker.encode()).decode())
    except ValueError:
        found = None
    # No name or key holds a NUL; the lists paged by the database would put it in a query PostgreSQL refuses.
    if found is None or found["action"] != request.action or "\x00" in found["after"]:
        raise ServiceError("ValidationError", "Invalid Marker")
    return _Resume(found["after"], found["digest"])


def _page_request(request: QueryRequest) -> tuple[int, str | None]:
    """`_page_bounds` for the lists whose keys always fit a Marker whole (names of at most 128 ASCII characters,
    numbers): the key the page starts after."""
    max_items, resume = _page_bounds(request)
    if resume is not None and resume.digest is not None:  # only `paginate` hands these out
        raise ServiceError("ValidationError", "Invalid Marker")
    return max_items, None if resume is None else resume.after


def _page_bounds(request: QueryRequest) -> tuple[int, _Resume | None]:
    """MaxItems (1-1000, default 100) and where the Marker says the page starts, held to the model."""
    max_items = _default(_integer(request, "MaxItems"), 100)
    if not 1 <= max_items <= 1000:
        bound = "greater than or equal to 1" if max_items < 1 else "less than or equal to 1000"
        raise ValidationFailed([f"Value '{max_items}' at 'maxItems' failed to satisfy constraint: Member must have value {bound}"])
    return max_items, _marker_key(request)


def paginate(request: QueryRequest, items: list[Any], key: Callable[[Any], str]) -> tuple[list[Any], dict[str, Any]]:
    """One page of `items` in `key` order. The marker holds the last key returned, not a position: an item
    deleted between two calls (a loop that deletes what it lists) does not make the next page skip another."""
    max_items, resume = _page_bounds(request)
    ordered = sorted(items, key=key)  # in Python: the same order whatever the database's collation
    start = 0 if resume is None else _start_after([key(item) for item in ordered], resume)
    page = ordered[start : start + max_items]
    more = start + max_items < len(ordered)
    return page, _page_end(request, page, more, key)


def _start_after(keys: list[str], resume: _Resume) -> int:
    """The index of the first key after the one the Marker names. A key abridged in its Marker is found by its
    digest; when that item is gone, the page starts at the first key after the kept start, which may show again
    items sharing that start: shown twice rather than skipped."""
    if resume.digest is not None:
        for index, key in enumerate(keys):
            if key.startswith(resume.after) and _key_digest(key) == resume.digest:
                return index + 1
    return bisect.bisect_right(keys, resume.after)


def _page_end(request: QueryRequest, page: list[Any], more: bool, key: Callable[[Any], str]) -> dict[str, Any]:
    """IsTruncated, and the Marker of the next page when more follow: the sort key of this page's last item."""
    return {"IsTruncated": more, "Marker": _marker(request, key(page[-1])) if more else None}


def _marker(request: QueryRequest, last_key: str) -> str:
    """The Marker of a page whose last item has sort key `last_key` (see _marker_key). A key too long for the
    model's 320 characters (a tag key may be 128 letters of four UTF-8 bytes) is abridged: its digest and as much of
    its start as fits, whole characters only."""
    marker = base64.urlsafe_b64encode(f"samlfed:{request.action}:{last_key}".encode()).decode()
    if len(marker) <= _MARKER_LENGTH:
        return marker
    head = f"samlfed:{request.action}#{_key_digest(last_key)}:".encode()
    room = _MARKER_LENGTH // 4 * 3 - len(head)  # base64: 4 characters for every 3 bytes
    start = last_key.encode()[:room].decode(errors="ignore")  # a character cut in two is left out
    return base64.urlsafe_b64encode(head + start.encode()).decode()


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _lower_name(item: Role | ManagedPolicy) -> str:
    """The sort key of roles and policies: names are unique in the account whatever their case."""
    return item.name.lower()


def list_roles(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """Paged by the store, as `paginate` pages (lower-cased names; the marker holds the last one returned)."""
    max_items, after = _page_request(request)
    roles = iam_roles.list_roles(ctx, _account(caller), _path_prefix(request), after=after, limit=max_items + 1)
    page, more = roles[:max_items], len(roles) > max_items
    shown = trust_policies_shown(ctx, page)
    return {"Roles": [_role(r, trust_policy, full=False) for r, trust_policy in zip(page, shown, strict=True)], **_page_end(request, page, more, _lower_name)}


def update_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = _required(request, "RoleName")
    _refuse_unimplemented(request)
    iam_roles.update_role(ctx, _account(caller), name, description=request.params.get("Description"), max_session_duration=_integer(request, "MaxSessionDuration"))
    return {}


def update_role_description(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """UpdateRole's older twin, which answers with the role."""
    name, description = _required(request, "RoleName", "Description")
    account = _account(caller)
    iam_roles.update_role(ctx, account, name, description=description, max_session_duration=None)
    role = iam_roles.get_role(ctx, account, name)
    (trust_policy,) = trust_policies_shown(ctx, [role])
    return {"Role": _without(_role(role, trust_policy), "MaxSessionDuration")}  # as AWS answers it (recorded)


def list_instance_profiles_for_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """EC2 instance profiles do not exist here, so a role is in none; the call is answered because tools call it
    before deleting a role (Terraform removes the role from each profile it is in)."""
    (name,) = _required(request, "RoleName")
    _page_request(request)  # Marker and MaxItems held to the model all the same
    iam_roles.get_role(ctx, _account(caller), name)  # NoSuchEntity for a missing role
    return {"InstanceProfiles": [], "IsTruncated": False}


def update_assume_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, document = _required(request, "RoleName", "PolicyDocument")
    iam_roles.update_trust_policy(ctx, _account(caller), name, document)


def tag_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = _required(request, "RoleName")
    _required_list(request, "Tags")
    iam_roles.tag_role(ctx, _account(caller), name, _tags(request))


def untag_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = _required(request, "RoleName")
    _required_list(request, "TagKeys")
    iam_roles.untag_role(ctx, _account(caller), name, request.member_list("TagKeys"))


def list_role_tags(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = _required(request, "RoleName")
    page, more = paginate(request, _tag_list(iam_roles.get_role(ctx, _account(caller), name).tags), _tag_key)
    return {"Tags": page, **more}


def put_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, policy_name, document = _required(request, "RoleName", "PolicyName", "PolicyDocument")
    iam_role_policies.put_role_policy(ctx, _account(caller), name, policy_name, document)


def get_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    name, policy_name = _required(request, "RoleName", "PolicyName")
    document = iam_role_policies.get_role_policy(ctx, _account(caller), name, policy_name)
    return {"RoleName": iam_roles.get_role(ctx, _account(caller), name).name, "PolicyName": policy_name, "PolicyDocument": _policy_text(document)}


def list_role_policies(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = _required(request, "RoleName")
    page, more = paginate(request, iam_role_policies.list_role_policies(ctx, _account(caller), name), str)
    return {"PolicyNames": page, **more}


def delete_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, policy_name = _required(request, "RoleName", "PolicyName")
    iam_role_policies.delete_role_policy(ctx, _account(caller), name, policy_name)


def update_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "SAMLProviderArn")
    _refuse_unimplemented(request)
    iam_providers.get_saml_provider(ctx, _account(caller), arn)  # NoSuchEntity comes before what the key parameters say
    provider = iam_providers.update_saml_provider(ctx, _account(caller), arn, request.params.get("SAMLMetadataDocument"), _encryption_change(request))
    return {"SAMLProviderArn": provider.arn}


def tag_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = _required(request, "SAMLProviderArn")
    _required_list(request, "Tags")
    iam_providers.tag_saml_provider(ctx, _account(caller), arn, _tags(request))


def untag_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = _required(request, "SAMLProviderArn")
    _required_list(request, "TagKeys")
    iam_providers.untag_saml_provider(ctx, _account(caller), arn, request.member_list("TagKeys"))


def list_saml_provider_tags(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "SAMLProviderArn")
    page, more = paginate(request, _tag_list(iam_providers.get_saml_provider(ctx, _account(caller), arn).tags), _tag_key)
    return {"Tags": page, **more}


def create_account_alias(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (alias,) = _required(request, "AccountAlias")
    iam_aliases.create_account_alias(ctx, _account(caller), alias)


def list_account_aliases(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    page, more = paginate(request, iam_aliases.list_account_aliases(ctx, _account(caller)), str)
    return {"AccountAliases": page, **more}


def delete_account_alias(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (alias,) = _required(request, "AccountAlias")
    iam_aliases.delete_account_alias(ctx, _account(caller), alias)


def _managed(policy: ManagedPolicy, boundary_uses: int, *, full: bool = True) -> dict[str, Any]:
    return {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": policy.attachment_count,
        "PermissionsBoundaryUsageCount": boundary_uses,
        "IsAttachable": True,
        "Description": policy.description,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
        **({"Tags": _sorted_tag_list(policy.tags)} if full else {}),  # ListPolicies leaves them out (IAM API reference)
    }


def create_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    name, document = _required(request, "PolicyName", "PolicyDocument")
    policy = iam_managed_policies.create_policy(
        ctx, _account(caller), name, document, path=request.params.get("Path", "/"), description=request.params.get("Description"), tags=_tags(request),
    )
    # New: no role has it as a boundary yet. AWS's answer (recorded) has no Description, and Tags only when given,
    # in the order given (where ListPolicyTags sorts them).
    created = _without(_managed(policy, 0), "Description", "Tags")
    return {"Policy": {**created, "Tags": _tag_list(policy.tags)} if policy.tags else created}


def get_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "PolicyArn")
    account = _account(caller)
    return {"Policy": _managed(iam_managed_policies.get_policy(ctx, account, arn), iam_managed_policies.boundary_uses(ctx, account)[arn])}


def _policy_version(version: PolicyVersion, *, document: bool = True) -> dict[str, Any]:
    """A PolicyVersion; CreatePolicyVersion and ListPolicyVersions leave the Document out (IAM API reference)."""
    return {
        **({"Document": _policy_text(version.document)} if document else {}),
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "CreateDate": version.created_at,
    }


def _flag(request: QueryRequest, name: str) -> bool:
    """An optional boolean parameter, `true` or `false` in any case (what SDKs send); absent: false. Anything else
    is refused, as `_integer` refuses a number that is none: read as false, SetAsDefault=1 left the old default."""
    value = request.params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise ServiceError("ValidationError", f"Invalid value '{request.params[name]}' for {name}: a boolean (true or false) is required")
    return value == "true"


def create_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    arn, document = _required(request, "PolicyArn", "PolicyDocument")
    version = iam_policy_versions.create_policy_version(ctx, _account(caller), arn, document, set_as_default=_flag(request, "SetAsDefault"))
    return {"PolicyVersion": _policy_version(version, document=False)}


def get_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    arn, version_id = _required(request, "PolicyArn", "VersionId")
    return {"PolicyVersion": _policy_version(iam_policy_versions.get_policy_version(ctx, _account(caller), arn, version_id))}


def _newest_first(version: dict[str, Any]) -> str:
    """A sort key that lists versions newest (highest number) first, as AWS does; short, for the Marker."""
    return f"{(1 << 31) - int(version['VersionId'][1:]):010d}"


def list_policy_versions(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "PolicyArn")
    versions = [_policy_version(v, document=False) for v in iam_policy_versions.list_policy_versions(ctx, _account(caller), arn)]
    page, more = paginate(request, versions, _newest_first)
    return {"Versions": page, **more}


def delete_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    arn, version_id = _required(request, "PolicyArn", "VersionId")
    iam_policy_versions.delete_policy_version(ctx, _account(caller), arn, version_id)


def set_default_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    arn, version_id = _required(request, "PolicyArn", "VersionId")
    iam_policy_versions.set_default_policy_version(ctx, _account(caller), arn, version_id)


_USAGES = ("PermissionsPolicy", "PermissionsBoundary")


def list_policies(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    account = _account(caller)
    scope = _enum(request, "Scope", _SCOPES)
    path_prefix = _path_prefix(request)
    usage = _enum(request, "PolicyUsageFilter", _USAGES)
    # OnlyAttached, or PermissionsPolicy: attached to a role as a permissions policy; PermissionsBoundary: some role's boundary.
    attached = _flag(request, "OnlyAttached") or usage == "PermissionsPolicy"
    max_items, after = _page_request(request)
    # Paged by the store, as `paginate` pages: the Marker holds the last policy_listing_key returned (short: a Marker
    # holds at most 320).
    policies = iam_managed_policies.list_policies(
        ctx, account, path_prefix, after=after, limit=max_items + 1, attached=attached, boundary=usage == "PermissionsBoundary",
        scope=scope or "All",
    )
    uses = iam_managed_policies.boundary_uses(ctx, account)
    page, more = policies[:max_items], len(policies) > max_items
    return {"Policies": [_managed(p, uses[p.arn], full=False) for p in page], **_page_end(request, page, more, policy_listing_key)}


def delete_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = _required(request, "PolicyArn")
    iam_managed_policies.delete_policy(ctx, _account(caller), arn)


def attach_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, arn = _required(request, "RoleName", "PolicyArn")
    iam_attached_policies.attach_role_policy(ctx, _account(caller), name, arn)


def detach_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, arn = _required(request, "RoleName", "PolicyArn")
    iam_attached_policies.detach_role_policy(ctx, _account(caller), name, arn)


def list_attached_role_policies(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = _required(request, "RoleName")
    prefix = _path_prefix(request)
    attached = [p for p in iam_attached_policies.list_attached_role_policies(ctx, _account(caller), name) if p.path.startswith(prefix)]
    # In ListPolicies' order, by a short key (a Marker holds at most 320) that tells an AWS managed policy from the
    # account's own of the same name.
    page, more = paginate(request, attached, policy_listing_key)
    return {"AttachedPolicies": [{"PolicyName": p.name, "PolicyArn": p.arn} for p in page], **more}


_ENTITY_TYPES = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
_LISTS_ROLES = frozenset({None, "Role"})
"""The EntityFilter values under which a policy's roles are listed: samlfed has no IAM users or groups. The filter
names the kind of entity listed, so LocalManagedPolicy and AWSManagedPolicy list none (AWS answers three empty lists
for LocalManagedPolicy, recorded)."""


def list_entities_for_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """Roles only (PolicyUsers and PolicyGroups are always empty); without PolicyUsageFilter a role that both has
    the policy attached and as its permissions boundary is listed once."""
    (arn,) = _required(request, "PolicyArn")
    entity_filter = _enum(request, "EntityFilter", _ENTITY_TYPES)
    usage = _enum(request, "PolicyUsageFilter", iam_managed_policies.POLICY_USAGES)
    prefix = _path_prefix(request)
    _page_request(request)
    roles = iam_managed_policies.roles_using_policy(ctx, _account(caller), arn, usage)  # NoSuchEntity whatever the filter
    listed = [{"RoleName": r.name, "RoleId": r.role_id} for r in roles if r.path.startswith(prefix)] if entity_filter in _LISTS_ROLES else []
    page, more = paginate(request, listed, lambda role: role["RoleName"].lower())
    return {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": page, **more}


def get_account_authorization_details(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """The account's roles, then its managed policies (no users or groups exist here; AWS managed policies if in use),
    one Marker paging both and MaxItems counting their items together."""
    account = _account(caller)
    filters = request.member_list("Filter")
    violations = authorization_details.filter_violations(filters)
    try:
        max_items, after = _page_request(request)
    except ValidationFailed as invalid:  # AWS reports every model violation at once
        violations += invalid.violations
    if violations:
        raise ValidationFailed(violations)
    # Paged by the store in `sort_key` order (the Marker holds the last key, as `paginate` makes it).
    page, truncated = authorization_details.page(ctx, account, filters, after=after, limit=max_items)
    more = _page_end(request, page, truncated, authorization_details.sort_key)
    roles, policies = authorization_details.details(ctx, account, page)
    return {
        "UserDetailList": [], "GroupDetailList": [],
        "RoleDetailList": [{  # in the model's order; empty lists are answered empty, not left out
            **_without(_role(r.role, r.trust_policy, full=False), "Description", "MaxSessionDuration"),  # not RoleDetail's
            "InstanceProfileList": [],
            "RolePolicyList": [{"PolicyName": name, "PolicyDocument": _policy_text(document)} for name, document in r.inline_policies],
            "AttachedManagedPolicies": [{"PolicyName": p.name, "PolicyArn": p.arn} for p in r.attached],
            "PermissionsBoundary": {"PermissionsBoundaryType": _BOUNDARY_TYPE, "PermissionsBoundaryArn": r.role.permissions_boundary}
            if r.role.permissions_boundary else None,
            "Tags": _sorted_tag_list(r.role.tags), "RoleLastUsed": _last_used(r.last_used),
        } for r in roles],
        "Policies": [{**_managed(p.policy, p.boundary_uses, full=False), "PolicyVersionList": [_policy_version(v) for v in p.versions]} for p in policies],
        **more,
    }


def tag_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = _required(request, "PolicyArn")
    _required_list(request, "Tags")
    iam_managed_policies.tag_policy(ctx, _account(caller), arn, _tags(request))


def untag_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = _required(request, "PolicyArn")
    _required_list(request, "TagKeys")
    iam_managed_policies.untag_policy(ctx, _account(caller), arn, request.member_list("TagKeys"))


def list_policy_tags(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "PolicyArn")
    page, more = paginate(request, _tag_list(iam_managed_policies.looked_up_policy(ctx, _account(caller), arn).tags), _tag_key)
    return {"Tags": page, **more}


def set_attribute_mapping(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    """samlfed extension: AWS SDKs have no such field, so the call is made by samlfed's CLI or a raw request."""
    (arn,) = _required(request, "SAMLProviderArn")
    text = request.params.get("AttributeMapping")
    iam_provider_options.set_attribute_mapping(ctx, _account(caller), arn, iam_provider_options.parse_attribute_mapping(text) if text else None)


def get_attribute_mapping(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "SAMLProviderArn")
    mapping = iam_providers.get_saml_provider(ctx, _account(caller), arn).attribute_mapping
    return {"AttributeMapping": json.dumps(mapping or {}, sort_keys=True)}


_OPTION_PARAMETERS = {"AllowLegacyAlgorithms": "allow_legacy_algorithms", "AllowResponseOnlySignature": "allow_response_only_signature",
                      "RequireConditionBounds": "require_condition_bounds"}


def _validation_options(policy: ProviderPolicy) -> dict[str, Any]:
    return {"ValidationOptions": {parameter: str(getattr(policy, name)).lower() for parameter, name in _OPTION_PARAMETERS.items()}}


def set_validation_options(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """samlfed extension: turn a provider's validation opt-ins on or off (`true`/`false`); those not named stay."""
    (arn,) = _required(request, "SAMLProviderArn")
    changes = {}
    for parameter, name in _OPTION_PARAMETERS.items():
        value = request.params.get(parameter)
        if value is None:
            continue
        if value not in ("true", "false"):
            raise ValidationFailed([f"Value '{value}' at '{parameter[0].lower()}{parameter[1:]}' failed to satisfy constraint: Member must be true or false"])
        changes[name] = value == "true"
    if not changes:
        raise ServiceError("InvalidInput", f"Name at least one of {', '.join(_OPTION_PARAMETERS)}.")
    return _validation_options(iam_provider_options.set_validation_options(ctx, _account(caller), arn, changes))


def get_validation_options(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = _required(request, "SAMLProviderArn")
    return _validation_options(iam_provider_options.provider_policy(iam_providers.get_saml_provider(ctx, _account(caller), arn)))


# --- IAM: permissions boundaries and the policy simulator ------------------------------------------


def put_role_permissions_boundary(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, arn = _required(request, "RoleName", "PermissionsBoundary")
    iam_roles.set_permissions_boundary(ctx, _account(caller), name, arn)


def delete_role_permissions_boundary(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = _required(request, "RoleName")
    iam_roles.set_permissions_boundary(ctx, _account(caller), name, None)


def _context_entries(request: QueryRequest) -> list[ContextEntry]:
    entries = []
    index = 1
    while (key := request.params.get(f"ContextEntries.member.{index}.ContextKeyName")) is not None:
        values = request.member_list(f"ContextEntries.member.{index}.ContextKeyValues")
        entries.append(ContextEntry(key, tuple(values), request.params.get(f"ContextEntries.member.{index}.ContextKeyType", "string")))
        index += 1
    return entries


def _simulation_documents(request: QueryRequest) -> tuple[list[str], list[str], str | None]:
    """PolicyInputList, PermissionsBoundaryPolicyInputList and ResourcePolicy, held to the model's policyDocumentType
    (a list's members reported together, in AWS's list form)."""
    violations = []
    lists = []
    for name in ("PolicyInputList", "PermissionsBoundaryPolicyInputList"):
        documents = request.member_list(name)
        lists.append(documents)
        if any(iam_constraints.policy_document_violations(document, "member") for document in documents):
            violations.append(
                f"Value '[{', '.join(documents)}]' at '{name[0].lower()}{name[1:]}' failed to satisfy constraint: Member must satisfy constraint: "
                "[Member must have length less than or equal to 131072, Member must have length greater than or equal to 1, "
                "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+]"
            )
    resource_policy = request.params.get("ResourcePolicy")
    if resource_policy is not None:
        violations += iam_constraints.policy_document_violations(resource_policy, "resourcePolicy")
    if violations:
        raise ValidationFailed(violations)
    _page_request(request)  # refused before simulating anything, as a model violation is
    return lists[0], lists[1], resource_policy


def _simulation(request: QueryRequest, simulation: Simulation) -> dict[str, Any]:
    """One page of the results, in their order (MaxItems and Marker as the list operations take them; the marker
    holds the number of the last result returned). Only that page's actions are evaluated."""
    max_items, after = _page_request(request)
    if after is not None and not (after.isascii() and after.isdigit()):
        raise ServiceError("ValidationError", "Invalid Marker")
    start = 0 if after is None else int(after) + 1
    stop = start + simulation.page_size(max_items)
    page = simulation.results(start, stop)
    more = stop < len(simulation)
    return {"EvaluationResults": page, "IsTruncated": more, "Marker": _marker(request, str(start + len(page) - 1)) if more else None}


def simulate_principal_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (source,) = _required(request, "PolicySourceArn")
    documents, boundary_documents, resource_policy = _simulation_documents(request)
    return _simulation(request, simulate_principal(
        ctx, _account(caller), source, extra=documents, boundary_documents=boundary_documents, actions=request.member_list("ActionNames"),
        resources=request.member_list("ResourceArns"), resource_policy=resource_policy,
        entries=_context_entries(request), caller_arn=request.params.get("CallerArn"),
    ))


def simulate_custom_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    _account(caller)
    documents, boundary_documents, resource_policy = _simulation_documents(request)
    return _simulation(request, simulate_custom(
        documents, boundary_documents=boundary_documents, actions=request.member_list("ActionNames"), resources=request.member_list("ResourceArns"),
        resource_policy=resource_policy, entries=_context_entries(request), caller_arn=request.params.get("CallerArn"),
    ))


STS: dict[str, Handler] = {
    "AssumeRoleWithSAML": assume_role_with_saml_handler,
    "AssumeRole": assume_role_handler,
    "GetCallerIdentity": get_caller_identity,
    "GetSessionToken": get_session_token,
    "GetFederationToken": get_federation_token,
}
IAM: dict[str, Handler] = {
    "CreateSAMLProvider": create_saml_provider,
    "GetSAMLProvider": get_saml_provider,
    "ListSAMLProviders": list_saml_providers,
    "DeleteSAMLProvider": delete_saml_provider,
    "CreateRole": create_role,
    "GetRole": get_role,
    "DeleteRole": delete_role,
    "ListRoles": list_roles,
    "UpdateRole": update_role,
    "UpdateRoleDescription": update_role_description,
    "ListInstanceProfilesForRole": list_instance_profiles_for_role,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
    "TagRole": tag_role,
    "UntagRole": untag_role,
    "ListRoleTags": list_role_tags,
    "PutRolePolicy": put_role_policy,
    "GetRolePolicy": get_role_policy,
    "ListRolePolicies": list_role_policies,
    "DeleteRolePolicy": delete_role_policy,
    "UpdateSAMLProvider": update_saml_provider,
    "TagSAMLProvider": tag_saml_provider,
    "UntagSAMLProvider": untag_saml_provider,
    "ListSAMLProviderTags": list_saml_provider_tags,
    "CreateAccountAlias": create_account_alias,
    "ListAccountAliases": list_account_aliases,
    "DeleteAccountAlias": delete_account_alias,
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "GetPolicyVersion": get_policy_version,
    "CreatePolicyVersion": create_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "DeletePolicyVersion": delete_policy_version,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "ListPolicies": list_policies,
    "DeletePolicy": delete_policy,
    "AttachRolePolicy": attach_role_policy,
    "DetachRolePolicy": detach_role_policy,
    "ListAttachedRolePolicies": list_attached_role_policies,
    "ListEntitiesForPolicy": list_entities_for_policy,
    "GetAccountAuthorizationDetails": get_account_authorization_details,
    "TagPolicy": tag_policy,
    "UntagPolicy": untag_policy,
    "ListPolicyTags": list_policy_tags,
    "SetSAMLProviderAttributeMapping": set_attribute_mapping,
    "GetSAMLProviderAttributeMapping": get_attribute_mapping,
    "SetSAMLProviderValidationOptions": set_validation_options,
    "GetSAMLProviderValidationOptions": get_validation_options,
    "PutRolePermissionsBoundary": put_role_permissions_boundary,
    "DeleteRolePermissionsBoundary": delete_role_permissions_boundary,
    "SimulatePrincipalPolicy": simulate_principal_policy,
    "SimulateCustomPolicy": simulate_custom_policy,
}
UNAUTHENTICATED = frozenset({"AssumeRoleWithSAML"})

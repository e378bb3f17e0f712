"""The audit trail of IAM changes: one line for every IAM call that changed something, saying who, what and from where.

A federation service's security rests on its trust policies, provider metadata and validation options; whoever
changes one must be on record (CloudTrail's role for AWS IAM). Read-only calls (Get*, List*, Simulate*) are not
logged; every other IAM action is, including any added later. Documents are not logged (a metadata document runs
to megabytes), only their SHA-256, which ties a change to a document kept elsewhere; small parameters whose value
is the change (an attached policy ARN, a validation option turned on) are logged as they are. A private key
(AddPrivateKey) is a secret: nothing of it is logged, not even a digest, only the KeyId it was stored under, which
RemovePrivateKey and GetSAMLProvider name too.
"""

from __future__ import annotations

import hashlib
import logging
import re

from ..context import ServiceContext
from ..errors import ServiceError
from ..iam.provider_keys import private_key_id_of
from .auth import Administrator, Caller
from .iam_access import iam_target
from .protocol import QueryRequest

log = logging.getLogger("samlfed.audit")

READ_ONLY_PREFIXES = ("Get", "List", "Simulate")
_DOCUMENTS = ("AssumeRolePolicyDocument", "PolicyDocument", "SAMLMetadataDocument")
_VALUES = (
    "PolicyArn", "PermissionsBoundary", "MaxSessionDuration", "AssertionEncryptionMode", "AttributeMapping",
    "AllowLegacyAlgorithms", "AllowResponseOnlySignature", "RequireConditionBounds", "RemovePrivateKey", "VersionId",
    "SetAsDefault",
)
"""Parameters small enough to log as they are, whose value is the change (an attached policy, a loosened check)."""


def changes_state(action: str) -> bool:
    return not action.startswith(READ_ONLY_PREFIXES)


def audit_target(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> str | None:
    """The resource an IAM change acts on, named before the change is made: after it, a deleted role has no path left
    to read, and a read that failed there (the database going away) lost the record of a change that was made."""
    if caller is None:
        return None
    account = caller.account_id if isinstance(caller, Administrator) else caller.claims.account_id
    return iam_target(ctx, account, request.action, request.params)[0]


def record_iam_change(caller: Caller | None, request: QueryRequest, request_id: str, resource: str | None) -> None:
    """Log a successful IAM call that changed something (the caller checked `changes_state`); `resource` is its
    `audit_target`. Reads nothing."""
    if caller is None:  # every IAM call is authenticated; nothing to attribute otherwise
        return
    if isinstance(caller, Administrator):
        principal = f"arn:aws:iam::{caller.account_id}:root"
    else:
        principal = caller.claims.assumed_role_arn
    params = request.params
    documents = {name: hashlib.sha256(params[name].encode()).hexdigest() for name in _DOCUMENTS if name in params}
    values: dict[str, str | None] = {name: params[name] for name in _VALUES if name in params}
    if "AddPrivateKey" in params:
        values["AddPrivateKeyId"] = _key_id(params["AddPrivateKey"])
    details = "".join(f" {name}=sha256:{digest[:16]}" for name, digest in documents.items())
    details += "".join(f" {name}={value!r}" for name, value in values.items())
    log.info(
        "IAM change %s principal=%s resource=%s source_ip=%s request=%s%s", request.action, principal, resource,
        request.source_ip, request_id, details,
        extra={
            "action": request.action, "outcome": "changed", "principal": principal, "access_key_id": caller.access_key_id,
            "resource": resource, "source_ip": request.source_ip, "request_id": request_id,
            **{f"{_snake(name)}_sha256": digest for name, digest in documents.items()},
            **{_snake(name): value for name, value in values.items()},
        },
    )


def _key_id(pem: str) -> str | None:
    """The KeyId an uploaded private key was stored under (the call succeeded, so it is a key)."""
    try:
        return private_key_id_of(pem)
    except ServiceError:
        return None


def _snake(name: str) -> str:
    """SAMLMetadataDocument → saml_metadata_document, PolicyArn → policy_arn (the JSON log's key style)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()

"""What the store keeps, as plain immutable records, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class StoreError(Exception):
    """Base of the store's own errors; the service layer maps them to AWS errors."""


class NotFound(StoreError):
    pass


class NoSuchPrivateKey(NotFound):
    """The provider exists but holds no private key of that ID."""


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """The entity is still in use (e.g. a role that has inline policies)."""


class InlinePoliciesLeft(Conflict):
    """A role to delete still has inline policies (AWS words that apart from attached managed policies)."""


class NoSuchPolicyVersion(NotFound):
    """The managed policy exists but has no version of that ID."""


class PolicyVersionsLeft(Conflict):
    """A managed policy to delete still has versions other than its default (AWS words that apart)."""


class LimitReached(StoreError):
    """The account already holds as many of these entities as the limit the caller gave."""


@dataclass(frozen=True)
class Redemption:
    """One use of an assertion (or of a sign-in request) to record: (issuer, assertion_id, scope) is usable once
    until `expires_at`. The scope is a role ARN (strict replay), or "" (the assertion or request as a whole)."""

    issuer: str
    assertion_id: str
    scope: str
    expires_at: datetime


class AlreadyRedeemed(StoreError):
    """`use` was recorded before (and is still live): nothing of the refused write was kept."""

    def __init__(self, use: Redemption) -> None:
        super().__init__(f"already used: {use.assertion_id}")
        self.use = use


class StoreUnavailable(Exception):
    """The store cannot be opened (data directory, database, master key): the message says why, for the operator,
    and holds no secret. Not a StoreError: it is no client's mistake and must never map to an AWS error."""


class DatabaseUnavailable(Exception):
    """A statement failed for a reason of the database's, not the request's: a full disk, a lock held past the busy
    timeout, a read-only file, a server that went away. Temporary: the API answers 503 ServiceUnavailable, which
    SDKs retry. The message is the driver's first line (no statement, no parameters)."""


def failure_reason(exc: BaseException) -> str:
    """What a log line may say of a failed store call: the driver's line of a DatabaseUnavailable, else the exception's
    type (a SQLAlchemy error's text carries the statement and its parameters)."""
    return str(exc) if isinstance(exc, DatabaseUnavailable) else type(exc).__name__


class MasterKeyMismatch(StoreUnavailable):
    """The master key does not unseal what the database holds: using it would mix keys in one database."""


@dataclass(frozen=True)
class Account:
    account_id: str
    alias: str | None
    created_at: datetime


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    account_id: str
    sealed_secret: bytes
    """The secret, encrypted under the server master key; never stored in plain text."""
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True)
class ProviderPrivateKey:
    """A private key uploaded for a SAML provider (`AddPrivateKey`), as GetSAMLProvider lists it (`KeyId`,
    `Timestamp`). The key itself exists only sealed under the master key; it is never shown."""

    key_id: str
    created_at: datetime
    sealed_pem: bytes = field(default=b"", repr=False, compare=False)
    """The PKCS#8 PEM sealed with the context `provider_key_context(provider uuid, key_id)`; empty when not loaded."""


def provider_key_context(provider_uuid: str, key_id: str) -> str:
    """The sealing context of a provider's private key: a sealed key opens only as this key of this provider
    (a provider deleted and created again under the same name has another UUID)."""
    return f"saml provider {provider_uuid} private key {key_id}"


@dataclass(frozen=True)
class SamlProvider:
    arn: str
    account_id: str
    name: str
    uuid: str
    metadata_document: str
    valid_until: datetime | None
    created_at: datetime
    assertion_encryption_mode: str = "Allowed"
    attribute_mapping: dict[str, list[str]] | None = None
    tags: tuple[Tag, ...] = ()
    validation_options: dict[str, bool] | None = None
    """The provider's validation opt-ins by name (samlfed extension); None or absent names: the strict default."""
    private_keys: tuple[ProviderPrivateKey, ...] = ()
    """The uploaded private keys that decrypt its encrypted assertions, oldest first (at most 2), still sealed."""


@dataclass(frozen=True)
class SamlProviderSummary:
    """A provider as ListSAMLProviders lists it: no metadata document (hundreds of KB each), tags or keys."""

    arn: str
    valid_until: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Role:
    account_id: str
    name: str
    role_id: str
    path: str
    arn: str
    trust_policy: str
    max_session_duration: int
    created_at: datetime
    description: str | None = None
    permissions_boundary: str | None = None
    tags: tuple[Tag, ...] = field(default=())
    trust_principal_ids: tuple[tuple[str, str], ...] | None = None
    """(role ARN, role ID) of each role the trust policy names as an AWS principal, as resolved when the policy was
    written (IAM keeps the unique ID: a role deleted and created again under that ARN is not the one trusted); the ID
    is "" for an ARN no role held when an upgrade recorded them (migration 0013)."""


@dataclass(frozen=True)
class RoleGrants:
    """What a role grants, as one state of the store: the role with its tags, its inline policies as (name, document)
    by name, its attached managed policies as (ARN, document of the default version) by ARN, and its permissions
    boundary's document (None when it has no boundary, or the boundary policy no longer exists)."""

    role: Role
    inline: tuple[tuple[str, str], ...]
    attached: tuple[tuple[str, str], ...]
    boundary_document: str | None


@dataclass(frozen=True)
class RoleLastUsed:
    """When and in which region a role was last assumed (IAM's `RoleLastUsed`)."""

    used_at: datetime
    region: str


AWS_MANAGED = "aws"
"""The account field of an AWS managed policy's ARN (`arn:aws:iam::aws:policy/ReadOnlyAccess`), and the account that
owns those policies in the store: a row of its own, never listed, with no keys, roles or providers. The operator
imports the policies (`samlfed aws-policies import`); every account can read, attach and evaluate them."""


@dataclass(frozen=True)
class ManagedPolicy:
    arn: str
    account_id: str
    """The owning account; AWS_MANAGED for an AWS managed policy."""
    name: str
    policy_id: str
    path: str
    document: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    attachment_count: int = 0
    tags: tuple[Tag, ...] = field(default=())
    default_version_id: str = "v1"
    """The version in effect; `document` is that version's document."""

    @property
    def aws_managed(self) -> bool:
        return self.account_id == AWS_MANAGED


@dataclass(frozen=True)
class PolicyVersion:
    """One version of a managed policy (IAM's PolicyVersion)."""

    version_id: str
    document: str
    is_default: bool
    created_at: datetime


@dataclass(frozen=True)
class ServerKey:
    key_id: str
    sealed_key: bytes
    active: bool
    created_at: datetime

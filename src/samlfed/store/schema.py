"""The relational schema, as SQLAlchemy Core tables (Alembic migrations in `migrations/` create it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("alias", String(63), unique=True, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

saml_providers = Table(
    "saml_providers",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("uuid", String(64), nullable=False, unique=True),
    Column("metadata_document", Text, nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("assertion_encryption_mode", String(16), nullable=False, default="Allowed"),
    Column("attribute_mapping", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("validation_options", JSON, nullable=True),
    # ListSAMLProviders reads its answer from this index alone, in order. From the table, every column stored after
    # the metadata document (up to 10 MB) was read through that document's pages: 20 ms for 50 providers of 1 MB.
    Index("ix_saml_providers_listing", "account_id", "arn", "valid_until", "created_at"),
)

provider_tags = Table(
    "provider_tags",
    metadata,
    Column("arn", String(2048), ForeignKey("saml_providers.arn", ondelete="CASCADE"), primary_key=True),
    Column("key_lower", String(256), nullable=False),  # the listing order ('İ' lower-cases to two characters)
    Column("key", String(128), primary_key=True),  # case-sensitive: `Team` and `team` are two tags (IAM's rule)
    Column("value", String(256), nullable=False),
)

provider_private_keys = Table(
    "provider_private_keys",
    metadata,
    # The private keys that decrypt a provider's encrypted assertions (AddPrivateKey), sealed under the master key;
    # deleted with their provider.
    Column("arn", String(2048), ForeignKey("saml_providers.arn", ondelete="CASCADE"), primary_key=True),
    Column("key_id", String(64), primary_key=True),
    Column("sealed_pem", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True),
    Column("name_lower", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("trust_policy", Text, nullable=False),
    Column("trust_principal_ids", Text, nullable=True),  # JSON: {role ARN: role ID} as resolved when the policy was written
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

def _role_fk() -> ForeignKeyConstraint:
    """A row's composite key to its role (deleted with it); a new constraint for each table."""
    return ForeignKeyConstraint(["account_id", "role_name_lower"], ["roles.account_id", "roles.name_lower"], ondelete="CASCADE")


role_tags = Table(
    "role_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name_lower", String(64), primary_key=True),
    Column("key_lower", String(256), primary_key=True),  # 'İ' lower-cases to two characters
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    _role_fk(),
)

role_policies = Table(
    "role_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name_lower", String(64), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
    _role_fk(),
)

role_last_used = Table(
    "role_last_used",
    metadata,
    # A table of its own, not columns of `roles`: recording a sign-in never updates (or waits on) the role's row.
    # Keyed by role ID: a role deleted and created again under the same name starts with no last use.
    Column("role_id", String(32), ForeignKey("roles.role_id", ondelete="CASCADE"), primary_key=True),
    Column("last_used_date", DateTime(timezone=True), nullable=False),
    Column("region", String(63), nullable=False),  # a credential scope's region: a host label
)

managed_policies = Table(
    "managed_policies",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("policy_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("description", String(1000), nullable=True),
    # The default version's document, copied from policy_versions in the transaction that sets the default: what
    # evaluates the policy (sessions, simulator, authorization API, boundaries) reads this one row, no join.
    Column("document", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("default_version", Integer, nullable=False, server_default="1"),
    # The number the next version gets: IAM never hands out a version ID again, even after that version is deleted.
    Column("next_version", Integer, nullable=False, server_default="2"),
)
# Names unique in the account whatever their case (IAM's rule), held by the database for every writer (migration
# 0016). SQLite cannot reflect an index on an expression: a migration that copies this table there (batch mode) must
# create it again (tests/store/test_policy_name_index_migration.py looks for it at head).
Index("ix_managed_policies_account_lower_name", managed_policies.c.account_id, func.lower(managed_policies.c.name), unique=True)

policy_versions = Table(
    "policy_versions",
    metadata,
    # A managed policy's versions (v1 is created with it); version N has the ID "vN".
    Column("arn", String(2048), ForeignKey("managed_policies.arn", ondelete="CASCADE"), primary_key=True),
    Column("version_number", Integer, primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

policy_tags = Table(
    "policy_tags",
    metadata,
    Column("arn", String(2048), ForeignKey("managed_policies.arn", ondelete="CASCADE"), primary_key=True),
    Column("key_lower", String(256), nullable=False),  # the listing order ('İ' lower-cases to two characters)
    Column("key", String(128), primary_key=True),  # case-sensitive: `Team` and `team` are two tags (IAM's rule)
    Column("value", String(256), nullable=False),
)

role_policy_attachments = Table(
    "role_policy_attachments",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name_lower", String(64), primary_key=True),
    Column("policy_arn", String(2048), ForeignKey("managed_policies.arn", ondelete="RESTRICT"), primary_key=True),
    _role_fk(),
)

server_keys = Table(
    "server_keys",
    metadata,
    Column("key_id", String(8), primary_key=True),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

redeemed_assertions = Table(
    "redeemed_assertions",
    metadata,
    # SHA-256 of (issuer, assertion ID, role ARN): one row per use, whatever the lengths of the parts.
    Column("redemption", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    # SHA-256 of the cookie value: the database never holds a usable cookie.
    Column("session_hash", String(64), primary_key=True),
    # The session's state, sealed under the master key (it holds a session token and maybe a SAML response).
    Column("sealed_state", LargeBinary, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

instance_keys = Table(
    "instance_keys",
    metadata,
    # Keys this deployment holds as a party to others (the SP key that signs AuthnRequests), sealed under the
    # master key, shared by every node.
    Column("name", String(64), primary_key=True),
    Column("sealed_value", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

authz_keys = Table(
    "authz_keys",
    metadata,
    # Keys of downstream services that ask samlfed for authorization decisions; only a SHA-256 of the secret.
    Column("key_id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

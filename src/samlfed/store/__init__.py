"""Storage: one interface (`SqlStore`), SQLite by default, PostgreSQL when several nodes share the load."""

from .records import (
    AccessKey,
    Account,
    AlreadyExists,
    Conflict,
    LimitReached,
    ManagedPolicy,
    MasterKeyMismatch,
    NotFound,
    Role,
    RoleLastUsed,
    SamlProvider,
    ServerKey,
    StoreError,
    StoreUnavailable,
    Tag,
)
from .sql import SqlStore

__all__ = [
    "AccessKey",
    "Account",
    "AlreadyExists",
    "Conflict",
    "LimitReached",
    "ManagedPolicy",
    "MasterKeyMismatch",
    "NotFound",
    "Role",
    "RoleLastUsed",
    "SamlProvider",
    "ServerKey",
    "SqlStore",
    "StoreError",
    "StoreUnavailable",
    "Tag",
]

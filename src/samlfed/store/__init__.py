"""Storage: one interface (`SqlStore`), SQLite by default, PostgreSQL when several nodes share the load."""

from .records import (
    AccessKey,
    Account,
    AlreadyExists,
    Conflict,
    ManagedPolicy,
    NotFound,
    Role,
    SamlProvider,
    ServerKey,
    StoreError,
    Tag,
)
from .sql import SqlStore

__all__ = [
    "AccessKey",
    "Account",
    "AlreadyExists",
    "Conflict",
    "ManagedPolicy",
    "NotFound",
    "Role",
    "SamlProvider",
    "ServerKey",
    "SqlStore",
    "StoreError",
    "Tag",
]

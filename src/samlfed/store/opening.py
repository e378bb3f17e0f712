"""Opening the store for service: schema upgrade, master key check, one-time repairs; any failure is one
typed error (StoreUnavailable) that the command line prints."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from ..masterkey import MasterKey
from .canary import check_master_key
from .legacy_keys import adopt_service_keys
from .records import DatabaseUnavailable, StoreUnavailable
from .sql import SqlStore

log = logging.getLogger("samlfed.store")


def open_store(url: str, master: MasterKey, *, now: datetime) -> SqlStore:
    store = SqlStore.open(url)
    try:
        check_master_key(store, master, now=now)
        adopt_service_keys(store, master)
        restored = store.restore_missing_default_versions()
        if restored:
            log.warning(
                "%d managed policies had no version (made by an older samlfed still running on this database after it "
                "was upgraded); each one's document is now its default version", restored,
            )
    except (SQLAlchemyError, DatabaseUnavailable) as exc:
        store.engine.dispose()
        raise StoreUnavailable(f"cannot read the database: {exc if isinstance(exc, DatabaseUnavailable) else type(exc).__name__}") from exc
    except BaseException:
        store.engine.dispose()
        raise
    return store

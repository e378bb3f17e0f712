"""Databases made at a8c346b keep the SP key in `service_keys`, sealed as "samlfed service key <name>"; since
96cbddf it lives in `instance_keys`, sealed as "samlfed instance key <name>" (console/sp.py). Resealing needs the
master key, which migrations never see, so it happens here, once, after the master key check."""

from __future__ import annotations

import logging

from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, delete, inspect, select

from ..masterkey import MasterKey, MasterKeyError
from . import schema as t
from .locking import exclusive
from .sql import SqlStore

log = logging.getLogger("samlfed.store")

# As a8c346b's migration 0003 created it; not in schema.metadata, so no migration ever creates it again.
service_keys = Table(
    "service_keys",
    MetaData(),
    Column("name", String(64), primary_key=True),
    Column("sealed_value", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def adopt_service_keys(store: SqlStore, master: MasterKey) -> None:
    """Move every `service_keys` row into `instance_keys`, resealed, and drop the table. A row that does not
    unseal, or whose name `instance_keys` already holds, stays, and so does the table: nothing is dropped unread."""
    if not inspect(store.engine).has_table(service_keys.name):
        return
    with exclusive(store.engine) as db:
        if not inspect(db).has_table(service_keys.name):
            return  # another node moved them while this one waited for the lock
        kept = 0
        for row in db.execute(select(service_keys)).all():
            if db.execute(select(t.instance_keys.c.name).where(t.instance_keys.c.name == row.name)).first():
                kept += 1
                continue
            try:
                value = master.unseal(bytes(row.sealed_value), context=f"samlfed service key {row.name}")
            except MasterKeyError:
                kept += 1
                continue
            sealed = master.seal(value, context=f"samlfed instance key {row.name}")
            db.execute(t.instance_keys.insert().values(name=row.name, sealed_value=sealed, created_at=row.created_at))
            db.execute(delete(service_keys).where(service_keys.c.name == row.name))
        if kept:
            log.warning("%d row(s) of service_keys could not be moved to instance_keys and were left in place", kept)
        else:
            service_keys.drop(db)

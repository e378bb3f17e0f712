"""A PostgreSQL database (or role) whose DateStyle is not ISO (ALTER DATABASE … SET datestyle = 'SQL, DMY'): PostgreSQL
sends timestamps in that style and psycopg parses only ISO, so every read of a row with a date failed with
NotImplementedError (GetRole, ListRoles, a sign-in: 500s)."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import create_engine, make_url
from test_concurrency_review import ACCOUNT, TRUST

from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_account
from samlfed.iam.roles import create_role, get_role
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore


@pytest.mark.parametrize("datestyle", ["SQL, DMY", "German", "Postgres, MDY"])
def test_dates_are_read_whatever_the_databases_datestyle(postgres_database: str, datestyle: str) -> None:
    admin = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.exec_driver_sql(f"ALTER DATABASE \"{make_url(postgres_database).database}\" SET datestyle = '{datestyle}'")
    finally:
        admin.dispose()
    store = SqlStore.open(postgres_database)
    try:
        ctx = ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32)), identity_cache_seconds=0)
        create_account(ctx, ACCOUNT)
        created = create_role(ctx, ACCOUNT, "Developer", TRUST)
        assert get_role(ctx, ACCOUNT, "Developer").created_at == created.created_at
    finally:
        store.engine.dispose()

"""A PostgreSQL database (or role, or samlfed's environment through PGCLIENTENCODING) whose client_encoding is not
UTF8: psycopg encodes what samlfed sends in it, so a role tag in Japanese failed with UnicodeEncodeError (a 500)
under LATIN1, and under SQL_ASCII text came back as bytes and the store did not even open. What IAM accepts must be
stored and read back."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import create_engine, make_url
from test_concurrency_review import ACCOUNT, TRUST

from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_account
from samlfed.iam.roles import create_role, get_role
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore, Tag


@pytest.mark.parametrize("encoding", ["LATIN1", "SQL_ASCII"])
def test_text_beyond_the_databases_client_encoding_is_stored_and_read_back(postgres_database: str, encoding: str) -> None:
    admin = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.exec_driver_sql(f"ALTER DATABASE \"{make_url(postgres_database).database}\" SET client_encoding = '{encoding}'")
    finally:
        admin.dispose()
    store = SqlStore.open(postgres_database)
    try:
        ctx = ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32)), identity_cache_seconds=0)
        create_account(ctx, ACCOUNT)
        create_role(ctx, ACCOUNT, "Developer", TRUST, description="naïve", tags=[Tag("日本", "é")])
        role = get_role(ctx, ACCOUNT, "Developer")
        assert (role.description, role.tags) == ("naïve", (Tag("日本", "é"),))
    finally:
        store.engine.dispose()

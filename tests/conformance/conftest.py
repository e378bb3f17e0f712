"""Every storage backend runs the same conformance suite: SQLite in a temporary directory and a real PostgreSQL.

PostgreSQL is at 127.0.0.1:5432 on every developer and CI machine (override with SAMLFED_TEST_POSTGRES_URL);
each run gets a fresh schema of its own, dropped afterwards. It is never skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from samlfed.store import SqlStore

POSTGRES_URL = os.environ.get("SAMLFED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        yield SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
        return
    schema = f"samlfed_test_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = SqlStore.open(POSTGRES_URL + f"?options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

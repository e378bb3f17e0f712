"""A PostgreSQL of a test's own: a fresh schema or database, dropped afterwards.

PostgreSQL is at 127.0.0.1:5432 on every developer and CI machine (override with SAMLFED_TEST_POSTGRES_URL); the
tests that use it are never skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from samlfed.store import SqlStore

POSTGRES_URL = os.environ.get("SAMLFED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_schema(prefix: str) -> Iterator[str]:
    """The URL of a new schema `prefix_<random>` of the shared database (as its search_path), dropped with
    everything in it afterwards."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield POSTGRES_URL + f"?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """The name of a new database `prefix_<random>`, dropped afterwards even with connections left open: for what
    PostgreSQL keeps per database (start-up locks) or a connection path of the test's own."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_store(kind: str, directory: Path) -> Iterator[SqlStore]:
    """An empty store: SQLite in `directory` ("sqlite"), or PostgreSQL in a scratch schema ("postgresql")."""
    if kind == "sqlite":
        yield SqlStore.open(f"sqlite:///{directory / 'samlfed.db'}")
        return
    with scratch_schema("samlfed_test") as url:
        store = SqlStore.open(url)
        try:
            yield store
        finally:
            store.engine.dispose()


@contextmanager
def holding(url: str, statement: str) -> Iterator[Connection]:
    """A transaction of another client (no samlfed bounds) that runs `statement` and holds what it took until the
    block ends."""
    engine = create_engine(url)
    connection = engine.connect()
    try:
        connection.execute(text(statement))
        yield connection
    finally:
        connection.rollback()
        connection.close()
        engine.dispose()

"""One writer at a time for work that must run once per store (schema upgrade, first key ring), across nodes.

PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback, so a crashed node never
leaves it held. SQLite: BEGIN EXCLUSIVE, which waits (busy_timeout) for other writers and keeps them out until
commit. Whoever acquires second must re-read what the first may have done meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

# Any fixed 64-bit number: the lock is keyed by database, and only samlfed's own start-up work takes it.
ADVISORY_LOCK_KEY = 0x73616D6C666564  # "samlfed"


@contextmanager
def exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other `exclusive` of the same database runs beside; commits on
    success, rolls back on error."""
    with engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            # Unbounded for this transaction: waiting for another node's migration, or running one, may take longer
            # than a request's statements may (sql.POSTGRES_STATEMENT_BOUNDS).
            connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        elif dialect == "sqlite":
            # pysqlite begins transactions itself only before DML; an explicit BEGIN takes the lock up front.
            connection.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            raise NotImplementedError(f"no start-up lock for {dialect}")
        yield connection
        connection.commit()

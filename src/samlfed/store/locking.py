"""One writer at a time for work that must run once per store (schema upgrade, first key ring), across nodes.

PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback, so a crashed node never
leaves it held. SQLite: BEGIN EXCLUSIVE, which waits for other writers (up to SQLITE_STARTUP_WAIT_MS) and keeps them
out until commit. Whoever acquires second must re-read what the first may have done meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

# Any fixed 64-bit number: the lock is keyed by database, and only samlfed's own start-up work takes it.
ADVISORY_LOCK_KEY = 0x73616D6C666564  # "samlfed"

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long an SQLite statement waits for another connection's write lock (every connection's setting)."""
SQLITE_STARTUP_WAIT_MS = 120_000
"""How long start-up work waits for another process's: several nodes or CLI calls starting together on a busy
machine wait in turn for one schema upgrade, which took longer than a statement's wait (a refused start is worse
than a slow one); a process wedged holding the lock still ends the wait."""


@contextmanager
def exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other `exclusive` of the same database runs beside; commits on
    success, rolls back on error."""
    with engine.connect() as connection, ExitStack() as unbounded:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            from samlfed.store.postgres_answers import unbounded_answers  # imports psycopg

            # Unbounded for this transaction: waiting for another node's migration, or running one, may take longer
            # than a request's statements may (sql.POSTGRES_STATEMENT_BOUNDS), and than samlfed waits for an answer.
            unbounded.enter_context(unbounded_answers(connection))
            connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        elif dialect == "sqlite":
            # pysqlite begins transactions itself only before DML; an explicit BEGIN takes the lock up front. Only
            # taking it waits longer: the connection goes back to the pool with the usual wait.
            connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_STARTUP_WAIT_MS}")
            try:
                connection.exec_driver_sql("BEGIN EXCLUSIVE")
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        else:
            raise NotImplementedError(f"no start-up lock for {dialect}")
        yield connection
        connection.commit()

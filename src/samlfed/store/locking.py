"""One writer at a time for work that must run once per store (schema upgrade, master key check, first key ring),
across nodes.

PostgreSQL: transaction-scoped advisory locks, released at commit or rollback, so a crashed node never leaves one
held. SQLite: BEGIN EXCLUSIVE (start-up, waits up to SQLITE_STARTUP_WAIT_MS) or BEGIN IMMEDIATE (first ring, a
statement's wait), which keep other writers out until commit. Whoever acquires second must re-read what the first
may have done meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

log = logging.getLogger("samlfed.store")

# Any fixed 64-bit number: the lock is keyed by database, and only samlfed's own start-up work takes it.
ADVISORY_LOCK_KEY = 0x73616D6C666564  # "samlfed"

RING_LOCK_KEY = ADVISORY_LOCK_KEY + 1
"""The key ring's own lock (`hold_ring_lock`), taken by the first ring and by rotations: apart from the start-up
lock, which a migration may hold for as long as it runs."""

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long an SQLite statement waits for another connection's write lock (every connection's setting)."""
SQLITE_STARTUP_WAIT_MS = 120_000
"""How long start-up work waits for another process's: several nodes or CLI calls starting together on a busy
machine wait in turn for one schema upgrade, which took longer than a statement's wait (a refused start is worse
than a slow one); a process wedged holding the lock still ends the wait."""

WAITING = "waiting for the start-up lock, which another samlfed process holds (a schema upgrade, or a first start or key rotation on this database)"
"""Said once, when the lock is not had within NOTICE_AFTER_SECONDS: a command that waits for minutes should say what
for, but workers starting together, which wait for each other's moment, should not."""
WAITING_SQLITE = (
    "waiting for the database file's write lock, which another process holds (samlfed's start-up work: a schema upgrade, "
    "or a first start or key rotation; or another program writing to the file)"
)
"""WAITING on SQLite, whose lock is the file's: any program writing to it holds it (the sqlite3 shell, a backup tool)."""
NOTICE_AFTER_SECONDS = 1.0


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
            if not _try_advisory_lock(connection, NOTICE_AFTER_SECONDS):
                log.warning(WAITING)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        elif dialect == "sqlite":
            # pysqlite begins transactions itself only before DML; an explicit BEGIN takes the lock up front. Only
            # taking it waits longer: the connection goes back to the pool with the usual wait.
            try:
                _begin_exclusive(connection, wait_ms=int(NOTICE_AFTER_SECONDS * 1000))
            except OperationalError:  # "database is locked": another process's start-up work, or its write
                log.warning(WAITING_SQLITE)
                _begin_exclusive(connection, wait_ms=SQLITE_STARTUP_WAIT_MS)
        else:
            raise NotImplementedError(f"no start-up lock for {dialect}")
        yield connection
        connection.commit()


def _try_advisory_lock(connection: Connection, seconds: float) -> bool:
    """Whether the start-up lock was had within `seconds`, asking every 50 ms: a lock_timeout would abort the
    transaction the wait belongs to."""
    deadline = time.monotonic() + seconds
    while not connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar_one():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _begin_exclusive(connection: Connection, *, wait_ms: int) -> None:
    with sqlite_busy_timeout(connection, wait_ms):
        connection.exec_driver_sql("BEGIN EXCLUSIVE")


@contextmanager
def sqlite_busy_timeout(connection: Connection, wait_ms: int) -> Iterator[None]:
    """`wait_ms` as the SQLite connection's lock wait meanwhile; the pooled connection goes back with every
    statement's wait (SQLITE_BUSY_TIMEOUT_MS)."""
    connection.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def hold_ring_lock(connection: Connection) -> None:
    """Keep other nodes' writes of the key ring (a first ring, a rotation) out of this transaction, with a request's
    bounded waits (a busy database is the retryable 503): the first ring is made on the first sign-in's path, where
    the start-up lock's unbounded wait held the worker, its health probes too, for as long as another process held
    that lock."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RING_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        raise NotImplementedError(f"no first-ring lock for {connection.dialect.name}")

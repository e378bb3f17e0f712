"""A client-side bound on how long samlfed waits for PostgreSQL to answer.

The server's statement_timeout and lock_timeout bound a statement only while the server runs: a server whose
process stops answering while its kernel keeps the TCP connection open (a backend stuck on a hung disk, a
SIGSTOPped server, a pooler whose backend hangs) acknowledges every packet, so neither libpq's keepalives nor
tcp_user_timeout ever fire, and the request waits for ever. Requests call the database on the worker's event
loop, so that one wait held every request of the worker and its health probes too.

Every round trip of a psycopg connection (execute, fetch, commit, rollback, the pool's ping) goes through
`Connection.wait`; `BoundedConnection` gives each one the connection's `answer_bound`. Past it the connection is
closed (its protocol state is unknown mid-exchange) and the call raises OperationalError, which SQLAlchemy takes
for a disconnect: the pool drops the connection and the store answers DatabaseUnavailable, the retryable 503.
A pipeline (executemany, `Connection.pipeline`) waits once for all its statements, so one bound covers them all:
keep such batches off the request path, or short.

This module imports psycopg: import it only on the PostgreSQL path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import Connection

ANSWER_MARGIN_SECONDS = 5.0
"""How much longer than the session's statement_timeout samlfed waits for an answer: the server's own timeout,
which comes with an error the request can report, should always come first."""
SETUP_ANSWER_SECONDS = 30 + ANSWER_MARGIN_SECONDS
"""A new connection's bound until its session's statement_timeout has been read: the one samlfed's default gives."""

log = logging.getLogger("samlfed.store")


def answer_bound(statement_timeout_ms: int) -> float | None:
    """How long to wait for one answer in a session whose statement_timeout is `statement_timeout_ms`; None (no
    bound) when it is 0: an operator who lifts the server's bound wants statements to run for ever."""
    return statement_timeout_ms / 1000 + ANSWER_MARGIN_SECONDS if statement_timeout_ms > 0 else None


def settle_answer_bound(connection: BoundedConnection) -> None:
    """Bound `connection` by its session's statement_timeout as the server holds it (in milliseconds, after its own
    rounding), however it was set: samlfed's default, the URL's `options`, PGOPTIONS, ALTER ROLE or DATABASE."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'")
        row = cursor.fetchone()
    connection.commit()  # end the transaction the read began: the pool hands out connections without one
    connection.answer_bound = answer_bound(int(row[0])) if row is not None else SETUP_ANSWER_SECONDS


class BoundedConnection(psycopg.Connection):  # type: ignore[type-arg]
    """A psycopg connection that waits at most `answer_bound` seconds for each answer (None: for ever)."""

    answer_bound: float | None = SETUP_ANSWER_SECONDS
    """SETUP_ANSWER_SECONDS until `settle_answer_bound` reads the session's own."""

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        bound = self.answer_bound
        if bound is None or len(args) > 1 or "timeout" in kwargs:  # psycopg's own waits, bounded or not (notifies)
            return super().wait(gen, *args, **kwargs)
        started = time.monotonic()
        try:
            return super().wait(gen, *args, **{**kwargs, "timeout": bound})
        except psycopg.OperationalError:
            if time.monotonic() - started < bound:
                raise  # the connection failed by itself
            # The exchange stopped half-way: nothing else can be sent on this connection. psycopg closes it so too
            # when a cancelled query does not end.
            self.pgconn.finish()
            log.warning("PostgreSQL did not answer within %g s; closed the connection.", bound)
            raise psycopg.OperationalError(f"PostgreSQL did not answer within {bound:g} s (the connection was closed)") from None


@contextmanager
def unbounded_answers(connection: Connection) -> Iterator[None]:
    """Within the block, `connection` waits for answers for ever: for work that lifts the server's statement_timeout
    itself (the start-up lock, a schema upgrade)."""
    dbapi_connection = connection.connection.dbapi_connection
    bound = getattr(dbapi_connection, "answer_bound", None)
    if bound is None:
        yield
        return
    dbapi_connection.answer_bound = None
    try:
        yield
    finally:
        dbapi_connection.answer_bound = bound

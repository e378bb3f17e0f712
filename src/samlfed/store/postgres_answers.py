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

This module imports psycopg: import it only on the PostgreSQL path.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import Connection

ANSWER_MARGIN_SECONDS = 5.0
"""How much longer than the session's statement_timeout samlfed waits for an answer: the server's own timeout,
which comes with an error the request can report, should always come first."""

_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(us|ms|s|min|h|d)?\s*", re.ASCII)
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}

log = logging.getLogger("samlfed.store")


def statement_timeout_seconds(value: str) -> float:
    """PostgreSQL's value of a time setting in seconds: a number with an optional unit, milliseconds without one
    (`30s`, `1500`, `2min`); 0 means no timeout. ValueError for anything else."""
    found = _DURATION.fullmatch(value.strip("'\""))
    if found is None:
        raise ValueError(f"statement_timeout={value!r} is not a PostgreSQL duration (a number and a unit such as 30s)")
    return float(found[1]) * _UNIT_SECONDS[found[2] or "ms"]


def answer_bound(statement_timeout: str) -> float | None:
    """How long to wait for one answer when the session's statement_timeout is `statement_timeout`; None (no bound)
    when the statement_timeout is 0: an operator who lifts the server's bound wants statements to run for ever."""
    seconds = statement_timeout_seconds(statement_timeout)
    return seconds + ANSWER_MARGIN_SECONDS if seconds > 0 else None


class BoundedConnection(psycopg.Connection):  # type: ignore[type-arg]
    """A psycopg connection that waits at most `answer_bound` seconds for each answer (None: for ever)."""

    answer_bound: float | None = None

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        bound = self.answer_bound
        if bound is None or len(args) > 1 or kwargs.get("timeout") is not None:  # psycopg's own bounded waits
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


def connect(answer_bound: float | None, *args: Any, **kwargs: Any) -> BoundedConnection:
    """psycopg.connect, to a BoundedConnection waiting at most `answer_bound` seconds for each answer."""
    connection = BoundedConnection.connect(*args, **kwargs)
    connection.answer_bound = answer_bound
    return connection


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

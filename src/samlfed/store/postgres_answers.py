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
After one such wait (or a connection attempt that met libpq's connect_timeout), `AnswerWatch` makes every later call
fail at once instead of waiting out its own bound, until a thread of its own gets an answer from the server.
A pipeline (executemany, `Connection.pipeline`) waits once for all its statements, so one bound covers them all:
keep such batches off the request path, or short.

This module imports psycopg: import it only on the PostgreSQL path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, timeout_from_conninfo
from psycopg.errors import ConnectionTimeout
from psycopg.rows import TupleRow
from sqlalchemy.engine import Connection

ANSWER_MARGIN_SECONDS = 5.0
"""How much longer than the session's statement_timeout samlfed waits for an answer: the server's own timeout,
which comes with an error the request can report, should always come first."""
SETUP_ANSWER_SECONDS = 30 + ANSWER_MARGIN_SECONDS
"""A new connection's bound until its session's statement_timeout has been read: the one samlfed's default gives."""
PROBE_INTERVAL_SECONDS = 1.0
"""How often a silent server is asked again whether it answers (each ask itself waits up to connect_timeout and the
bound)."""

log = logging.getLogger("samlfed.store")


def answer_bound(statement_timeout_ms: int) -> float | None:
    """How long to wait for one answer in a session whose statement_timeout is `statement_timeout_ms`; None (no
    bound) when it is 0: an operator who lifts the server's bound wants statements to run for ever."""
    return statement_timeout_ms / 1000 + ANSWER_MARGIN_SECONDS if statement_timeout_ms > 0 else None


def settle_session(connection: BoundedConnection, settings: Mapping[str, str]) -> None:
    """SET each of `settings` for the connection's session, then bound the connection by its session's
    statement_timeout as the server then holds it (in milliseconds, after its own rounding), however it was set:
    samlfed's default, the URL's `options`, PGOPTIONS, ALTER ROLE or DATABASE.

    One round trip for it all, where statement by statement in a transaction took seven (BEGIN and COMMIT around the
    SETs, then around the read): every new connection pays it before its first request."""
    statements = [f"SET {name} = '{value}'" for name, value in settings.items()]  # samlfed's own constants, not input
    statements.append("SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'")
    autocommit, connection.autocommit = connection.autocommit, True  # no BEGIN or COMMIT: the SETs outlive the statement's own transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("; ".join(statements))  # without parameters, psycopg sends them as one simple query
            while cursor.nextset():  # to the last statement's result: the read
                pass
            row = cursor.fetchone()
    finally:
        connection.autocommit = autocommit
    connection.answer_bound = answer_bound(int(row[0])) if row is not None else SETUP_ANSWER_SECONDS


def waited_out(error: psycopg.OperationalError, waited: float, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> bool:
    """Whether a connection attempt that failed with `error` after `waited` seconds met libpq's connect_timeout.

    With several hosts in the URL, psycopg tries each in turn and raises the last one's error: a refusal from the
    last host after a silent first one comes as a plain OperationalError, though the attempt waited the whole
    connect_timeout for the first. The time taken tells what the error's type cannot."""
    if isinstance(error, ConnectionTimeout):
        return True
    try:
        timeout = timeout_from_conninfo(conninfo_to_dict(*cargs, **cparams))
    except psycopg.Error:
        return False  # parameters psycopg cannot read fail the attempt before it waits for anything
    return waited >= timeout


class NoAnswer(psycopg.OperationalError):
    """PostgreSQL did not answer within the bound: the connection was closed."""


class BoundedConnection(psycopg.Connection[TupleRow]):
    """A psycopg connection that waits at most `answer_bound` seconds for each answer (None: for ever)."""

    answer_bound: float | None = SETUP_ANSWER_SECONDS
    """SETUP_ANSWER_SECONDS until `settle_session` reads the session's own."""
    watch: AnswerWatch | None = None
    """Told when an answer does not come; refuses to wait at all while the server is known not to answer."""

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        bound = self.answer_bound
        if bound is None or len(args) > 1 or "timeout" in kwargs:  # psycopg's own waits, bounded or not (notifies)
            return super().wait(gen, *args, **kwargs)
        silence = self.watch.silence if self.watch is not None else None
        if silence is not None:
            self.pgconn.finish()  # nothing was sent; closed, the pool drops it as it would a broken one
            raise psycopg.OperationalError(silence)
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
            if self.watch is not None:
                self.watch.heard_nothing(f"no answer within {bound:g} s", since=time.time() - (time.monotonic() - started))
            raise NoAnswer(f"PostgreSQL did not answer within {bound:g} s (the connection was closed)") from None


class AnswerWatch:
    """Whether one engine's PostgreSQL is known not to answer, and the engine's way to connect.

    Requests call the database on the worker's event loop, so each one that waits for a silent server holds the
    worker, and the sign-ins it could answer from its read cache, for a whole bound (35 s by default, and libpq's
    connect_timeout more when the pool reconnects). Once one wait has run out, the watch makes every later call on
    a bounded connection, and every new connection, fail at once; a thread of its own asks the server again
    PROBE_INTERVAL_SECONDS after each unanswered ask until it answers. A connection whose bound is lifted (the
    start-up lock's, once it has it) waits as before.
    """

    def __init__(self) -> None:
        self.silence: str | None = None
        """Why calls fail at once, while they do; None while the server is taken to answer."""
        self._lock = threading.Lock()
        self._probing: threading.Event | None = None
        """Set to stop the thread that asks the server (None: no thread runs)."""
        self._connect_args: tuple[tuple[Any, ...], dict[str, Any]] = ((), {})

    def connect(self, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> BoundedConnection:
        """The engine's `do_connect`: a watched connection, or OperationalError at once while the server is silent."""
        self._connect_args = (tuple(cargs), dict(cparams))
        silence = self.silence
        if silence is not None:
            raise psycopg.OperationalError(silence)
        started, clock = time.time(), time.monotonic()
        try:
            connection = BoundedConnection.connect(*cargs, **cparams)
        except psycopg.OperationalError as exc:
            if waited_out(exc, time.monotonic() - clock, cargs, cparams):
                self.heard_nothing("no connection within connect_timeout", since=started)
            raise
        connection.watch = self
        return connection

    def heard_nothing(self, what: str, since: float) -> None:
        """A wait for the server that began at `since` (seconds since the epoch) ran out: fail calls at once from now
        on, until the server answers a probe."""
        with self._lock:
            if self.silence is not None:
                return
            began = time.strftime("%H:%M:%S", time.gmtime(since))
            self.silence = f"PostgreSQL is not answering (since {began} UTC: {what}); not waiting for it until it answers again"
            stop = self._probing = threading.Event()
        log.warning("PostgreSQL is not answering (%s): database calls fail at once until it answers again.", what)
        threading.Thread(target=self._probe, args=(stop,), name="samlfed-postgres-probe", daemon=True).start()

    def reset(self) -> None:
        """The engine's pool was disposed: stop asking, and let the next call find out for itself."""
        with self._lock:
            if self._probing is not None:
                self._probing.set()
            self._probing, self.silence = None, None

    def _probe(self, stop: threading.Event) -> None:
        cargs, cparams = self._connect_args
        while not stop.wait(PROBE_INTERVAL_SECONDS):
            level, outcome = logging.INFO, "PostgreSQL answers again: database calls go through again."
            clock = time.monotonic()
            try:
                with BoundedConnection.connect(*cargs, **cparams) as connection:  # unwatched: it must wait
                    connection.execute("SELECT 1")
            except NoAnswer:
                continue
            except psycopg.Error as exc:
                if isinstance(exc, psycopg.OperationalError) and waited_out(exc, time.monotonic() - clock, cargs, cparams):
                    continue
                # else an answer all the same (a refusal, say): calls go through and get it themselves
            except Exception as exc:  # noqa: BLE001 - the probe's own failure must not keep calls failing for ever
                level, outcome = logging.WARNING, f"The probe of PostgreSQL failed ({type(exc).__name__}): database calls go through again and wait as before."
            with self._lock:
                if stop.is_set():  # reset meanwhile
                    return
                self._probing, self.silence = None, None
            log.log(level, outcome)
            return


@contextmanager
def unbounded_answers(connection: Connection) -> Iterator[None]:
    """Within the block, `connection` waits for answers for ever: for work that lifts the server's statement_timeout
    itself (the start-up lock, a schema upgrade)."""
    dbapi_connection = connection.connection.dbapi_connection
    if not isinstance(dbapi_connection, BoundedConnection) or dbapi_connection.answer_bound is None:
        yield
        return
    bound = dbapi_connection.answer_bound
    dbapi_connection.answer_bound = None
    try:
        yield
    finally:
        dbapi_connection.answer_bound = bound

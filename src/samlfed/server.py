"""Start-up: settings → data directory, store, master key, service context → the ASGI app."""

from __future__ import annotations

import asyncio
import copy
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import ssl
import sys
import time
from array import array
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httptools
import uvicorn.config
import uvicorn.logging
from starlette.routing import BaseRoute, Mount
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .api.app import QueryApi, build_app
from .api.outage_log import OutageLog
from .authz.web import authz_routes
from .config import Settings
from .console.web import ConsoleRoutes
from .context import ServiceContext, utc_now
from .files import prepare_data_dir, read_at_most
from .forwarding import ForwardingWatch
from .masterkey import ENV as MASTER_KEY_VARIABLE
from .masterkey import MasterKey, MasterKeyError
from .metrics import MetricsApp
from .saml import ValidationSettings
from .store import MasterKeyMismatch, SqlStore, StoreUnavailable
from .store.generation import identity_generation_from_env
from .store.opening import open_store
from .timestamps import aws_timestamp


def _create_private(path: Path) -> None:
    """Create an empty `path` with mode 0600 unless it exists: SQLite would create the database (and its WAL
    files, which take the database's mode) under the umask."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_file(url: str) -> Path | None:
    """The database file a sqlite:// URL names, or None (another database, an in-memory one, a file: URI)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def database_missing(data_dir: Path) -> str | None:
    """'no samlfed.db' or 'an empty samlfed.db' when the data directory's database is missing or empty (samlfed writes
    its schema before it makes the master key, so an empty file is never its own), else None."""
    try:
        size = (data_dir / "samlfed.db").stat().st_size
    except FileNotFoundError:
        return "no samlfed.db"
    except OSError:
        return None  # opening it says why it cannot be used
    return "an empty samlfed.db" if size == 0 else None


def _load_master_key(variable: MasterKey | None, data_dir: Path | None) -> MasterKey:
    """`variable` (SAMLFED_MASTER_KEY's key, decoded already) or the data directory's key, as StoreUnavailable."""
    try:
        return MasterKey.from_variable_or_file(variable, data_dir)
    except MasterKeyError as exc:
        raise StoreUnavailable(f"cannot load the master key: {exc}") from exc
    except OSError as exc:
        raise StoreUnavailable(f"cannot load the master key from {exc.filename or data_dir}: {exc.strerror or exc}") from exc


def _open_store(settings: Settings, now: datetime) -> tuple[SqlStore, MasterKey]:
    """The store and the master key, checked against each other; StoreUnavailable (samlfed.store) for whatever
    stops them from opening, with a message for the operator."""
    data_dir = settings.data_dir
    try:
        variable = MasterKey.from_variable()  # a bad SAMLFED_MASTER_KEY is refused before anything is made for it
    except MasterKeyError as exc:
        raise StoreUnavailable(f"cannot load the master key: {exc}") from exc
    if data_dir is not None:
        try:
            prepare_data_dir(data_dir)
        except OSError as exc:
            raise StoreUnavailable(f"cannot use the data directory {data_dir}: {exc.strerror or exc}") from exc
    key_file = data_dir / "master.key" if data_dir is not None and variable is None else None
    key_was_missing = key_file is not None and not key_file.exists()
    if data_dir is not None and not settings.database_url:
        # The database's schema before the key: a first start stopped between the two then leaves a database
        # without a key, which the next start completes, never a key beside a missing or empty database, which is
        # how a lost one looks (or a restore from a copy that was not finished).
        database = data_dir / "samlfed.db"
        missing = database_missing(data_dir)
        if key_file is not None and not key_was_missing and missing is not None:
            _load_master_key(variable, data_dir)  # a key that cannot be read is the first thing to say
            raise StoreUnavailable(
                f"{data_dir} holds master.key but {missing}: restore the database from your backup (or, to start afresh, remove master.key)"
            )
        try:
            _create_private(database)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the database {database}: {exc.strerror or exc}") from exc
    elif settings.database_url is not None and (database_file := _sqlite_file(settings.database_url)) is not None:
        try:  # a SQLite URL's file, as the data directory's: not under the umask (0644), which would show it to all
            _create_private(database_file)
        except OSError:
            pass  # SQLite says why it cannot open it
    if key_was_missing:
        # A --database-url's database too is reached before a key is made for it: one that cannot be reached (a
        # mistyped host) left a new master.key behind, which the run with the right URL then took for the key of
        # whatever database that is, and an existing one's "restore master.key from your backup" went unsaid.
        SqlStore.open(settings.store_url()).engine.dispose()
    master = _load_master_key(variable, data_dir)
    try:
        return open_store(settings.store_url(), master, now=now), master
    except MasterKeyMismatch as exc:
        if not key_was_missing:
            raise
        # The key was made just now, for a database that another key sealed: leave the directory as it was, so
        # that the key restored from a backup is not shadowed by this one.
        assert key_file is not None
        key_file.unlink(missing_ok=True)
        raise MasterKeyMismatch(f"{exc}; the data directory had no master.key: restore it from your backup (or set {MASTER_KEY_VARIABLE})") from None


def build_context(settings: Settings) -> ServiceContext:
    """The service context; raises samlfed.store.StoreUnavailable when the store cannot be opened."""
    store, master = _open_store(settings, utc_now())
    base = settings.base_url
    validation = ValidationSettings().accepting(audiences=[base, f"{base}/saml", settings.sp_entity_id], acs_urls=[f"{base}/saml"])
    store.identity_changes = identity_generation_from_env()  # shared with the other workers of `serve`
    return ServiceContext(
        store=store, master=master, settings=validation,
        strict_replay=settings.strict_replay, identity_cache_seconds=settings.identity_cache_seconds,
        forwarding=ForwardingWatch(settings.forwarded_allow_ips),
    )


_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class _IndentedTracebacks(logging.Formatter):
    """A traceback's and a stack's lines below the record's line, indented and escaped (_continuation): the text
    formats' share, samlfed's lines and uvicorn's alike."""

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 - logging's name
        return _continuation(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return _continuation(stack_info)


class _LineFormatter(_IndentedTracebacks):
    """`%(asctime)s %(levelname)s %(name)s %(message)s`, with asctime's date and time formatted once a second:
    every allowed sign-in writes an audit line, and time.strftime cost 8 µs of each."""

    default_msec_format = "%s,%03d"  # logging.Formatter's own, typed str: this format always has milliseconds

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._second: tuple[float, str] = (float("nan"), "")  # NaN equals no second

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        second, text = self._second  # one read: another thread may replace the pair meanwhile
        if record.created // 1 != second:
            second = record.created // 1
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs)

    def usesTime(self) -> bool:  # noqa: N802 - logging's name
        return True  # the format starts with %(asctime)s

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        """The format above, written directly: %-formatting it from the record's __dict__ went through three calls
        of logging's style machinery (5,800 of the 23,500 instructions formatting an audit line cost). A message
        holding a line break or another character that is not printable has those escaped: whatever a caller's
        text holds, a record stays one line and cannot forge another (a traceback follows, indented: _continuation)."""
        message = record.message
        if not message.isprintable():  # the usual line is printable: one C call, no Python call (every sign-in logs)
            message = _escaped(message)
        return f"{record.asctime} {record.levelname} {record.name} {message}"


def _escaped(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _continuation(text: str) -> str:
    """A traceback's or stack's lines under the record's line: each indented and escaped as a message is, so that
    none can pass for a record of its own, whatever an exception's message quotes."""
    return "\n".join(f"    {_escaped(line)}" for line in text.splitlines())


_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
"""What every LogRecord carries; the rest are the `extra` fields of the call. uvicorn's color_message is its
message again, with terminal colour codes."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for log shippers: time (UTC, ISO 8601, milliseconds), level, logger, message,
    and each `extra` field of the call as a key of its own. json.dumps escapes control characters, line breaks
    and (with ensure_ascii) U+2028/U+2029, so no value can end the line or forge a second object."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                entry.setdefault(key, value)  # a field cannot pass itself off as one of the four above
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=_json_value)


def _json_value(value: object) -> str:
    """A field json cannot write itself: an instant as AWS writes one (2026-12-01T17:06:40Z), anything else as text."""
    return aws_timestamp(value) if isinstance(value, datetime) else str(value)


class ShutdownCancelFilter(logging.Filter):
    """For uvicorn's log: a request still running when the shutdown grace period ends is cancelled, and uvicorn
    logged that as two ERRORs, one with a CancelledError traceback, which log alerting reads as a crash. Each such
    request becomes one WARNING line instead. uvicorn cancels request tasks only then, so every other error keeps
    its level and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Cancel %s running task(s), timeout graceful shutdown exceeded":
            return False  # each cancelled request says so below
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError) and str(record.msg).startswith("Exception in ASGI application"):
            record.msg, record.args = "Request cancelled by shutdown: unfinished %d s after the signal.", (SHUTDOWN_GRACE_SECONDS,)
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info = record.exc_text = None
        return True


def configure_logging(log_format: str = "text") -> None:
    """samlfed's own decisions at INFO on stderr (uvicorn's access log is off: query strings can hold secrets).
    In `json`, records of other libraries that reach no handler (WARNING and up) and Python's warnings are
    JSON lines too, rather than raw text in the middle of the stream."""
    logger = logging.getLogger("samlfed")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if log_format == "json" else _LineFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    uvicorn_errors = logging.getLogger("uvicorn.error")  # uvicorn's logging configuration keeps a logger's filters
    if not any(isinstance(f, ShutdownCancelFilter) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(ShutdownCancelFilter())
    if log_format == "json":
        fallback = logging.StreamHandler()
        fallback.setLevel(logging.WARNING)  # as logging's own last resort
        fallback.setFormatter(JsonFormatter())
        logging.lastResort = fallback
        logging.getLogger("py.warnings").addHandler(fallback)  # captured warnings skip the last resort otherwise
        logging.captureWarnings(True)
    # No format here names a thread or process, nor the file, line or function that logged: not collecting them
    # saves 8 µs of every audit line, and the look-up of the calling frame (its line number found by scanning the
    # line table of assume_role_with_saml) 30,000 instructions, 1 % of a sign-in (the logging HOWTO's "Optimization"
    # section). A call with stack_info=True would lose its stack: none in samlfed or its libraries makes one.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None


class UvicornTextFormatter(_IndentedTracebacks, uvicorn.logging.DefaultFormatter):
    """uvicorn's own lines in the text format, in uvicorn's shape, with a traceback's lines indented and escaped as
    samlfed's are ("Exception in ASGI application" ends with an exception's message, which may quote a request)."""


def uvicorn_logging(log_format: str) -> dict[str, Any]:
    """uvicorn.run's logging option: its own lines (start-up, shutdown, errors) through JsonFormatter in `json`,
    uvicorn's shape through UvicornTextFormatter otherwise. A dictionary, not objects: uvicorn applies it again in
    every worker process."""
    if log_format != "json":
        config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
        config["formatters"]["default"]["()"] = f"{__name__}.UvicornTextFormatter"
        return {"log_config": config}
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    own = {"handlers": ["json"], "level": "INFO", "propagate": False}
    return {"log_config": {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {"uvicorn": own, "uvicorn.error": {"level": "INFO"}, "uvicorn.access": own},
    }}


def http_options() -> dict[str, Any]:
    """uvicorn.run's HTTP protocol and shutdown grace, the same for every samlfed server (serve, demo, idp serve):
    the bound on the request head and the end of requests that never finish. No WebSocket protocol: samlfed serves
    none, and uvicorn's logged every handshake's path and query string (a SAMLAssertion or session token a GET
    carries) at INFO, whatever access_log says; such a request is answered as plain HTTP instead."""
    return {
        "http": BoundedHeadProtocol, "ws": "none",
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS, "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
    }


TLS_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"
"""TLS 1.2 suites with forward secrecy and authenticated encryption only (TLS 1.3's are OpenSSL's, all such);
no DHE: the server context loads no Diffie-Hellman parameters, so OpenSSL would never agree on one;
uvicorn's default, "TLSv1", also admits CBC suites with SHA-1. Python's server contexts refuse TLS below 1.2."""


class TlsUnusable(ValueError):
    """The certificate or key cannot serve TLS; the message says which and why."""


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's TLS options when the settings name a certificate and key, after loading them once here: a
    file that cannot be read, a key that is not the certificate's or one encrypted with a pass phrase is an error at
    start rather than in every worker."""
    if settings.tls_certfile is None or settings.tls_keyfile is None:
        return {}
    check_tls_files(settings.tls_certfile, settings.tls_keyfile)
    return {"ssl_certfile": str(settings.tls_certfile), "ssl_keyfile": str(settings.tls_keyfile), "ssl_ciphers": TLS_CIPHERS}


def check_tls_files(certfile: Path, keyfile: Path) -> None:
    """Raise TlsUnusable unless the certificate and key load as each worker will load them."""
    unusable = f"cannot serve TLS with {certfile} and {keyfile}"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers(TLS_CIPHERS)
    try:
        # "BEGIN ENCRYPTED PRIVATE KEY" (PKCS#8) or "Proc-Type: 4,ENCRYPTED": OpenSSL would ask for the pass phrase
        # on the terminal, here and in every worker, or fail without one with "Invalid argument".
        read_at_most(certfile)  # OpenSSL would read an endless file (/dev/zero) until the memory runs out
        if b"ENCRYPTED" in read_at_most(keyfile):
            raise TlsUnusable(f"{unusable}: the private key is encrypted; give samlfed an unencrypted key file that only its user can read")
        context.load_cert_chain(certfile, keyfile, password=lambda: b"")
    except OSError as exc:  # ssl.SSLError is one too
        reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
        raise TlsUnusable(f"{unusable}: {reason}") from None


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy-header options, from the settings only: uvicorn otherwise believes X-Forwarded-For and
    X-Forwarded-Proto from 127.0.0.1 (or its FORWARDED_ALLOW_IPS variable), which would let any local process choose
    the aws:SourceIp and aws:SecureTransport that policies see."""
    trusted = list(settings.forwarded_allow_ips)
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}


def build_server_app(settings: Settings, ctx: ServiceContext | None = None) -> QueryApi | MetricsApp:
    """The API, the console sign-in pages, the built-in IdP at /idp and /metrics when the settings ask for them."""
    ctx = ctx or build_context(settings)
    outages = OutageLog(logging.getLogger("samlfed.api"))
    routes: list[BaseRoute] = [*ConsoleRoutes(ctx, settings).routes(), *authz_routes(ctx, outages)]
    if settings.with_idp:
        from .idp.mount import idp_app

        routes.insert(0, Mount("/idp", app=idp_app(settings, ctx.forwarding)))
    app = build_app(ctx, routes, outages)
    return MetricsApp(app) if settings.metrics else app


MAX_REQUEST_HEAD_BYTES = 256 * 1024
"""The request line and headers: room for the longest URL httptools parses (64 KiB) and the largest session token."""
REQUEST_READ_SECONDS = 30
"""How long a connection may take to deliver a whole request (head and body), counted from when the server began
waiting for it (the connection opened, or the previous answer went out). uvicorn sets no such bound: a client that
sent nothing, or a byte now and then, held its connection for ever, and enough of them exhausted the worker's files.
30 s carries the largest body (1 MiB, a policy document at its limit) at 35 KB/s, and any body a SAML client
sends (under 140 KB) at under 5 KB/s."""
STALL_GRACE_SECONDS = 1.0
"""How long a connection may still deliver its next request after the worker's event loop was held (a request's
inline database wait, up to PostgreSQL's answer bound) past its keep-alive timeout or read deadline. Those timers run
when the stall ends, just as clients, whose answers come then, reuse their idle connections: closed at once, every
such connection of a pooled client failed under its request."""
LATE_TIMER_SECONDS = 0.1
"""A timer that runs later than this after it fell due was held up by the loop, not merely queued behind requests."""
WORKER_HEALTHCHECK_SECONDS = 30
"""How long `serve --workers N` lets a worker take to answer the supervisor's ping before killing it. uvicorn's 5 s
killed workers still starting on a busy machine (spawned, they import everything first), and the port then refused
connections until their replacements came up."""
SHUTDOWN_GRACE_SECONDS = 10
"""On SIGTERM or Ctrl-C, how long requests in flight may take to finish; uvicorn's default waits for ever, so a
client that stops sending halfway through a body kept the process from ending."""


class _HeadTooLong(Exception):
    """Raised in a parser callback to stop parsing a head over the bound."""


class _BoundedParser(httptools.HttpRequestParser):
    """httptools' parser, letting _HeadTooLong through: uvicorn answers every parser error with a 400 and a warning
    that the request was invalid."""

    def feed_data(self, data: bytes | bytearray | memoryview | array[int]) -> None:
        try:
            super().feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadTooLong):  # httptools chains the callback's exception this way
                raise exc.__context__ from None
            raise


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the request head, and on the time a request takes to arrive
    (REQUEST_READ_SECONDS; past it the connection closes). httptools sets no bound on the head: one client sending an
    endless header grew the worker by every byte it sent. A longer head gets 431 and the connection closes; so do the
    trailers of a chunked body (headers after its last chunk), which uvicorn kept as they came, with the same bound.

    The head is measured as the parser reports it, request line and header fields written out as `METHOD URL
    HTTP/1.1`, `Name: value` and CRLFs (the bytes sent, in the usual formatting, however the head is split across
    reads), and as the reads that held nothing but head, which bounds a header still arriving to one read past the
    limit. Counting whole reads alone missed the read that completed the head: a 263 KB head in two reads passed."""

    _in_head = False
    _head_bytes = 0
    _head_reads = 0
    _in_message = False
    _waiting_since: float | None = None
    """`loop.time()` when the server began waiting for the request now arriving; None while one is being answered."""
    _deadline_check: asyncio.Handle | None = None
    _deadline_check_due = 0.0
    """`loop.time()` the check was scheduled for. Kept here, not read from the handle: uvloop hands back a plain
    Handle, without `when()`, for a delay that rounds to 0 ms."""
    _deadline_graced = False
    """The current wait's deadline was found past after a stall of the loop, and extended by STALL_GRACE_SECONDS."""
    _closed_unlogged = 0
    """Connections this process closed at the deadline since the last line that said so."""
    _closed_logged_at = float("-inf")
    _tail_bytes = 0
    """Bytes of the current body's reads since its last body bytes: chunk-size lines and trailers, bounded as a head."""
    _body_moved = False
    """The read being parsed delivered body bytes (or began a message)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser = _BoundedParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)  # as uvicorn sets its own parser

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._waiting_since = None
        if self._deadline_check is not None:
            self._deadline_check.cancel()
            self._deadline_check = None
        super().connection_lost(exc)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._waiting_since = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():  # the next request: idle (uvicorn's keep-alive bound), then its bytes
            self._start_waiting()

    def _start_waiting(self) -> None:
        """Note when the wait began. One check per connection, not a timer armed and cancelled for every request:
        a check scheduled for an earlier wait moves itself to this one's deadline when it fires."""
        self._waiting_since = self.loop.time()
        self._deadline_graced = False
        if self._deadline_check is None:
            self._schedule_check(self._waiting_since + REQUEST_READ_SECONDS)

    def _schedule_check(self, due: float) -> None:
        self._deadline_check = self.loop.call_at(due, self._check_deadline)
        self._deadline_check_due = due

    def _check_deadline(self) -> None:
        check, self._deadline_check = self._deadline_check, None
        since = self._waiting_since
        if since is None:
            return  # a whole request is being answered; its answer starts the next wait
        due = since + REQUEST_READ_SECONDS
        if self.loop.time() < due:  # this wait began after the check was scheduled
            self._schedule_check(due)
            return
        if check is not None and not self._deadline_graced and self._held_up(self._deadline_check_due):
            self._deadline_graced = True  # once per wait: a loop held again and again must not keep a slow client on
            self._schedule_check(self.loop.time() + STALL_GRACE_SECONDS)
            return
        if not self._in_message and self.cycle is not None and not self.cycle.response_complete:
            return  # a whole request (pipelined behind the one answered) is being answered; its answer starts the next wait
        if not self.transport.is_closing():
            self.transport.close()  # an app still reading the body sees the client leave
            self._count_closed_connection()

    def timeout_keep_alive_handler(self) -> None:
        timer = self.timeout_keep_alive_task
        when = getattr(timer, "when", None)  # uvicorn's timer; a plain Handle (see _deadline_check_due) was not late
        if when is not None and self._held_up(when()):  # data_received cancels the grace as it cancels the timeout
            self.timeout_keep_alive_task = self.loop.call_later(STALL_GRACE_SECONDS, super().timeout_keep_alive_handler)
            return
        super().timeout_keep_alive_handler()

    def _held_up(self, due: float) -> bool:
        """Whether a timer due at `due`, now running, fell due while the loop was held: the connection gets
        STALL_GRACE_SECONDS."""
        return self.loop.time() - due > LATE_TIMER_SECONDS

    @classmethod
    def _count_closed_connection(cls) -> None:
        """One INFO line a minute at most, with how many were closed: a line each let anyone grow the log at will."""
        cls._closed_unlogged += 1
        now = time.monotonic()
        if now - cls._closed_logged_at >= 60:
            logging.getLogger("uvicorn.error").info(
                "Closed %d connection(s) that delivered no whole request within %d s.", cls._closed_unlogged, REQUEST_READ_SECONDS,
            )
            cls._closed_unlogged, cls._closed_logged_at = 0, now

    def data_received(self, data: bytes) -> None:
        whole = self._in_head  # the message began in an earlier read: if the head does not end here, all of it is head
        tail = self._in_message and not self._in_head  # the body began in an earlier read
        self._body_moved = False
        try:
            super().data_received(data)
        except _HeadTooLong:
            self._refuse_head()
            return
        if whole and self._in_head and not self.transport.is_closing():
            self._head_reads += len(data)
            if self._head_reads > MAX_REQUEST_HEAD_BYTES:
                self._refuse_head()
        elif tail and not self._body_moved and self._in_message and not self.transport.is_closing():
            # A read of the body that held no body bytes: chunk-size lines, or the trailer section after the last
            # chunk, which httptools hands over as headers and uvicorn kept, without bound, for as long as it came.
            self._tail_bytes += len(data)
            if self._tail_bytes > MAX_REQUEST_HEAD_BYTES:
                self._refuse_head()

    def _unsupported_upgrade_warning(self) -> None:
        """uvicorn's two WARNINGs for every request asking to upgrade (WebSocket, h2c), the second advising to install
        a WebSocket library: anyone could fill the log with them. The request is answered as plain HTTP/1.1, which
        RFC 9110 allows; nothing is wrong on the server's side."""
        self.logger.debug("Upgrade request answered without upgrading.")

    def on_body(self, body: bytes) -> None:
        self._body_moved, self._tail_bytes = True, 0
        super().on_body(body)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._head_reads, self._tail_bytes = True, 0, 0, 0
        self._body_moved = True  # this read is the new message's: its bytes were counted as head, if at all
        self._in_message = True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if self._in_head:  # not a chunked body's trailer
            self._count_head(len(name) + len(value) + 4)  # ": " and CRLF

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._count_head(len(self.parser.get_method()) + len(b"  HTTP/1.1\r\n\r\n"))  # before the request starts
        super().on_headers_complete()

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_REQUEST_HEAD_BYTES:
            raise _HeadTooLong

    def _refuse_head(self) -> None:
        self.logger.warning("Request head over %d bytes refused.", MAX_REQUEST_HEAD_BYTES)
        if not self._in_head and self.cycle is not None and self.cycle.response_started:  # trailers after an early answer
            self.transport.close()
            return
        body = b"Request Header Fields Too Large"
        defaults = b"".join(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
        head = b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n" + defaults + head + body)
        self.transport.close()


def create_app() -> QueryApi | MetricsApp:
    """ASGI factory for uvicorn workers: the settings come from the environment."""
    from .idp.keys import KeysUnavailable

    settings = Settings.from_env()
    configure_logging(settings.log_format)
    stop_with_supervisor()
    try:
        return build_server_app(settings)
    except (StoreUnavailable, KeysUnavailable) as exc:
        # A worker started after `serve` checked the store and the IdP's keys (replacing one that died, or at SIGHUP)
        # finds them unusable: one line in the log's format, where multiprocessing printed a raw traceback. Not
        # uvicorn's start-up failure status (3), which would stop the supervisor and the workers still serving; it
        # starts another.
        logging.getLogger("samlfed").error("This worker cannot start: %s", exc)
        raise SystemExit(1) from None


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def stop_with_supervisor() -> None:
    """In a worker of `serve --workers N`: be sent SIGTERM (a graceful stop) when the supervisor process dies.

    A supervisor killed outright (SIGKILL, the OOM killer) cannot stop its workers, and they served on, holding
    the port, so that a restarted `serve` could not bind it. Linux lets a process ask for a signal when its
    parent dies; elsewhere workers keep uvicorn's behaviour. uvicorn spawns every worker from its main thread,
    whose exit is the process's: the signal never comes early."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        logging.getLogger("samlfed").warning("This worker will not stop with its supervisor: prctl failed (%s).", os.strerror(ctypes.get_errno()))
        return
    if os.getppid() != parent.pid:  # the supervisor died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)

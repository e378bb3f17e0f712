"""What every `samlfed` sub-command shares: exit codes, the usage-error exit, prompts that end cleanly."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from .terminal_text import one_line, visible

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .config import Settings
    from .context import ServiceContext

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as shells report a command ended by Ctrl-C."""
ForwardedAllowIps = Annotated[str | None, typer.Option(
    "--forwarded-allow-ips",
    help="reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: IPs or CIDRs, comma-separated; default none (SAMLFED_FORWARDED_ALLOW_IPS)",
)]
LogFormat = Annotated[str | None, typer.Option(
    "--log-format", help="text (default) or json: one JSON object per log line, for a SIEM (SAMLFED_LOG_FORMAT)",
)]


def directory_path(text: str) -> Path:
    """A directory option's value: an empty one is refused, since Path("") is the working directory, where samlfed
    would then make its database and keys without having been told to (an empty SAMLFED_* variable counts as unset)."""
    if not text:
        raise typer.BadParameter("is empty: name a directory, or leave the option out")
    return Path(text)


JsonOutput = Annotated[bool, typer.Option("--json", help="print one JSON object")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (SQLite database and master key) (SAMLFED_DATA_DIR)", parser=directory_path, metavar="<path>")]
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="e.g. postgresql+psycopg://user@host/db (SAMLFED_DATABASE_URL)")]


class UsageExit(typer.Exit):
    """The exit (code 2) of a usage error whose message is on stderr already; `message` for a command that says it
    in its --json output too."""

    def __init__(self, message: str) -> None:
        super().__init__(EXIT_USAGE)
        self.message = message


def usage_error(message: str) -> UsageExit:
    """Print `message` to stderr and return the exit to raise (code 2). Messages repeat what was typed or pasted (an
    account ID or alias, an ARN, a key ID, a path, the API's refusal quoting a value), which must not drive the terminal
    or print lines of its own: control characters and line breaks are escaped, as refused catalogue names are. The
    exit's `message` keeps them for --json output, which escapes them itself."""
    Console(stderr=True, soft_wrap=True).print(f"samlfed: {one_line(visible(message))}", highlight=False, markup=False)
    return UsageExit(message)


class ReaderMayLeave(TyperGroup):
    """The group of administrator commands whose reader of standard output may go away (`samlfed accounts list |
    head -1`, a log pipe that died): the command then ends as it would have. click's own answer, exit 1 without a
    word, said that a key rotation, a retirement or a provider change that was made had failed; a listing its reader
    stopped early is no failure either, as with `backup` and `doctor`. A command that prints a new secret undoes what
    it made itself before this sees the error (print_secret_or_undo). These commands write to no socket of their own
    (the database drivers raise their own errors), so the broken pipe is standard output's."""

    def invoke(self, ctx: Any) -> Any:  # typer's own copy of click.Context, which typer does not export
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # stdout goes to /dev/null so that the interpreter's last flush at exit does not fail on the pipe again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return None


def password_from_stdin(refuse: Callable[[str], typer.Exit]) -> str:
    """--password-stdin: the first line of standard input, without its line ending, and nothing more of it. An empty
    line is refused through `refuse`, which says what it means to the command: a usage error (2) for `idp users`,
    a sign-in that cannot start (1) for `login`."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise refuse("--password-stdin: the first line of standard input is empty")
    return password


def require_output() -> None:
    """Before a command makes a secret it prints once: with standard output closed (>&-) typer prints nothing and the
    command succeeded, leaving a working key whose secret no one ever saw."""
    if sys.stdout is None:
        raise usage_error("standard output is closed: the new secret would be shown to no one; nothing was done")


def print_secret_or_undo(text: str, *, made: str, undo: Callable[[], object], still_works: str) -> None:
    """Print what holds a new secret. When standard output refuses it (a full disk, a reader that went away), undo
    what was made: a working credential whose secret no one saw must not stay behind. If the undoing fails too, say
    which credential still works and how to remove it."""
    try:
        typer.echo(text)
    except OSError as exc:
        reason = exc.strerror or exc
        try:
            undo()
        except Exception:  # whatever stopped the undoing, the operator must hear what still works
            raise usage_error(f"cannot write the new secret to standard output ({reason}), and {made} could not be removed again: {still_works}") from None
        raise usage_error(f"cannot write the new secret to standard output ({reason}); {made} was removed again, nothing was kept") from None


@contextmanager
def prompting() -> Iterator[None]:
    """Around prompts: Ctrl-C ends the command with "Aborted!" and exit 130, the end of input with exit 1 and a line
    that says so (a script piping too few answers, a command run without a terminal).

    click.prompt turns both into click's Abort, which typer's own error handling does not know (typer vendors
    its own copy of click), so it would escape as a traceback. The KeyboardInterrupt or EOFError behind it is
    the Abort's __context__.
    """
    try:
        yield
    except (click.exceptions.Abort, typer.Abort) as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            typer.echo("\nAborted!", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        typer.echo("\nsamlfed: the input ended before the answer to the question above; nothing was done", err=True)
        raise typer.Exit(EXIT_INVALID) from None


def settings_or_exit(**values: object) -> Settings:
    """`Settings.from_env(**values)`, or a usage error naming the bad setting and where it came from."""
    from .config import Settings

    try:
        return Settings.from_env(**values)  # type: ignore[arg-type]
    except (OSError, ValueError) as exc:
        raise usage_error(f"cannot read the settings: {exc}") from None


OWN_STORE_ENVIRONMENT = ("log_format", "forwarded_allow_ips")
"""What `samlfed demo` takes from SAMLFED_* variables; all else comes from its options."""


def option_settings_or_exit(**values: object) -> Settings:
    """`Settings.from_options(**values)` with OWN_STORE_ENVIRONMENT, or a usage error as settings_or_exit gives."""
    from .config import Settings

    try:
        return Settings.from_options(environment=OWN_STORE_ENVIRONMENT, **values)
    except (OSError, ValueError) as exc:
        raise usage_error(f"cannot read the settings: {exc}") from None


def check_port_free(host: str, port: int) -> None:
    """A usage error now when the address is taken, rather than uvicorn's, which comes after the start-up work (and
    its "Application startup complete") and exits with 3. Bound as uvicorn binds: IPv6 for a host with a colon,
    SO_REUSEADDR (a port left in TIME_WAIT is free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise usage_error(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        except (TypeError, UnicodeError):  # a host whose bytes are not UTF-8 text: "encoding of hostname failed"
            raise usage_error(f"cannot listen on {host!r}: it is not a host name or address") from None


class _StderrLines(logging.Handler):
    """`samlfed: message` on the stderr of the moment (a test runner swaps it between commands)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"samlfed: {self.format(record)}\n")


def _say_what_the_store_does() -> None:
    """A command other than the servers configures no logging, and Python then drops INFO lines: the schema upgrade
    that any command runs on old data would go unsaid (operations.md promises it is logged). The servers configure
    the `samlfed` logger first: a second handler would say each line twice, once in plain text amid `json` lines."""
    store_log = logging.getLogger("samlfed.store")
    if store_log.hasHandlers():  # its own, its ancestors' (the servers'), the root's
        return
    store_log.addHandler(_StderrLines())
    store_log.setLevel(logging.INFO)


def context_or_exit(settings: Settings) -> ServiceContext:
    """The service context, or a usage error saying why the store cannot be opened (unreachable database, a
    master key that does not match it, a data directory that is a file, …)."""
    from .server import build_context
    from .store import StoreUnavailable

    _say_what_the_store_does()

    try:
        return build_context(settings)
    except StoreUnavailable as exc:
        raise usage_error(str(exc)) from None


def sound_ring_or_exit(ctx: ServiceContext) -> ServiceContext:
    """`ctx`, or a usage error naming the stored ring keys the master key does not unseal (damaged rows): while one is
    stored no session token can be issued or checked, and a server started so answered every STS call with a 500."""
    from .sts.ring_keys import active_key_id

    damaged = ctx.damaged_ring_keys()
    if damaged:
        # The active key cannot be retired: a new one must take its place first.
        rotate = ["samlfed keys rotate"] if active_key_id(ctx.store.list_server_keys()) in damaged else []
        steps = "; ".join([*rotate, *(f"samlfed keys retire {key_id} --force" for key_id in damaged)])
        raise usage_error(
            f"server key {', '.join(damaged)} of the session key ring does not unseal (corrupted data): no session token "
            f"can be issued or checked while it is stored; remove it with: {steps}"
        )
    return ctx


def store_context(data_dir: Path | None, database_url: str | None, *, create: bool = False, **more: object) -> ServiceContext:
    """The store of these options (and `more` settings, e.g. config, public_url). Only `create` may make a new
    one: a mistyped --data-dir must not turn into a fresh, empty store in which keys rotate or accounts are listed as
    if nothing were wrong."""
    from .server import database_missing

    settings = settings_or_exit(data_dir=data_dir, database_url=database_url, **more)
    if not create and settings.database_url is None and settings.data_dir is not None and (missing := database_missing(settings.data_dir)):
        if (settings.data_dir / "master.key").exists():  # what serve and `accounts create` would refuse: say the same
            raise usage_error(f"{settings.data_dir} holds master.key but {missing}: restore the database from your backup (or, to start afresh, remove master.key)")
        raise usage_error(f"no samlfed data in {settings.data_dir}; create it with: samlfed accounts create --data-dir {settings.data_dir}")
    if not create and settings.database_url is not None:
        _require_schema(settings.database_url)
    return context_or_exit(settings)


def _require_schema(url: str) -> None:
    """The same refusal for a database that holds no samlfed schema (a mistyped database name): opening the store
    would create the schema there."""
    from .store import SqlStore, StoreUnavailable
    from .store.sql import shown_url

    try:
        found = SqlStore.holds_schema(url)
    except StoreUnavailable as exc:
        raise usage_error(str(exc)) from None
    if not found:
        shown = shown_url(url)
        raise usage_error(f"no samlfed data in the database {shown}; create it with: samlfed accounts create --database-url {shown}")


def instant_or_exit(value: str | None, *, earliest: datetime, latest: datetime) -> datetime:
    """--now: an ISO 8601 instant with a time zone from `earliest` to `latest` (now when not given), or a usage error.
    An instant outside Python's calendar once in UTC (9999-12-31T23:59:59-14:00) is out of range too, not malformed."""
    from .saml.timeutil import InstantOutOfRange, parse_xs_datetime, xs_datetime_text

    if value is None:
        return datetime.now(UTC)
    try:
        moment = parse_xs_datetime(value)
    except InstantOutOfRange:
        moment = None
    except ValueError:
        raise usage_error(f"--now {value!r} is not an ISO 8601 instant with a time zone (e.g. 2026-01-31T12:00:00Z)") from None
    if moment is None or not earliest <= moment <= latest:
        shown = [xs_datetime_text(end.replace(microsecond=0)) for end in (earliest, latest)]
        raise usage_error(f"--now {value} is out of range: give an instant from {shown[0]} to {shown[1]}")
    return moment


def idp_app_or_exit(settings: Settings) -> Starlette:
    """The built-in IdP's app, its files made on a first start; or a usage error saying which of them it cannot use
    (its directory, signing keys, session secret). Called before serving, so that a worker does not die on it with a
    traceback (with --workers N, the supervisor started workers that died so for ever)."""
    from .idp.keys import KeysUnavailable
    from .idp.mount import idp_app

    try:
        return idp_app(settings)
    except KeysUnavailable as exc:
        raise usage_error(str(exc)) from None
    except OSError as exc:  # the directory a file, say
        raise usage_error(f"cannot use the IdP directory {settings.idp_directory()}: {exc.strerror or exc}") from None


def warn_of_loose_modes(settings: Settings, *, idp: bool) -> None:
    """A secret readable by other local users is worth a WARNING at every start: the master key opens every
    administrator secret and ring key the database holds, the TLS key impersonates the server, and (with `idp`) the
    built-in IdP's keys sign any assertion and its directory holds password hashes and TOTP secrets."""
    import logging

    from .files import open_to_others

    secrets = [settings.tls_keyfile] if settings.tls_keyfile else []
    if settings.data_dir is not None and not settings.database_url:
        secrets += [settings.data_dir / name for name in ("master.key", "samlfed.db", "samlfed.db-wal")]
    if idp:
        from .idp.mount import secret_files

        secrets += secret_files(settings.idp_directory())
    for loose in open_to_others(secrets):
        logging.getLogger("samlfed.server").warning("%s is open to other users: make it owner-only (chmod 600)", loose)

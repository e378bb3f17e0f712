"""The store on SQLAlchemy Core: SQLite (WAL, under a data directory) by default, PostgreSQL for several nodes.

Every public method is one transaction: it commits whole or not at all, so a failure midway leaves no
half-created role or provider.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Concatenate, ParamSpec, TypeVar

from alembic.util.exc import CommandError
from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    make_url,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Row
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.schema import Table
from sqlalchemy.sql import ColumnElement, Executable

from ..timestamps import MAX_CLOCK_SKEW
from . import schema as t
from .database_file import DatabaseFile
from .generation import IdentityGeneration
from .locking import SQLITE_BUSY_TIMEOUT_MS, exclusive, hold_ring_lock, sqlite_busy_timeout
from .migrate import NewerSchema, upgrade
from .records import (
    AWS_MANAGED,
    AccessKey,
    Account,
    AlreadyExists,
    AlreadyRedeemed,
    Conflict,
    DatabaseUnavailable,
    InlinePoliciesLeft,
    LimitReached,
    ManagedPolicy,
    NoSuchPolicyVersion,
    NoSuchPrivateKey,
    NotFound,
    PolicyVersion,
    PolicyVersionsLeft,
    ProviderPrivateKey,
    Redemption,
    Role,
    RoleGrants,
    RoleLastUsed,
    SamlProvider,
    SamlProviderSummary,
    ServerKey,
    StoreUnavailable,
    Tag,
)

P = ParamSpec("P")
R = TypeVar("R")


EXPIRED_SWEEP_BATCH = 500
"""How many expired rows (redeemed assertions, console sessions) one insert deletes at most on its way: after a quiet
period the first sign-in deleted the whole backlog in its own transaction, holding SQLite's write lock for as long;
bounded, the backlog drains over the next inserts, each deleting up to this many (far more than it adds)."""

# Hot lookups, built once: constructing a statement costs more than running it on SQLite.
_PROVIDER_BY_ARN = select(t.saml_providers).where(t.saml_providers.c.arn == bindparam("arn"))
_ROLE_BY_NAME = select(t.roles).where(and_(t.roles.c.account_id == bindparam("account_id"), t.roles.c.name_lower == bindparam("name_lower")))
_ACCESS_KEY_BY_ID = select(t.access_keys).where(t.access_keys.c.access_key_id == bindparam("access_key_id"))
_ROLE_TAGS = (
    select(t.role_tags)
    .where(and_(t.role_tags.c.account_id == bindparam("account_id"), t.role_tags.c.role_name_lower == bindparam("role_name_lower")))
    .order_by(t.role_tags.c.key_lower)
)
_PROVIDER_KEYS = (
    select(t.provider_private_keys)
    .where(t.provider_private_keys.c.arn == bindparam("arn"))
    .order_by(t.provider_private_keys.c.created_at, t.provider_private_keys.c.key_id)
)
_PROVIDER_TAGS = (
    select(t.provider_tags).where(t.provider_tags.c.arn == bindparam("arn")).order_by(t.provider_tags.c.key_lower, t.provider_tags.c.key)
)
_POLICY_BY_ARN = select(t.managed_policies).where(t.managed_policies.c.arn == bindparam("arn"))
_POLICY_VERSIONS = (  # each version with its policy's default, read in one statement (one snapshot)
    select(t.policy_versions, t.managed_policies.c.default_version)
    .join(t.managed_policies, t.managed_policies.c.arn == t.policy_versions.c.arn)
    .where(t.policy_versions.c.arn == bindparam("arn"))
    .order_by(t.policy_versions.c.version_number.desc())
)
_POLICY_TAGS = select(t.policy_tags).where(t.policy_tags.c.arn == bindparam("arn")).order_by(t.policy_tags.c.key_lower, t.policy_tags.c.key)
_ROLE_LAST_USED = select(t.role_last_used).where(t.role_last_used.c.role_id == bindparam("role_id"))


@dataclass(frozen=True)
class _TagKeys:
    """How one owner kind's tag keys are told apart, said once for the limit, the upsert and the untag (IAM's
    tagging rules): a role's case-insensitively (`Team` replaces `team`, and its case is kept), a SAML provider's
    or a managed policy's exactly (`Team` and `team` are two tags)."""

    table: Table
    column: str
    """The column that holds a key's identity."""
    identity: Callable[[str], str]

    def held(self, rows: Iterable[Row[Any]]) -> set[str]:
        return {getattr(row, self.column) for row in rows}

    def of(self, keys: Iterable[str]) -> set[str]:
        return {self.identity(key) for key in keys}

    def among(self, keys: Iterable[str]) -> ColumnElement[bool]:
        return self.table.c[self.column].in_(sorted(self.of(keys)))


_ROLE_TAG_KEYS = _TagKeys(t.role_tags, "key_lower", lambda key: key.lower())
_PROVIDER_TAG_KEYS = _TagKeys(t.provider_tags, "key", lambda key: key)
_POLICY_TAG_KEYS = _TagKeys(t.policy_tags, "key", lambda key: key)


def _role_use_upsert(dialect: ModuleType) -> Executable:
    """Insert a role's last use, or move the recorded one forward: one statement, so that nodes recording the same
    role at once neither collide nor need a lock. A use older than the recorded one (a node that wrote late)
    changes nothing."""
    table = t.role_last_used
    statement = dialect.insert(table).values(role_id=bindparam("role_id"), last_used_date=bindparam("used_at"), region=bindparam("region"))
    newer = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.role_id],
        set_={"last_used_date": newer.last_used_date, "region": newer.region},
        where=table.c.last_used_date < newer.last_used_date,
    )


_ROLE_USE_UPSERTS = {"sqlite": _role_use_upsert(sqlite), "postgresql": _role_use_upsert(postgresql)}


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; everything stored is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _aware_or_none(moment: datetime | None) -> datetime | None:
    """`_aware` for a nullable column."""
    return None if moment is None else _aware(moment)


def _principal_ids_text(ids: tuple[tuple[str, str], ...] | None) -> str | None:
    return None if ids is None else json.dumps(dict(ids), sort_keys=True)


def _redemption(issuer: str, assertion_id: str, role_arn: str) -> str:
    """The key a use of (issuer, assertion, role) is recorded under."""
    return hashlib.sha256("\x00".join((issuer, assertion_id, role_arn)).encode()).hexdigest()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # first: switching to WAL needs a lock another process may hold
    cursor.execute("PRAGMA foreign_keys=ON")
    _switch_to_wal(cursor)
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Processes opening a fresh database file together (workers, nodes, CLI calls) each switch it to WAL, which
    needs the file to itself: SQLite answers some of them "database is locked" at once, without the busy wait (it
    does not wait where waiting could deadlock). Once one has switched, asking again is a read; so ask again, every
    10 ms, for as long as a statement would wait."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _store_url(url: str) -> URL:
    """`url` parsed; ValueError, in words that quote none of it, when a password holding an '@' or ':' that is not
    percent-encoded spills into the host or port (SQLAlchemy's and libpq's own errors would quote its rest)."""
    try:
        parsed = make_url(url)
    except ValueError:  # "invalid literal for int() with base 10: 'REST-OF-PASSWORD@host:5432'"
        raise ValueError("its port is not a number (an '@' or ':' in the password must be written %40 or %3A)") from None
    if "@" in (parsed.host or ""):
        raise ValueError("the user name or password holds an '@' that is not percent-encoded: write it as %40")
    return parsed


def create_store_engine(url: str) -> Engine:
    """hide_parameters: a database error that reaches a log must not quote the values bound to its statement
    (sealed secrets, token hashes, policy documents)."""
    _store_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, hide_parameters=True)  # a local file: no connection can go stale, so no ping per checkout
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    from samlfed.store import postgres_answers  # imports psycopg: only here, on the PostgreSQL path

    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=_postgres_connection_defaults(url))
    settings = {**_postgres_statement_bounds(url), **POSTGRES_SESSION_SETTINGS}

    def prepare_session(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        postgres_answers.settle_session(dbapi_connection, settings)

    watch = postgres_answers.AnswerWatch()
    event.listen(engine, "do_connect", lambda _dialect, _record, cargs, cparams: watch.connect(cargs, cparams))
    event.listen(engine, "connect", prepare_session)
    event.listen(engine, "engine_disposed", lambda _engine: watch.reset())
    return engine


SKIPPABLE_WRITE_WAIT_MS = 50
"""How long a write that may be skipped (a role's last use) waits for a lock held elsewhere. It rides on a sign-in,
on the worker's event loop: waiting a statement's 5 s behind another process's write lock stalled every request of
the worker, GetCallerIdentity and health probes too, once per retry."""


@contextmanager
def _short_lock_wait(db: Connection) -> Iterator[None]:
    """SKIPPABLE_WRITE_WAIT_MS as this transaction's lock wait."""
    if db.dialect.name == "postgresql":
        db.exec_driver_sql(f"SET LOCAL lock_timeout = '{SKIPPABLE_WRITE_WAIT_MS}ms'")  # ends with the transaction
        yield
        return
    with sqlite_busy_timeout(db, SKIPPABLE_WRITE_WAIT_MS):
        yield


POSTGRES_STATEMENT_BOUNDS = {"lock_timeout": "5s", "statement_timeout": "30s"}
"""How long one statement may wait for a lock, and run at all, on PostgreSQL (whose defaults are for ever). Requests
call the database on the worker's event loop, so a statement stuck behind a lock (a migration's DDL, a stalled
transaction on another node) held every request of the worker, its health probes too, for as long as the lock.
5 s matches SQLite's busy timeout; the request then gets the retryable 503. The start-up lock lifts both for its
transaction (locking.py): a migration may take longer."""


POSTGRES_SESSION_SETTINGS = {"default_transaction_isolation": "read committed", "datestyle": "ISO"}
"""Settings samlfed is not correct without, set whatever the database, the role or the URL says.

default_transaction_isolation: the isolation every samlfed transaction runs at (reads that must agree ask for
REPEATABLE READ themselves: SqlStore._snapshot). Its checks read after taking a row lock, and must see the write
they waited for, which READ COMMITTED's snapshot per statement does: at the database's or role's default of
REPEATABLE READ or SERIALIZABLE (ALTER DATABASE … SET default_transaction_isolation) they read the snapshot from
before the wait, and two nodes each passed a limit or a name check, or one got a serialization failure (a 503).

datestyle: the form PostgreSQL sends dates in; psycopg parses ISO only, and under 'SQL, DMY' (or German, or Postgres)
every read of a row with a date failed with NotImplementedError: the store did not open, or requests got 500s."""


_OPTION_NAMES = re.compile(r"(?:^|\s)(?:-c\s*|--)([A-Za-z_][A-Za-z0-9_.-]*)\s*=")
"""The setting names of libpq's `options` (`-c name=value` or `--name=value`, as the server's command line takes
them; the server reads a dash in a name as an underscore)."""


def _postgres_statement_bounds(url: str) -> dict[str, str]:
    """POSTGRES_STATEMENT_BOUNDS but those the URL's `options` (`-c lock_timeout=…`) set itself."""
    options = make_url(url).query.get("options", "")
    text = " ".join(options) if isinstance(options, tuple) else options
    given = {name.lower().replace("-", "_") for name in _OPTION_NAMES.findall(text)}
    return {name: value for name, value in POSTGRES_STATEMENT_BOUNDS.items() if name not in given}


POSTGRES_CONNECTION_DEFAULTS = {
    "connect_timeout": "10",
    "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3",
    "tcp_user_timeout": "30000",
    "fallback_application_name": "samlfed",
    "client_encoding": "UTF8",
}
"""libpq settings that bound how long a vanished server (a failover, a firewall dropping the connection's state)
can hold a request or the readiness probe: without them a half-open connection waits for the kernel's TCP
retries, a quarter of an hour. Connecting gives up after 10 s, unacknowledged data after 30 s, an idle wait for
an answer after about a minute of unanswered keepalives. The application name tells samlfed's sessions apart in
pg_stat_activity (who holds a lock, who sits idle in a transaction); a fallback, so that PGAPPNAME or the URL's
application_name names a node instead. UTF8, whatever the database, the role or PGCLIENTENCODING says: psycopg
encodes text in the session's client encoding, and under LATIN1 a tag in Japanese failed (UnicodeEncodeError, a
500), under SQL_ASCII text came back as bytes."""


def _postgres_connection_defaults(url: str) -> dict[str, str]:
    """POSTGRES_CONNECTION_DEFAULTS, except what the database URL sets itself (connect_args would override it)."""
    given = make_url(url).query
    return {name: value for name, value in POSTGRES_CONNECTION_DEFAULTS.items() if name not in given}


def _access_key(row) -> AccessKey:  # type: ignore[no-untyped-def]
    return AccessKey(row.access_key_id, row.account_id, bytes(row.sealed_secret), row.active, _aware(row.created_at))


def _insert_access_key(db: Connection, key: AccessKey) -> None:
    db.execute(insert(t.access_keys).values(
        access_key_id=key.access_key_id, account_id=key.account_id, sealed_secret=key.sealed_secret, active=key.active, created_at=key.created_at,
    ))


def _insert_server_key(db: Connection, key: ServerKey) -> None:
    db.execute(insert(t.server_keys).values(key_id=key.key_id, sealed_key=key.sealed_key, active=key.active, created_at=key.created_at))


def _insert_provider_key(db: Connection, arn: str, key: ProviderPrivateKey) -> None:
    if not key.sealed_pem:
        raise ValueError(f"private key {key.key_id} comes without its sealed value")
    db.execute(insert(t.provider_private_keys).values(arn=arn, key_id=key.key_id, sealed_pem=key.sealed_pem, created_at=key.created_at))


def policy_size(document: str) -> int:
    """A policy's size as IAM counts it against its quotas: its characters other than whitespace."""
    return len(document) - sum(document.count(space) for space in " \t\r\n")


_VERSION_ID = re.compile(r"v([1-9][0-9]{0,8})", re.ASCII)
"""The version IDs this store hands out: "v" and the version's number (nine digits at most: an INTEGER holds it)."""


def _version_id(number: int) -> str:
    return f"v{number}"


def _version_number(version_id: str) -> int | None:
    """The number of version `version_id`; None for an ID no version has (the model also allows `v1.x` suffixes,
    which IAM never hands out)."""
    found = _VERSION_ID.fullmatch(version_id)
    return int(found[1]) if found else None


def _policy_version(row) -> PolicyVersion:  # type: ignore[no-untyped-def]
    """A row of _POLICY_VERSIONS."""
    return PolicyVersion(_version_id(row.version_number), row.document, row.version_number == row.default_version, _aware(row.created_at))


def _sweep_expired(db: Connection, table, key, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Delete up to EXPIRED_SWEEP_BATCH rows of `table` that expired before `now`: their keys read first (by the index
    on expires_at), then deleted by key, so that each database finds them by index (PostgreSQL planned a
    `key IN (subquery)` as a scan of the whole table). On PostgreSQL the batch skips rows another transaction is
    sweeping (SKIP LOCKED) rather than wait for it; SQLite renders no FOR UPDATE (its write lock serialises sweeps)."""
    expired = db.execute(select(key).where(table.c.expires_at < now).limit(EXPIRED_SWEEP_BATCH).with_for_update(skip_locked=True)).scalars().all()
    if expired:
        db.execute(delete(table).where(key.in_(expired)))


REPLAY_RECORD_MARGIN = MAX_CLOCK_SKEW
"""How long past its expiry a use stays recorded, and refused. Each node judges expiry by its own clock: a node
running ahead swept records that a node running behind still needed (its validator still accepting the
assertion), which let the assertion be used there again. Nodes whose clocks differ by no more than the skew the
validator allows for the IdP's clock agree on what is kept."""


def _record_uses(db: Connection, uses: Sequence[Redemption], now: datetime) -> None:
    """Insert a record of each use; AlreadyRedeemed at the first one already recorded, which rolls the caller's
    transaction back. An insert waits for another transaction's uncommitted record of the same use (two nodes at
    once): only one of them commits it."""
    if not uses:
        return
    table = t.redeemed_assertions
    kept_since = now - REPLAY_RECORD_MARGIN
    _sweep_expired(db, table, table.c.redemption, kept_since)
    for use in uses:
        redemption = _redemption(use.issuer, use.assertion_id, use.scope)
        # A record no longer kept never blocks this use, whether or not a sweep has reached it yet.
        db.execute(delete(table).where(and_(table.c.redemption == redemption, table.c.expires_at < kept_since)))
        record = _INSERTS[db.dialect.name](table).values(redemption=redemption, expires_at=use.expires_at).on_conflict_do_nothing()
        if db.execute(record.returning(table.c.redemption)).first() is None:  # rowcount: -1 on PostgreSQL (psycopg)
            raise AlreadyRedeemed(use)


def _grouped(rows: Iterable[Row[Any]], column: str) -> dict[Any, list[Row[Any]]]:
    """`rows` by their value of `column`, each group in the rows' order."""
    groups: defaultdict[Any, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, column)].append(row)
    return groups


def shown_url(url: str) -> str:
    """The URL without its passwords, for messages: the one before the host, and libpq's `password=` (or
    `sslpassword=`) query parameters, which SQLAlchemy's hide_password leaves as they are."""
    try:
        parsed = make_url(url)
        if "@" in (parsed.host or ""):  # a password with an '@' not percent-encoded: its rest was parsed as the host
            parsed = parsed.set(host=parsed.host.rpartition("@")[2] if parsed.host else None, password="***")
        hidden = {key: "***" for key in parsed.query if "password" in key.lower()}
        # rendering percent-encodes the stars of a query value; written as the userinfo password's are
        return parsed.update_query_dict(hidden).render_as_string(hide_password=True).replace("=%2A%2A%2A", "=***")
    except (SQLAlchemyError, ValueError):
        return "(a URL that does not parse)"


READ_ONLY_STATE = "25006"
REFUSING_STATES = frozenset({
    READ_ONLY_STATE,  # read_only_sql_transaction: a standby, or a primary made read-only (a failover in progress)
    "42501",  # insufficient_privilege: the service's role lost a grant
    "42P01",  # undefined_table: the schema is not (or no longer) what samlfed installed
    "42703",  # undefined_column: likewise
})
"""PostgreSQL errors (SQLSTATE) that say the database refuses samlfed's work rather than that samlfed erred: like a
failed connection (OperationalError) they are DatabaseUnavailable, answered with the retryable 503 and one log line
with the driver's reason, not a 500 with a traceback quoting the statement. psycopg raises them as InternalError
and ProgrammingError."""


SQLITE_DAMAGED = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)
"""SQLite errors that say the database file is damaged (truncated or overwritten under samlfed): pysqlite raises them as
DatabaseError, not OperationalError; they too are the database being unavailable, not a 500 with a traceback."""


def driver_reason(exc: BaseException) -> str:
    """The driver's own first line (SQLAlchemy's wrapper adds the statement and a link)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def _unstorable(key: str) -> bool:
    """A name or ARN no entity can have: it holds a NUL, which IAM's patterns refuse and PostgreSQL text cannot hold
    (a query naming one fails there). A lookup by one finds nothing on every backend, so that the caller's own
    validation answers with AWS's wording; the audit and authorization lookups run before it."""
    return "\x00" in key


def _path_starts_with(column, prefix: str):  # type: ignore[no-untyped-def]
    """`column` begins with `prefix`, compared exactly: LIKE is case-insensitive on SQLite (and AWS's PathPrefix is
    not), and both databases count substr in characters."""
    return func.substr(column, 1, len(prefix)) == prefix


_AWS_MANAGED_KEY_SUFFIX = " aws"
"""Appended to an AWS managed policy's lower-cased name in the listing order: an account may name a policy of its own as
an AWS managed one is named, and the two must not share a Marker. A space sorts before every character a name may hold,
so each AWS managed policy comes right after the account's policy of the same name."""


def policy_listing_key(policy: ManagedPolicy) -> str:
    """The order SqlStore.list_policies lists policies in, and what its `after` is compared with."""
    return policy.name.lower() + (_AWS_MANAGED_KEY_SUFFIX if policy.aws_managed else "")


def _write_lock(db: Connection) -> None:
    """SQLite: take the database's write lock now, not at the first write (pysqlite begins a transaction only
    there), so that the reads before it see what the write acts on. PostgreSQL locks rows instead (FOR UPDATE,
    which SQLite does not render)."""
    if db.dialect.name == "sqlite":
        db.exec_driver_sql("BEGIN IMMEDIATE")


def _hold_account(db: Connection, account_id: str) -> None:
    """Serialise this transaction with others that hold the same account, from here to commit, so that what it
    reads (is a name taken?) still holds when it writes. Other writes to the account do not wait."""
    _write_lock(db)
    _lock_account_row(db, account_id)


def _lock_account_row(db: Connection, account_id: str) -> None:
    """_hold_account's row lock, for a transaction that holds the SQLite write lock already."""
    db.execute(select(t.accounts.c.account_id).where(t.accounts.c.account_id == account_id).with_for_update(key_share=True))


_INSERTS: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
"""Each dialect's INSERT with ON CONFLICT clauses (SQLAlchemy's core insert has none)."""


def _lock_by_arn(db: Connection, table, arn: str):  # type: ignore[no-untyped-def]
    """Hold the row of `table` named `arn` until commit (the SQLite write lock, or FOR UPDATE), before reading what
    depends on it, and return it; NotFound(arn) when there is none."""
    _write_lock(db)
    row = db.execute(select(table).where(table.c.arn == arn).with_for_update()).first()
    if row is None:
        raise NotFound(arn)
    return row


def _refuse_while_used(db: Connection, arn: str) -> None:
    """Conflict while a role has the managed policy `arn` attached or as its permissions boundary (read after the
    policy's row is locked, so that an attach or boundary that holds it meanwhile is seen)."""
    if db.execute(select(t.role_policy_attachments).where(t.role_policy_attachments.c.policy_arn == arn).limit(1)).first():
        raise Conflict(f"policy {arn} is attached")
    if db.execute(select(t.roles.c.role_id).where(t.roles.c.permissions_boundary == arn).limit(1)).first():
        raise Conflict(f"policy {arn} is a permissions boundary")


def _hold_policy(db: Connection, account_id: str, arn: str) -> None:
    """Hold the managed policy `arn`, the account's or an AWS managed one, until commit (FOR SHARE: others may hold it
    too, delete_policy waits); NotFound(arn) when the account cannot use such a policy."""
    policies = t.managed_policies.c
    usable = and_(policies.arn == arn, policies.account_id.in_([account_id, AWS_MANAGED]))
    if db.execute(select(policies.arn).where(usable).with_for_update(read=True)).first() is None:
        raise NotFound(arn)


def _changes_identities(method: Callable[Concatenate[SqlStore, P], R]) -> Callable[Concatenate[SqlStore, P], R]:
    """Marks a write to providers or roles: it bumps `identity_changes`, which voids ReadCache copies."""

    @functools.wraps(method)
    def write(store: SqlStore, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(store, *args, **kwargs)
        finally:
            store.identity_changes.bump()  # also after a failure: the count need only move, never stand still

    return write


def _within_limit(db: Connection, table, account_id: str, limit: int | None) -> None:  # type: ignore[no-untyped-def]
    """Refuse one more than `limit` (None: no limit) of the account's entities in `table`. Counted in the
    transaction that inserts, after _hold_account, so that racing creates count one after the other instead of
    both passing a count taken before either inserted."""
    if limit is not None and db.execute(select(func.count()).select_from(table).where(table.c.account_id == account_id)).scalar_one() >= limit:
        raise LimitReached(f"{table.name} of {account_id}")


def _within_tag_limit(held: set[str], added: set[str], limit: int | None, what: str) -> None:
    """Refuse tags that would leave more than `limit` (None: no limit) keys, given the keys `held` now and those
    `added`, each as the owner tells keys apart. Read under the owner's row lock, so that racing TagX calls count
    one after the other."""
    if limit is not None and len(held | added) > limit:
        raise LimitReached(f"tags of {what}")


_IN_LIST_CHUNK = 500  # values bound in one IN (…): far below SQLite's variable limit (32,766; 999 before 3.32)
_RACE_ATTEMPTS = 3


def _rerun_on_race(method: Callable[Concatenate[SqlStore, P], R]) -> Callable[Concatenate[SqlStore, P], R]:
    """Marks a write that reads, then writes what the read allowed. A concurrent request can change those rows in
    between (delete the role, insert the same row), and the database then refuses the write (IntegrityError).
    Running the transaction again reads the new state: NotFound, Conflict, or a write that now fits."""

    @functools.wraps(method)
    def write(store: SqlStore, *args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(_RACE_ATTEMPTS - 1):
            try:
                return method(store, *args, **kwargs)
            except IntegrityError:
                continue
        return method(store, *args, **kwargs)

    return write


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file = DatabaseFile.of(engine)
        self.identity_changes: IdentityGeneration = IdentityGeneration()
        """Counts the writes to providers and roles: this process's, or its node's workers' (generation.py)."""

    @classmethod
    def open(cls, url: str) -> SqlStore:
        """Connect and bring the schema up to date; StoreUnavailable when the database cannot be used."""
        engine: Engine | None = None
        try:
            engine = create_store_engine(url)
            upgrade(engine)
        except (SQLAlchemyError, CommandError, NewerSchema, OSError, ImportError, ValueError) as exc:
            if engine is not None:
                engine.dispose()
            raise StoreUnavailable(f"cannot open the database {shown_url(url)}: {driver_reason(exc)}") from exc
        return cls(engine)

    @staticmethod
    def holds_schema(url: str) -> bool:
        """Whether the database at `url` has samlfed's schema (a migration ran there), read without creating anything;
        StoreUnavailable when it cannot be asked."""
        engine: Engine | None = None
        try:
            parsed = _store_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database and not os.path.exists(parsed.database):
                return False  # connecting would create the file
            engine = create_store_engine(url)
            with engine.connect() as db:
                return inspect(db).has_table("alembic_version")
        except (SQLAlchemyError, OSError, ImportError, ValueError) as exc:
            raise StoreUnavailable(f"cannot open the database {shown_url(url)}: {driver_reason(exc)}") from exc
        finally:
            if engine is not None:
                engine.dispose()

    def ping(self) -> None:
        """One trivial read of samlfed's own schema, for readiness probes; StoreUnavailable with the driver's reason
        when the database does not answer it, or, on PostgreSQL, when it takes no writes (a standby, a primary made
        read-only): every change and every sign-in that records something would fail there."""
        postgres = self.engine.dialect.name == "postgresql"
        query = "SELECT version_num" + (", current_setting('transaction_read_only')" if postgres else "") + " FROM alembic_version"
        problem = self._file.problem() if self._file is not None else None
        if problem is not None:  # the open connections may still read the old file's pages
            raise StoreUnavailable(problem)
        for _attempt in range(2):  # the second on a new session: a pooled one may be read-only from before the database took writes again
            try:
                with self.engine.connect() as db:
                    row = db.exec_driver_sql(query).first()
            except SQLAlchemyError as exc:
                raise StoreUnavailable(f"the database does not answer: {driver_reason(exc)}") from exc
            if not (postgres and row is not None and row[1] == "on"):
                return
            self._forget_read_only_sessions()
        raise StoreUnavailable("the database is read-only (transaction_read_only is on)")

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        problem = self._file.problem() if self._file is not None else None  # one stat: a transaction costs far more
        if problem is not None:
            raise DatabaseUnavailable(problem)
        try:
            with self.engine.begin() as connection:
                yield connection
        except OperationalError as exc:
            raise DatabaseUnavailable(driver_reason(exc)) from exc
        except DBAPIError as exc:
            state = getattr(exc.orig, "sqlstate", None)
            if state == READ_ONLY_STATE:
                self._forget_read_only_sessions()
            if state in REFUSING_STATES or (getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF) in SQLITE_DAMAGED:
                raise DatabaseUnavailable(driver_reason(exc)) from exc
            raise

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """`_tx` for reads that must agree with each other: every statement sees the database as its first one did.
        Without it they need not: PostgreSQL's READ COMMITTED gives each statement a view of its own, and pysqlite
        opens no transaction before a SELECT, so each read of SQLite is one of its own too."""
        with self._tx() as db:
            if db.dialect.name == "postgresql":
                db.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            else:
                db.exec_driver_sql("BEGIN")  # deferred: in WAL mode the first read fixes what the later ones see
            yield db

    def _forget_read_only_sessions(self) -> None:
        """Close the pooled connections: a session keeps the read-only setting it began with (a standby's, or the
        database's default_transaction_read_only), so once the database takes writes again only new sessions do."""
        self.engine.dispose()

    # --- accounts ----------------------------------------------------------------------------------

    def create_account(self, account: Account, *, first_key: AccessKey | None = None) -> None:
        """Create `account`, with `first_key` in the same transaction: a failure between the two left an account
        without the key its creator was to be given, and its ID taken for a retry."""
        try:
            with self._tx() as db:
                db.execute(insert(t.accounts).values(account_id=account.account_id, alias=account.alias, created_at=account.created_at))
                if first_key is not None:
                    _insert_access_key(db, first_key)
        except IntegrityError:
            raise AlreadyExists(f"account {account.account_id} or alias {account.alias} exists") from None

    def get_account(self, account_id: str) -> Account:
        with self._tx() as db:
            row = db.execute(select(t.accounts).where(t.accounts.c.account_id == account_id)).one_or_none()
        if row is None:
            raise NotFound(f"account {account_id}")
        return Account(row.account_id, row.alias, _aware(row.created_at))

    def list_accounts(self) -> list[Account]:
        with self._tx() as db:
            rows = db.execute(select(t.accounts).where(t.accounts.c.account_id != AWS_MANAGED).order_by(t.accounts.c.account_id)).all()
        return [Account(r.account_id, r.alias, _aware(r.created_at)) for r in rows]

    def set_account_alias(self, account_id: str, alias: str | None) -> None:
        try:
            with self._tx() as db:
                result = db.execute(update(t.accounts).where(t.accounts.c.account_id == account_id).values(alias=alias))
                if result.rowcount == 0:
                    raise NotFound(f"account {account_id}")
        except IntegrityError:
            raise AlreadyExists(f"alias {alias} is taken") from None

    def remove_account_alias(self, account_id: str, alias: str) -> None:
        """NotFound unless the account's alias is `alias` at the moment of the change (one statement: an alias
        created by another request since the caller read the old one stays)."""
        with self._tx() as db:
            result = db.execute(update(t.accounts).where(t.accounts.c.account_id == account_id, t.accounts.c.alias == alias).values(alias=None))
            if result.rowcount == 0:
                raise NotFound(f"alias {alias} of account {account_id}")

    def delete_empty_account(self, account_id: str) -> None:
        """Delete the account if it holds nothing (no access key, provider, role or policy): the undoing of an account
        just made, which must never take along what another command put in it meanwhile."""
        held = [exists().where(table.c.account_id == account_id) for table in (t.access_keys, t.saml_providers, t.roles, t.managed_policies)]
        with self._tx() as db:
            # The row locked first, then looked at by a statement of its own: on PostgreSQL a DELETE that waited for
            # another transaction's insert into the account (its foreign key's lock) went on without looking again,
            # and its cascade took that insert along. Once the lock is had, the next statement sees what was added.
            _write_lock(db)
            db.execute(select(t.accounts.c.account_id).where(t.accounts.c.account_id == account_id).with_for_update())
            db.execute(delete(t.accounts).where(t.accounts.c.account_id == account_id, *(~h for h in held)))

    # --- access keys -------------------------------------------------------------------------------

    def add_access_key(self, key: AccessKey) -> None:
        try:
            with self._tx() as db:
                _insert_access_key(db, key)
        except IntegrityError:
            raise AlreadyExists(f"access key {key.access_key_id} (or its account does not exist)") from None

    def get_access_key(self, access_key_id: str) -> AccessKey:
        with self._tx() as db:
            row = db.execute(_ACCESS_KEY_BY_ID, {"access_key_id": access_key_id}).one_or_none()
        if row is None:
            raise NotFound(f"access key {access_key_id}")
        return _access_key(row)

    def list_access_keys(self, account_id: str) -> list[AccessKey]:
        with self._tx() as db:
            rows = db.execute(select(t.access_keys).where(t.access_keys.c.account_id == account_id).order_by(t.access_keys.c.created_at)).all()
        return [_access_key(r) for r in rows]

    def delete_access_key(self, access_key_id: str) -> None:
        with self._tx() as db:
            if db.execute(delete(t.access_keys).where(t.access_keys.c.access_key_id == access_key_id)).rowcount == 0:
                raise NotFound(f"access key {access_key_id}")

    # --- SAML providers ----------------------------------------------------------------------------

    @_changes_identities
    def create_provider(self, provider: SamlProvider, *, limit: int | None = None) -> None:
        try:
            with self._tx() as db:
                _hold_account(db, provider.account_id)
                _within_limit(db, t.saml_providers, provider.account_id, limit)
                db.execute(insert(t.saml_providers).values(
                    arn=provider.arn, account_id=provider.account_id, name=provider.name, uuid=provider.uuid,
                    metadata_document=provider.metadata_document, valid_until=provider.valid_until,
                    assertion_encryption_mode=provider.assertion_encryption_mode,
                    attribute_mapping=provider.attribute_mapping, created_at=provider.created_at,
                    validation_options=provider.validation_options,
                ))
                self._upsert_tags(db, _PROVIDER_TAG_KEYS, {"arn": provider.arn}, provider.tags)
                for key in provider.private_keys:
                    _insert_provider_key(db, provider.arn, key)
        except IntegrityError:
            raise AlreadyExists(f"SAML provider {provider.arn}") from None

    def get_provider(self, arn: str, *, with_tags: bool = True) -> SamlProvider:
        if _unstorable(arn):
            raise NotFound(arn)
        with self._tx() as db:
            row = db.execute(_PROVIDER_BY_ARN, {"arn": arn}).one_or_none()
            if row is None:
                raise NotFound(arn)
            return self._provider(db, row, with_tags=with_tags)

    def existing_provider_arns(self, arns: Sequence[str]) -> frozenset[str]:
        """Which of `arns` name a provider, in one statement: a console sign-in's response may name a hundred, and
        need not name any that exists (the read cache keeps no misses)."""
        if not arns:
            return frozenset()
        with self._tx() as db:
            return frozenset(db.execute(select(t.saml_providers.c.arn).where(t.saml_providers.c.arn.in_(list(arns)))).scalars())

    def provider_arn_of(self, uuid: str) -> str:
        """The ARN of the provider with this SAMLProviderUUID (unique); NotFound when there is none."""
        with self._tx() as db:
            arn = db.execute(select(t.saml_providers.c.arn).where(t.saml_providers.c.uuid == uuid)).scalar_one_or_none()
        if arn is None:
            raise NotFound(uuid)
        return arn

    def list_provider_summaries(self, account_id: str) -> list[SamlProviderSummary]:
        """What ListSAMLProviders answers of each of the account's providers, by ARN as Python compares str (sorted here:
        PostgreSQL's database collation may order them otherwise, and a sort by another collation there would no longer
        read them from the listing index in order): one statement, which reads neither the metadata documents (hundreds
        of KB each) nor tags or keys."""
        providers = t.saml_providers.c
        query = select(providers.arn, providers.valid_until, providers.created_at).where(providers.account_id == account_id).order_by(providers.arn)
        with self._tx() as db:
            rows = db.execute(query).all()
        return sorted((SamlProviderSummary(row.arn, _aware_or_none(row.valid_until), _aware(row.created_at)) for row in rows), key=lambda summary: summary.arn)

    @_changes_identities
    def set_attribute_mapping(self, arn: str, mapping: dict[str, list[str]] | None) -> None:
        self._update_one(t.saml_providers, t.saml_providers.c.arn == arn, arn, attribute_mapping=mapping)

    @_changes_identities
    def set_validation_options(
        self, arn: str, merge: Callable[[dict[str, bool] | None], dict[str, bool] | None]
    ) -> dict[str, bool] | None:
        """Replace the provider's validation options with `merge(current)` and return them: read and written under
        the provider's row lock, so that two changes of different options at once both stay."""
        with self._tx() as db:
            _write_lock(db)
            row = db.execute(select(t.saml_providers.c.validation_options).where(t.saml_providers.c.arn == arn).with_for_update()).one_or_none()
            if row is None:
                raise NotFound(arn)
            options = merge(row.validation_options)
            db.execute(update(t.saml_providers).where(t.saml_providers.c.arn == arn).values(validation_options=options))
            return options

    ENCRYPTION_MODES = ("Allowed", "Required")

    @_changes_identities
    @_rerun_on_race
    def update_provider(
        self, arn: str, *, uuid: str | None = None, metadata: tuple[str, datetime | None] | None = None, mode: str | None = None,
        add_key: ProviderPrivateKey | None = None, remove_key_id: str | None = None, key_limit: int | None = None,
    ) -> SamlProvider:
        """Change a provider's metadata (document, valid until), assertion encryption mode and private keys in one
        transaction, all or nothing; returns the provider after (without its tags). `uuid`: the provider must still
        be that one (a key is sealed for one provider; another of the same name since is NotFound).

        Adding a key the provider holds already (same key ID) keeps it as it is. NotFound: no such provider;
        NoSuchPrivateKey: it holds no key `remove_key_id`; LimitReached: adding would make more than `key_limit` keys;
        Conflict: the provider would be in mode Required without a key (encrypted assertions need one). Checked
        under the provider's row lock, so that two requests each removing one of two keys cannot both pass."""
        if mode is not None and mode not in self.ENCRYPTION_MODES:
            raise ValueError(f"assertion encryption mode {mode!r}")
        with self._tx() as db:
            _write_lock(db)
            row = db.execute(_PROVIDER_BY_ARN.with_for_update(), {"arn": arn}).one_or_none()
            if row is None or (uuid is not None and row.uuid != uuid):
                raise NotFound(arn)
            held = {r.key_id for r in db.execute(_PROVIDER_KEYS, {"arn": arn})}
            keys = t.provider_private_keys.c
            if remove_key_id is not None:
                if remove_key_id not in held:
                    raise NoSuchPrivateKey(f"private key {remove_key_id} of {arn}")
                db.execute(delete(t.provider_private_keys).where(and_(keys.arn == arn, keys.key_id == remove_key_id)))
                held.discard(remove_key_id)
            if add_key is not None and add_key.key_id not in held:
                if key_limit is not None and len(held) >= key_limit:
                    raise LimitReached(f"private keys of {arn}")
                _insert_provider_key(db, arn, add_key)
                held.add(add_key.key_id)
            if (mode or row.assertion_encryption_mode) == "Required" and not held:
                raise Conflict(f"{arn} would require encrypted assertions without a private key")
            values: dict[str, object] = {}
            if mode is not None:
                values["assertion_encryption_mode"] = mode
            if metadata is not None:
                values["metadata_document"], values["valid_until"] = metadata
            if values:
                db.execute(update(t.saml_providers).where(t.saml_providers.c.arn == arn).values(**values))
            return self._provider(db, db.execute(_PROVIDER_BY_ARN, {"arn": arn}).one(), with_tags=False)

    @_changes_identities
    def delete_provider(self, arn: str) -> None:
        with self._tx() as db:
            if db.execute(delete(t.saml_providers).where(t.saml_providers.c.arn == arn)).rowcount == 0:
                raise NotFound(arn)

    @_changes_identities
    @_rerun_on_race
    def tag_provider(self, arn: str, tags: Sequence[Tag], *, limit: int | None = None) -> None:
        """Add or replace tags; LimitReached when the provider would then have more than `limit` tags (counted under
        the provider's row lock)."""
        with self._tx() as db:
            _lock_by_arn(db, t.saml_providers, arn)
            held = _PROVIDER_TAG_KEYS.held(db.execute(_PROVIDER_TAGS, {"arn": arn}))
            _within_tag_limit(held, _PROVIDER_TAG_KEYS.of(tag.key for tag in tags), limit, arn)
            self._upsert_tags(db, _PROVIDER_TAG_KEYS, {"arn": arn}, tags)

    @_changes_identities
    def untag_provider(self, arn: str, keys: Sequence[str]) -> None:
        """Under the provider's row lock, as tag_provider: unheld, the untag could hold one tag row that a TagX replaces
        while it waited for another that one holds (a deadlock, failed by PostgreSQL)."""
        with self._tx() as db:
            _lock_by_arn(db, t.saml_providers, arn)
            db.execute(delete(t.provider_tags).where(and_(t.provider_tags.c.arn == arn, _PROVIDER_TAG_KEYS.among(keys))))

    def _provider(self, db: Connection, row, *, with_tags: bool = True) -> SamlProvider:  # type: ignore[no-untyped-def]
        tags = db.execute(_PROVIDER_TAGS, {"arn": row.arn}).all() if with_tags else []
        keys = db.execute(_PROVIDER_KEYS, {"arn": row.arn}).all()
        return SamlProvider(
            arn=row.arn, account_id=row.account_id, name=row.name, uuid=row.uuid,
            metadata_document=row.metadata_document, valid_until=_aware_or_none(row.valid_until), created_at=_aware(row.created_at),
            assertion_encryption_mode=row.assertion_encryption_mode, attribute_mapping=row.attribute_mapping,
            tags=tuple(Tag(tag.key, tag.value) for tag in tags), validation_options=row.validation_options,
            private_keys=tuple(ProviderPrivateKey(k.key_id, _aware(k.created_at), bytes(k.sealed_pem)) for k in keys),
        )

    # --- roles -------------------------------------------------------------------------------------

    def _role_key(self, table, account_id: str, name: str):  # type: ignore[no-untyped-def]
        return and_(table.c.account_id == account_id, table.c.role_name_lower == name.lower())

    @_changes_identities
    def create_role(self, role: Role, *, limit: int | None = None) -> None:
        try:
            with self._tx() as db:
                _hold_account(db, role.account_id)
                _within_limit(db, t.roles, role.account_id, limit)
                if role.permissions_boundary is not None:
                    _hold_policy(db, role.account_id, role.permissions_boundary)
                db.execute(insert(t.roles).values(
                    account_id=role.account_id, name_lower=role.name.lower(), name=role.name, role_id=role.role_id,
                    path=role.path, arn=role.arn, trust_policy=role.trust_policy,
                    trust_principal_ids=_principal_ids_text(role.trust_principal_ids), description=role.description,
                    max_session_duration=role.max_session_duration, permissions_boundary=role.permissions_boundary,
                    created_at=role.created_at,
                ))
                self._upsert_tags(db, _ROLE_TAG_KEYS, {"account_id": role.account_id, "role_name_lower": role.name.lower()}, role.tags)
        except IntegrityError:
            raise AlreadyExists(f"role {role.name}") from None

    def get_role(self, account_id: str, name: str, *, with_tags: bool = True) -> Role:
        if _unstorable(name):
            raise NotFound(f"role {name}")
        with self._tx() as db:
            row = db.execute(_ROLE_BY_NAME, {"account_id": account_id, "name_lower": name.lower()}).one_or_none()
            if row is None:
                raise NotFound(f"role {name}")
            return self._role(db, row, with_tags=with_tags)

    def list_roles(self, account_id: str, path_prefix: str = "/", *, after: str | None = None, limit: int | None = None) -> list[Role]:
        """The account's roles under `path_prefix` in the order ListRoles pages them (lower-cased name), without their
        tags (ListRoles leaves them out): the first `limit` whose lower-cased name comes after `after`. Paged by the
        database: loading and building every role of a large account for each page of one made paging quadratic."""
        roles = t.roles.c
        name = self._by_code_point(roles.name_lower)
        where = and_(roles.account_id == account_id, _path_starts_with(roles.path, path_prefix))
        query = select(t.roles).where(where if after is None else and_(where, name > after)).order_by(name).limit(limit)
        with self._tx() as db:
            return [self._role(db, row, with_tags=False) for row in db.execute(query)]

    def live_role_ids(self, role_ids: Collection[str]) -> frozenset[str]:
        """Which of `role_ids` a role holds now. A deleted role's ID is never given again (a role created under its
        name gets a new one), so an ID absent here names a role that is gone."""
        wanted, column = sorted(set(role_ids)), t.roles.c.role_id
        live: set[str] = set()
        with self._tx() as db:
            for start in range(0, len(wanted), _IN_LIST_CHUNK):
                live.update(db.execute(select(column).where(column.in_(wanted[start:start + _IN_LIST_CHUNK]))).scalars())
        return frozenset(live)

    def _by_code_point(self, column: ColumnElement[str]) -> ColumnElement[str]:
        """`column` compared as Python compares str: SQLite's default (BINARY) does; PostgreSQL's database collation
        may not, its "C" collation does."""
        return column.collate("C") if self.engine.dialect.name == "postgresql" else column

    def permissions_boundary_uses(self, account_id: str) -> dict[str, int]:
        """How many of the account's roles have each policy ARN as their permissions boundary (unused ones absent)."""
        boundary = t.roles.c.permissions_boundary
        with self._tx() as db:
            rows = db.execute(select(boundary, func.count()).where(and_(t.roles.c.account_id == account_id, boundary.is_not(None))).group_by(boundary)).all()
            return {arn: count for arn, count in rows}

    def roles_using_policy(self, account_id: str, policy_arn: str, *, attached: bool = True, boundary: bool = True) -> list[Role]:
        """The account's roles (without tags) the managed policy is attached to (`attached`) or is the permissions
        boundary of (`boundary`), each once, by lower-cased name. NotFound when no such policy exists. (An AWS managed
        policy is used in many accounts: only this one's roles are its business.)"""
        roles = t.roles.c
        uses: list[ColumnElement[bool]] = []
        if attached:
            attachments = t.role_policy_attachments.c
            uses.append(exists().where(and_(
                attachments.account_id == roles.account_id, attachments.role_name_lower == roles.name_lower, attachments.policy_arn == policy_arn,
            )))
        if boundary:
            uses.append(roles.permissions_boundary == policy_arn)
        with self._tx() as db:
            self._require(db, t.managed_policies, t.managed_policies.c.arn == policy_arn, policy_arn)
            if not uses:
                return []
            query = select(t.roles).where(and_(roles.account_id == account_id, or_(*uses))).order_by(self._by_code_point(roles.name_lower))
            return [self._role(db, row, with_tags=False) for row in db.execute(query)]

    @_changes_identities
    def set_permissions_boundary(self, account_id: str, name: str, policy_arn: str | None) -> None:
        """Put (None: delete) the role's permissions boundary. NotFound(policy_arn) when the account has no such managed
        policy, NotFound(role) when it has no such role. The policy row is held (FOR SHARE) until commit, so that
        delete_policy, which locks it first, either sees this boundary or has deleted the policy before this reads."""
        with self._tx() as db:
            _write_lock(db)
            if policy_arn is not None:
                _hold_policy(db, account_id, policy_arn)
            where = and_(t.roles.c.account_id == account_id, t.roles.c.name_lower == name.lower())
            if db.execute(update(t.roles).where(where).values(permissions_boundary=policy_arn)).rowcount == 0:
                raise NotFound(f"role {name}")

    @_changes_identities
    def update_role(self, account_id: str, name: str, **changes: object) -> None:
        allowed = {"description", "max_session_duration", "trust_policy", "trust_principal_ids"}
        if not changes or set(changes) - allowed:
            raise ValueError(f"role fields that can change: {sorted(allowed)}")
        if "trust_principal_ids" in changes:
            changes["trust_principal_ids"] = _principal_ids_text(changes["trust_principal_ids"])  # type: ignore[arg-type]
        where = and_(t.roles.c.account_id == account_id, t.roles.c.name_lower == name.lower())
        self._update_one(t.roles, where, f"role {name}", **changes)

    @_changes_identities
    def delete_role(self, account_id: str, name: str) -> None:
        with self._tx() as db:
            self._lock_role(db, account_id, name)
            if db.execute(select(t.role_policies.c.policy_name).where(self._role_key(t.role_policies, account_id, name)).limit(1)).first():
                raise InlinePoliciesLeft(f"role {name} still has inline policies")
            if db.execute(select(t.role_policy_attachments.c.policy_arn).where(self._role_key(t.role_policy_attachments, account_id, name)).limit(1)).first():
                raise Conflict(f"role {name} still has attached policies")
            db.execute(delete(t.roles).where(and_(t.roles.c.account_id == account_id, t.roles.c.name_lower == name.lower())))

    def _lock_role(self, db: Connection, account_id: str, name: str) -> None:
        """Hold the role until commit, before reading its policies: a policy put or attached meanwhile then either
        commits first and is seen (Conflict), or waits and finds no role; never deleted with the role unseen."""
        _write_lock(db)
        where = and_(t.roles.c.account_id == account_id, t.roles.c.name_lower == name.lower())
        if db.execute(select(t.roles.c.role_id).where(where).with_for_update()).first() is None:
            raise NotFound(f"role {name}")

    @_changes_identities
    @_rerun_on_race
    def tag_role(self, account_id: str, name: str, tags: Sequence[Tag], *, limit: int | None = None) -> None:
        """Add or replace tags; LimitReached when the role would then have more than `limit` tags (counted under the
        role's row lock)."""
        key = {"account_id": account_id, "role_name_lower": name.lower()}
        with self._tx() as db:
            self._lock_role(db, account_id, name)
            held = _ROLE_TAG_KEYS.held(db.execute(_ROLE_TAGS, key))
            _within_tag_limit(held, _ROLE_TAG_KEYS.of(tag.key for tag in tags), limit, f"role {name}")
            self._upsert_tags(db, _ROLE_TAG_KEYS, key, tags)

    @_changes_identities
    def untag_role(self, account_id: str, name: str, keys: Sequence[str]) -> None:
        """Under the role's row lock, as tag_role (see untag_provider)."""
        with self._tx() as db:
            self._lock_role(db, account_id, name)
            db.execute(delete(t.role_tags).where(and_(self._role_key(t.role_tags, account_id, name), _ROLE_TAG_KEYS.among(keys))))

    @_rerun_on_race
    def put_role_policy(self, account_id: str, name: str, policy_name: str, document: str, *, max_total_size: int | None = None) -> None:
        """Create or replace an inline policy. LimitReached when the role's inline policies would then hold more than
        `max_total_size` characters other than whitespace (IAM's measure), checked under the role's row lock."""
        with self._tx() as db:
            _write_lock(db)
            role = and_(t.roles.c.account_id == account_id, t.roles.c.name_lower == name.lower())
            if db.execute(select(t.roles.c.name_lower).where(role).with_for_update()).one_or_none() is None:
                raise NotFound(f"role {name}")
            key = self._role_key(t.role_policies, account_id, name)
            if max_total_size is not None:
                others = db.execute(select(t.role_policies.c.document).where(and_(key, t.role_policies.c.policy_name != policy_name))).scalars()
                if sum(map(policy_size, others)) + policy_size(document) > max_total_size:
                    raise LimitReached(f"inline policies of role {name}")
            db.execute(delete(t.role_policies).where(and_(key, t.role_policies.c.policy_name == policy_name)))
            db.execute(insert(t.role_policies).values(account_id=account_id, role_name_lower=name.lower(), policy_name=policy_name, document=document))

    def get_role_policy(self, account_id: str, name: str, policy_name: str) -> str:
        with self._tx() as db:
            key = self._role_key(t.role_policies, account_id, name)
            row = db.execute(select(t.role_policies.c.document).where(and_(key, t.role_policies.c.policy_name == policy_name))).one_or_none()
        if row is None:
            raise NotFound(f"policy {policy_name} of role {name}")
        return row.document

    def list_role_policies(self, account_id: str, name: str) -> list[str]:
        return [policy_name for policy_name, _ in self.role_policy_documents(account_id, name)]

    def role_policy_documents(self, account_id: str, name: str) -> list[tuple[str, str]]:
        """(name, document) of each inline policy of the role, by name, in one read; NotFound for no such role."""
        with self._tx() as db:
            self._require(db, t.roles, and_(t.roles.c.account_id == account_id, t.roles.c.name_lower == name.lower()), f"role {name}")
            rows = db.execute(self._inline_documents(account_id, name)).all()
        return [(r.policy_name, r.document) for r in rows]

    def _inline_documents(self, account_id: str, name: str) -> Executable:
        """(policy_name, document) of the role's inline policies, by name (as Python compares str)."""
        inline = t.role_policies
        return select(inline.c.policy_name, inline.c.document).where(self._role_key(inline, account_id, name)).order_by(self._by_code_point(inline.c.policy_name))

    def _attached(self, account_id: str, name: str, *columns) -> Executable:  # type: ignore[no-untyped-def]
        """`columns` of the managed policies attached to the role, by ARN: one statement, so that a policy detached and
        deleted by another node meanwhile is either listed whole or not at all."""
        attached = t.role_policy_attachments
        return (select(*columns).join(attached, attached.c.policy_arn == t.managed_policies.c.arn)
                .where(self._role_key(attached, account_id, name)).order_by(attached.c.policy_arn))

    def role_grants(self, account_id: str, name: str) -> RoleGrants:
        """The role, its inline and attached policies and its boundary's document, read in one snapshot; NotFound for no
        such role. Read apart, a role deleted and created again by the same name in between (on another node, say)
        could pair the old role's ID, which a session is checked against, with the new role's policies."""
        if _unstorable(name):
            raise NotFound(f"role {name}")
        policies = t.managed_policies
        with self._snapshot() as db:
            row = db.execute(_ROLE_BY_NAME, {"account_id": account_id, "name_lower": name.lower()}).one_or_none()
            if row is None:
                raise NotFound(f"role {name}")
            role = self._role(db, row)
            inline_rows = db.execute(self._inline_documents(account_id, name)).all()
            attached_rows = db.execute(self._attached(account_id, name, policies.c.arn, policies.c.document)).all()
            boundary = None
            if role.permissions_boundary:
                boundary = db.execute(select(policies.c.document).where(policies.c.arn == role.permissions_boundary)).scalar_one_or_none()
        return RoleGrants(role, tuple((r.policy_name, r.document) for r in inline_rows), tuple((r.arn, r.document) for r in attached_rows), boundary)

    def delete_role_policy(self, account_id: str, name: str, policy_name: str) -> None:
        with self._tx() as db:
            key = self._role_key(t.role_policies, account_id, name)
            if db.execute(delete(t.role_policies).where(and_(key, t.role_policies.c.policy_name == policy_name))).rowcount == 0:
                raise NotFound(f"policy {policy_name} of role {name}")

    def _role(self, db: Connection, row, *, with_tags: bool = True) -> Role:  # type: ignore[no-untyped-def]
        tags = db.execute(_ROLE_TAGS, {"account_id": row.account_id, "role_name_lower": row.name_lower}).all() if with_tags else []
        return self._role_of(row, tags)

    @staticmethod
    def _role_of(row, tags) -> Role:  # type: ignore[no-untyped-def]
        """A role of its row and its tag rows (by lower-cased key)."""
        return Role(
            account_id=row.account_id, name=row.name, role_id=row.role_id, path=row.path, arn=row.arn,
            trust_policy=row.trust_policy, max_session_duration=row.max_session_duration, created_at=_aware(row.created_at),
            description=row.description, permissions_boundary=row.permissions_boundary,
            tags=tuple(Tag(tag.key, tag.value) for tag in tags),
            trust_principal_ids=None if row.trust_principal_ids is None else tuple(sorted(json.loads(row.trust_principal_ids).items())),
        )

    def role_details(
        self, account_id: str, names: Sequence[str]
    ) -> list[tuple[Role, list[tuple[str, str]], list[ManagedPolicy], RoleLastUsed | None]]:
        """For each of the account's roles named (in that order; those that do not exist, or no longer, left out): the
        role with its tags, its inline policies as (name, document) by name, its attached managed policies by ARN (with
        their attachment counts and tags), and its last use. One snapshot of seven statements however many roles:
        GetAccountAuthorizationDetails reads a page of up to 1,000 with it (a handful of reads per role made it
        thousands of statements a page)."""
        lowered = list(dict.fromkeys(name.lower() for name in names))
        if not lowered:
            return []
        roles, inline, attachments, policies = t.roles.c, t.role_policies.c, t.role_policy_attachments.c, t.managed_policies.c
        tags, policy_tags, last_used = t.role_tags.c, t.policy_tags.c, t.role_last_used.c
        with self._snapshot() as db:
            rows = {row.name_lower: row for row in db.execute(select(t.roles).where(and_(roles.account_id == account_id, roles.name_lower.in_(lowered))))}
            if not rows:
                return []
            present = list(rows)
            tags_of = _grouped(db.execute(
                select(t.role_tags).where(and_(tags.account_id == account_id, tags.role_name_lower.in_(present))).order_by(tags.role_name_lower, tags.key_lower)
            ), "role_name_lower")
            inline_of = _grouped(db.execute(
                select(inline.role_name_lower, inline.policy_name, inline.document)
                .where(and_(inline.account_id == account_id, inline.role_name_lower.in_(present))).order_by(inline.role_name_lower, self._by_code_point(inline.policy_name))
            ), "role_name_lower")
            attached_of = _grouped(db.execute(
                select(attachments.role_name_lower, t.managed_policies)
                .join(t.managed_policies, policies.arn == attachments.policy_arn)
                .where(and_(attachments.account_id == account_id, attachments.role_name_lower.in_(present))).order_by(attachments.role_name_lower, attachments.policy_arn)
            ), "role_name_lower")
            arns = list({row.arn for group in attached_of.values() for row in group})
            counts: dict[str, int] = {}
            policy_tags_of: dict[Any, list[Row[Any]]] = {}
            if arns:
                counts = dict(db.execute(
                    select(attachments.policy_arn, func.count())
                    .where(and_(attachments.account_id == account_id, attachments.policy_arn.in_(arns))).group_by(attachments.policy_arn)
                ).all())
                policy_tags_of = _grouped(db.execute(select(t.policy_tags).where(policy_tags.arn.in_(arns)).order_by(policy_tags.arn, policy_tags.key_lower, policy_tags.key)), "arn")
            uses = {row.role_id: RoleLastUsed(_aware(row.last_used_date), row.region) for row in db.execute(
                select(t.role_last_used).where(last_used.role_id.in_([row.role_id for row in rows.values()]))
            )}
        details = []
        for name in lowered:
            row = rows.get(name)
            if row is None:
                continue
            role = self._role_of(row, tags_of.get(name, []))
            attached = [
                self._policy_of(policy, counts.get(policy.arn, 0), tuple(Tag(tag.key, tag.value) for tag in policy_tags_of.get(policy.arn, [])))
                for policy in attached_of.get(name, [])
            ]
            details.append((role, [(r.policy_name, r.document) for r in inline_of.get(name, [])], attached, uses.get(row.role_id)))
        return details

    def record_role_use(self, role_id: str, used_at: datetime, region: str) -> None:
        """Record that the role was assumed at `used_at` in `region` (kept when it is later than the recorded use);
        NotFound when no role has that ID (deleted since). A lock held elsewhere makes it give up after
        SKIPPABLE_WRITE_WAIT_MS (DatabaseUnavailable), not a request's 5 s."""
        try:
            with self._tx() as db, _short_lock_wait(db):
                db.execute(_ROLE_USE_UPSERTS[db.dialect.name], {"role_id": role_id, "used_at": used_at, "region": region})
        except IntegrityError:
            raise NotFound(f"role {role_id}") from None

    def get_role_last_used(self, role_id: str) -> RoleLastUsed | None:
        """The role's last recorded use; None when it has none."""
        with self._tx() as db:
            row = db.execute(_ROLE_LAST_USED, {"role_id": role_id}).one_or_none()
        return None if row is None else RoleLastUsed(_aware(row.last_used_date), row.region)

    # --- managed policies ----------------------------------------------------------------------------

    def create_policy(self, policy: ManagedPolicy, *, limit: int | None = None) -> None:
        """AlreadyExists when the account has a policy of that name in any case, on any path (AWS: policy names are
        unique in the account, not distinguished by case); the ARN, which holds path and case, cannot tell. Checked
        under the account's lock, and held by the database's unique index on (account_id, lower(name)) against a
        writer that skips the check (its row makes this insert fail, an IntegrityError)."""
        table = t.managed_policies
        try:
            with self._tx() as db:
                _hold_account(db, policy.account_id)
                _within_limit(db, table, policy.account_id, limit)
                taken = and_(table.c.account_id == policy.account_id, func.lower(table.c.name) == policy.name.lower())
                if db.execute(select(table.c.arn).where(taken).limit(1)).first() is not None:
                    raise AlreadyExists(f"policy {policy.name}")
                db.execute(insert(table).values(
                    arn=policy.arn, account_id=policy.account_id, name=policy.name, policy_id=policy.policy_id, path=policy.path,
                    description=policy.description, document=policy.document, created_at=policy.created_at, updated_at=policy.updated_at,
                    default_version=1, next_version=2,
                ))
                db.execute(insert(t.policy_versions).values(arn=policy.arn, version_number=1, document=policy.document, created_at=policy.created_at))
                self._upsert_tags(db, _POLICY_TAG_KEYS, {"arn": policy.arn}, policy.tags)
        except IntegrityError:
            raise AlreadyExists(f"policy {policy.arn}") from None

    def get_policy(self, arn: str, *, viewer: str | None = None) -> ManagedPolicy:
        """The policy, with the number of roles of the account `viewer` it is attached to (None: of its own account;
        an AWS managed policy has none of its own)."""
        if _unstorable(arn):
            raise NotFound(arn)
        with self._tx() as db:
            row = db.execute(_POLICY_BY_ARN, {"arn": arn}).one_or_none()
            if row is None:
                raise NotFound(arn)
            return self._policy(db, row, viewer or row.account_id)

    def list_policies(
        self, account_id: str, path_prefix: str = "/", *, after: str | None = None, limit: int | None = None,
        attached: bool = False, boundary: bool = False, scope: str = "Local", aws_in_use: bool = False,
    ) -> list[ManagedPolicy]:
        """The policies the account sees under `path_prefix`, in the order ListPolicies pages them
        (`policy_listing_key`), with their attachment counts in the account and without their tags (ListPolicies
        leaves them out): the first `limit` whose key comes after `after`. `scope` is ListPolicies': the account's
        own ("Local"), the AWS managed ones ("AWS") or both ("All"); with `aws_in_use` only the AWS managed ones some
        role of the account has attached or as its boundary. With `attached` only those attached to a role of the
        account, with `boundary` only those some role has as its permissions boundary. Paged by the database,
        attachments counted for the page only: two statements, however many policies the account has (loading every
        policy for each page made paging quadratic). Names are ASCII (constraints.NAME_PATTERN), so SQL's lower() is
        Python's."""
        policies, attachments, roles = t.managed_policies.c, t.role_policy_attachments.c, t.roles.c
        key = self._by_code_point(func.lower(policies.name) + case((policies.account_id == AWS_MANAGED, _AWS_MANAGED_KEY_SUFFIX), else_=""))
        is_attached = exists().where(and_(attachments.account_id == account_id, attachments.policy_arn == policies.arn))
        is_boundary = exists().where(and_(roles.account_id == account_id, roles.permissions_boundary == policies.arn))
        aws = and_(policies.account_id == AWS_MANAGED, or_(is_attached, is_boundary)) if aws_in_use else policies.account_id == AWS_MANAGED
        owners = {"Local": policies.account_id == account_id, "AWS": aws, "All": or_(policies.account_id == account_id, aws)}[scope]
        where = [owners, _path_starts_with(policies.path, path_prefix)]
        if after is not None:
            where.append(key > after)
        if attached:
            where.append(is_attached)
        if boundary:
            where.append(is_boundary)
        with self._tx() as db:
            rows = db.execute(select(t.managed_policies).where(and_(*where)).order_by(key).limit(limit)).all()
            counts: dict[str, int] = dict(db.execute(
                select(attachments.policy_arn, func.count())
                .where(and_(attachments.account_id == account_id, attachments.policy_arn.in_([row.arn for row in rows])))
                .group_by(attachments.policy_arn)
            ).all()) if rows else {}
        return [self._policy_of(row, counts.get(row.arn, 0), ()) for row in rows]

    def put_aws_managed_policy(self, policy: ManagedPolicy, versions: Sequence[PolicyVersion]) -> str:
        """Create or replace an AWS managed policy (policy.account_id is AWS_MANAGED) with `versions`, one of them
        the default (its document is policy.document): "created", "updated", or "unchanged" when it was stored so
        already. Roles keep it attached
        across a replacement. AlreadyExists when another policy has its policy ID, or another AWS managed policy its
        name in any case (on any path: listings page by lower-cased name)."""
        numbers = [_version_number(version.version_id) for version in versions]
        if policy.account_id != AWS_MANAGED or None in numbers or len(set(numbers)) != len(versions):
            raise ValueError("an AWS managed policy with versions v1, v2, … each once")
        numbered = sorted((number, version) for number, version in zip(numbers, versions, strict=True) if number is not None)
        (default,) = [number for number, version in numbered if version.is_default]
        row_values = {
            "account_id": AWS_MANAGED, "name": policy.name, "policy_id": policy.policy_id, "path": policy.path, "description": policy.description,
            "document": policy.document, "created_at": policy.created_at, "updated_at": policy.updated_at,
            "default_version": default, "next_version": numbered[-1][0] + 1,
        }
        version_rows = [
            {"arn": policy.arn, "version_number": number, "document": version.document, "created_at": version.created_at}
            for number, version in numbered
        ]
        try:
            with self._tx() as db:
                _write_lock(db)
                # Two imports at once (PostgreSQL): the first makes the owner row, the other's insert waits for it
                # and then does nothing; holding the row makes their name checks and writes take turns.
                owner = _INSERTS[db.dialect.name](t.accounts).values(account_id=AWS_MANAGED, alias=None, created_at=policy.created_at)
                db.execute(owner.on_conflict_do_nothing(index_elements=[t.accounts.c.account_id]))
                _lock_account_row(db, AWS_MANAGED)
                policies, stored_versions = t.managed_policies, t.policy_versions.c
                namesake = and_(policies.c.account_id == AWS_MANAGED, func.lower(policies.c.name) == policy.name.lower(), policies.c.arn != policy.arn)
                if db.execute(select(policies.c.arn).where(namesake).limit(1)).first() is not None:
                    raise AlreadyExists(f"AWS managed policy {policy.name}")
                held = db.execute(select(policies).where(policies.c.arn == policy.arn).with_for_update()).first()
                if held is not None:
                    stored = db.execute(
                        select(stored_versions.version_number, stored_versions.document, stored_versions.created_at)
                        .where(stored_versions.arn == policy.arn).order_by(stored_versions.version_number)
                    ).all()
                    unchanged = all(_aware(getattr(held, column)) == value if isinstance(value, datetime) else getattr(held, column) == value
                                    for column, value in row_values.items())
                    if unchanged and [(r.version_number, r.document, _aware(r.created_at)) for r in stored] == [
                        (r["version_number"], r["document"], r["created_at"]) for r in version_rows
                    ]:
                        return "unchanged"
                    db.execute(update(policies).where(policies.c.arn == policy.arn).values(**row_values))
                    db.execute(delete(t.policy_versions).where(stored_versions.arn == policy.arn))
                else:
                    db.execute(insert(policies).values(arn=policy.arn, **row_values))
                db.execute(insert(t.policy_versions), version_rows)
                return "created" if held is None else "updated"
        except IntegrityError:
            raise AlreadyExists(f"policy ID {policy.policy_id}") from None

    def delete_aws_managed_policy(self, arn: str) -> None:
        """Delete an AWS managed policy with all its versions. NotFound when there is none; Conflict while a role of
        any account has it attached or as its boundary (the row is locked first, as delete_policy locks it)."""
        with self._tx() as db:
            if _lock_by_arn(db, t.managed_policies, arn).account_id != AWS_MANAGED:
                raise NotFound(arn)
            _refuse_while_used(db, arn)
            db.execute(delete(t.managed_policies).where(t.managed_policies.c.arn == arn))

    @_rerun_on_race
    def delete_policy(self, arn: str) -> None:
        """Conflict while a role has the policy attached or as its boundary. The policy row is locked before either
        is read, so that a concurrent attach or set_permissions_boundary (which hold it) is seen, or finds it gone."""
        with self._tx() as db:
            _lock_by_arn(db, t.managed_policies, arn)
            _refuse_while_used(db, arn)
            versions = t.policy_versions.c
            if db.execute(select(func.count()).select_from(t.policy_versions).where(versions.arn == arn)).scalar_one() > 1:
                raise PolicyVersionsLeft(f"policy {arn} has versions other than its default")
            if db.execute(delete(t.managed_policies).where(t.managed_policies.c.arn == arn)).rowcount == 0:
                raise NotFound(arn)

    @_rerun_on_race
    def create_policy_version(self, arn: str, document: str, *, now: datetime, set_as_default: bool, limit: int | None = None) -> PolicyVersion:
        """Add the next version (v1, v2, …: a number is never handed out twice, even after its version is deleted);
        with `set_as_default` it becomes the default. LimitReached when the policy has `limit` versions already.
        Counted and numbered under the policy's row lock, so that concurrent calls count and number one after the
        other. The policy's UpdateDate becomes the new version's CreateDate, default or not: AWS's UpdateDate is
        "when the most recent policy version was created"."""
        policies = t.managed_policies
        with self._tx() as db:
            policy = _lock_by_arn(db, t.managed_policies, arn)
            held = db.execute(select(func.count()).select_from(t.policy_versions).where(t.policy_versions.c.arn == arn)).scalar_one()
            if limit is not None and held >= limit:
                raise LimitReached(f"versions of policy {arn}")
            number = policy.next_version
            db.execute(insert(t.policy_versions).values(arn=arn, version_number=number, document=document, created_at=now))
            changes: dict[str, object] = {"next_version": number + 1, "updated_at": now}
            if set_as_default:
                changes |= {"default_version": number, "document": document}
            db.execute(update(policies).where(policies.c.arn == arn).values(**changes))
            return PolicyVersion(_version_id(number), document, set_as_default, now)

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        """NotFound(arn) when there is no such policy, NoSuchPolicyVersion when it has no such version."""
        number = _version_number(version_id)
        with self._tx() as db:
            row = None if number is None else db.execute(
                _POLICY_VERSIONS.where(t.policy_versions.c.version_number == number), {"arn": arn}
            ).one_or_none()
            if row is None:
                self._require(db, t.managed_policies, t.managed_policies.c.arn == arn, arn)
                raise NoSuchPolicyVersion(f"{arn} version {version_id}")
        return _policy_version(row)

    def list_policy_versions(self, arn: str) -> list[PolicyVersion]:
        """The policy's versions, newest first (as AWS lists them); NotFound(arn) when there is no such policy (a
        policy always has its default version)."""
        with self._tx() as db:
            versions = [_policy_version(row) for row in db.execute(_POLICY_VERSIONS, {"arn": arn})]
        if not versions:
            raise NotFound(arn)
        return versions

    def restore_missing_default_versions(self) -> int:
        """Give every managed policy without versions its document as its default version; how many needed it.

        A policy always has its default version, but a samlfed from before policy versions (schema 0009), still
        running on a database a newer one has upgraded, creates policies without one: GetPolicyVersion and
        ListPolicyVersions then answered NoSuchEntity for them, and GetAccountAuthorizationDetails left them out.
        Only read when there is nothing to restore (a database that takes no writes still opens); written under the
        start-up lock, so that nodes opening together do not insert the same versions."""
        policies, versions = t.managed_policies.c, t.policy_versions.c
        versionless = select(policies.arn, policies.default_version, policies.document, policies.created_at).where(
            ~exists().where(versions.arn == policies.arn)
        )
        with self._tx() as db:
            if db.execute(select(exists(versionless))).scalar() is not True:
                return 0
        with exclusive(self.engine) as db:  # its statements see what a node that held the lock before restored
            restored = insert(t.policy_versions).from_select(["arn", "version_number", "document", "created_at"], versionless)
            return len(db.execute(restored.returning(versions.arn)).all())  # rowcount: -1 here on PostgreSQL (psycopg)

    def policy_versions_of(self, arns: Sequence[str]) -> dict[str, list[PolicyVersion]]:
        """The versions of each managed policy named, newest first (as list_policy_versions), in one statement; a policy
        that does not exist (or no longer) is absent."""
        if not arns:
            return {}
        versions = t.policy_versions.c
        query = (
            select(t.policy_versions, t.managed_policies.c.default_version)
            .join(t.managed_policies, t.managed_policies.c.arn == versions.arn)
            .where(versions.arn.in_(list(dict.fromkeys(arns))))
            .order_by(versions.arn, versions.version_number.desc())
        )
        with self._tx() as db:
            rows = db.execute(query).all()
        return {arn: [_policy_version(row) for row in group] for arn, group in _grouped(rows, "arn").items()}

    @_rerun_on_race
    def delete_policy_version(self, arn: str, version_id: str) -> None:
        """Conflict for the default version (DeletePolicy deletes that one); NoSuchPolicyVersion for a version the
        policy does not have. Under the policy's row lock: a concurrent SetDefaultPolicyVersion cannot make the
        version default between the check and the delete."""
        number = _version_number(version_id)
        with self._tx() as db:
            policy = _lock_by_arn(db, t.managed_policies, arn)
            if number is not None and number == policy.default_version:
                raise Conflict(f"{arn} version {version_id} is the default")
            versions = t.policy_versions.c
            if number is None or db.execute(delete(t.policy_versions).where(and_(versions.arn == arn, versions.version_number == number))).rowcount == 0:
                raise NoSuchPolicyVersion(f"{arn} version {version_id}")

    def set_default_policy_version(self, arn: str, version_id: str) -> None:
        """Make the version the default: the policy's document becomes its document in the same transaction, so that
        every later evaluation, on any node, reads the new default (nothing caches managed policies). UpdateDate does
        not change (it is the newest version's CreateDate)."""
        number = _version_number(version_id)
        policies, versions = t.managed_policies, t.policy_versions.c
        with self._tx() as db:
            _lock_by_arn(db, t.managed_policies, arn)
            row = None if number is None else db.execute(
                select(versions.document).where(and_(versions.arn == arn, versions.version_number == number))
            ).one_or_none()
            if row is None:
                raise NoSuchPolicyVersion(f"{arn} version {version_id}")
            db.execute(update(policies).where(policies.c.arn == arn).values(default_version=number, document=row.document))

    @_rerun_on_race
    def attach_role_policy(self, account_id: str, name: str, policy_arn: str, *, limit: int | None = None) -> None:
        """Attach (attaching again changes nothing). LimitReached when the role has `limit` policies attached already,
        counted under the role's row lock, so that concurrent attaches to one role count one after the other."""
        with self._tx() as db:
            self._lock_role(db, account_id, name)
            self._require(db, t.managed_policies, t.managed_policies.c.arn == policy_arn, policy_arn)
            attached = self._role_key(t.role_policy_attachments, account_id, name)
            arns = set(db.execute(select(t.role_policy_attachments.c.policy_arn).where(attached)).scalars())
            if policy_arn in arns:
                return
            if limit is not None and len(arns) >= limit:
                raise LimitReached(f"policies attached to role {name}")
            db.execute(insert(t.role_policy_attachments).values(account_id=account_id, role_name_lower=name.lower(), policy_arn=policy_arn))

    def detach_role_policy(self, account_id: str, name: str, policy_arn: str) -> None:
        with self._tx() as db:
            key = and_(self._role_key(t.role_policy_attachments, account_id, name), t.role_policy_attachments.c.policy_arn == policy_arn)
            if db.execute(delete(t.role_policy_attachments).where(key)).rowcount == 0:
                raise NotFound(f"policy {policy_arn} is not attached to role {name}")

    def list_attached_role_policies(self, account_id: str, name: str) -> list[ManagedPolicy]:
        with self._tx() as db:
            self._require(db, t.roles, and_(t.roles.c.account_id == account_id, t.roles.c.name_lower == name.lower()), f"role {name}")
            rows = db.execute(self._attached(account_id, name, t.managed_policies)).all()
            return [self._policy(db, row, account_id) for row in rows]

    @_rerun_on_race
    def tag_policy(self, arn: str, tags: Sequence[Tag], *, limit: int | None = None) -> None:
        """Add or replace tags; LimitReached when the policy would then have more than `limit` tags (counted under
        the policy's row lock)."""
        with self._tx() as db:
            _lock_by_arn(db, t.managed_policies, arn)
            held = _POLICY_TAG_KEYS.held(db.execute(_POLICY_TAGS, {"arn": arn}))
            _within_tag_limit(held, _POLICY_TAG_KEYS.of(tag.key for tag in tags), limit, arn)
            self._upsert_tags(db, _POLICY_TAG_KEYS, {"arn": arn}, tags)

    def untag_policy(self, arn: str, keys: Sequence[str]) -> None:
        """Under the policy's row lock, as tag_policy (see untag_provider)."""
        with self._tx() as db:
            _lock_by_arn(db, t.managed_policies, arn)
            db.execute(delete(t.policy_tags).where(and_(t.policy_tags.c.arn == arn, _POLICY_TAG_KEYS.among(keys))))

    def _policy(self, db: Connection, row, viewer: str) -> ManagedPolicy:  # type: ignore[no-untyped-def]
        """The policy of `row`, with the number of roles of account `viewer` it is attached to."""
        attachments = t.role_policy_attachments.c
        count = db.execute(
            select(func.count()).select_from(t.role_policy_attachments).where(and_(attachments.policy_arn == row.arn, attachments.account_id == viewer))
        ).scalar_one()
        tags = db.execute(_POLICY_TAGS, {"arn": row.arn}).all()
        return self._policy_of(row, count, tuple(Tag(tag.key, tag.value) for tag in tags))

    @staticmethod
    def _policy_of(row, attachment_count: int, tags: tuple[Tag, ...]) -> ManagedPolicy:  # type: ignore[no-untyped-def]
        return ManagedPolicy(
            arn=row.arn, account_id=row.account_id, name=row.name, policy_id=row.policy_id, path=row.path, document=row.document,
            created_at=_aware(row.created_at), updated_at=_aware(row.updated_at), description=row.description,
            attachment_count=attachment_count, tags=tags, default_version_id=_version_id(row.default_version),
        )

    # --- the server key ring -----------------------------------------------------------------------

    def list_server_keys(self) -> list[ServerKey]:
        with self._tx() as db:
            rows = db.execute(select(t.server_keys).order_by(t.server_keys.c.created_at)).all()
        return [ServerKey(r.key_id, bytes(r.sealed_key), r.active, _aware(r.created_at)) for r in rows]

    def add_server_key(self, key: ServerKey) -> None:
        """Add a key; when it is active, it becomes the only active one, in the same transaction. Under the ring's lock:
        on PostgreSQL a rotation's UPDATE that waited for another's would not see the key that one inserted, and leave
        it marked active beside its own."""
        with self._tx() as db:
            hold_ring_lock(db)
            if key.active:
                db.execute(update(t.server_keys).values(active=False))
            _insert_server_key(db, key)

    def add_first_server_key(self, key: ServerKey) -> bool:
        """Start the key ring with `key` unless it has a key already (False: another node started it; read theirs).
        Under a lock of its own: two nodes starting together must not each create a ring and each use its own."""
        with self._tx() as db:
            hold_ring_lock(db)
            if db.execute(select(t.server_keys.c.key_id).limit(1)).first() is not None:
                return False
            _insert_server_key(db, key)
        return True

    def delete_server_key(self, key_id: str) -> None:
        """Remove a key from the ring; never the active one (Conflict), checked in the deleting statement itself."""
        keys = t.server_keys.c
        with self._tx() as db:
            if db.execute(delete(t.server_keys).where(keys.key_id == key_id, keys.active.is_(False))).rowcount == 1:
                return
            if db.execute(select(keys.key_id).where(keys.key_id == key_id)).first() is None:
                raise NotFound(f"server key {key_id}")
            raise Conflict(f"server key {key_id} is the active key")

    def oldest_access_key(self) -> AccessKey | None:
        with self._tx() as db:
            row = db.execute(select(t.access_keys).order_by(t.access_keys.c.created_at, t.access_keys.c.access_key_id).limit(1)).first()
        return _access_key(row) if row else None

    def list_instance_keys(self) -> list[tuple[str, bytes]]:
        """(name, sealed value) of every instance key."""
        with self._tx() as db:
            rows = db.execute(select(t.instance_keys.c.name, t.instance_keys.c.sealed_value).order_by(t.instance_keys.c.name)).all()
        return [(r.name, bytes(r.sealed_value)) for r in rows]

    def get_instance_key(self, name: str) -> bytes | None:
        with self._tx() as db:
            row = db.execute(select(t.instance_keys.c.sealed_value).where(t.instance_keys.c.name == name)).first()
        return bytes(row.sealed_value) if row else None

    def add_instance_key(self, name: str, sealed_value: bytes, *, now: datetime) -> bool:
        """Store a key under `name` unless one is there already (False: another node was first; read theirs)."""
        try:
            with self._tx() as db:
                db.execute(insert(t.instance_keys).values(name=name, sealed_value=sealed_value, created_at=now))
        except IntegrityError:
            return False
        return True

    def add_first_instance_key(self, name: str, sealed_value: bytes, *, now: datetime) -> bool:
        """`add_instance_key` under the start-up lock, for a write every node starting together makes (the master key
        check): it waits as long as start-up work does, not a statement's 5 s on SQLite, which nodes queueing for the
        lock could outlast on a loaded machine."""
        keys = t.instance_keys.c
        with exclusive(self.engine) as db:
            if db.execute(select(keys.name).where(keys.name == name)).first() is not None:
                return False
            db.execute(insert(t.instance_keys).values(name=name, sealed_value=sealed_value, created_at=now))
        return True

    # --- authorization API keys --------------------------------------------------------------------

    def add_authz_key(self, key_id: str, name: str, secret_hash: str, *, now: datetime) -> None:
        with self._tx() as db:
            db.execute(insert(t.authz_keys).values(key_id=key_id, name=name, secret_hash=secret_hash, created_at=now))

    def get_authz_key(self, key_id: str) -> tuple[str, str] | None:
        """(name, secret hash) of a key, or None."""
        with self._tx() as db:
            row = db.execute(select(t.authz_keys.c.name, t.authz_keys.c.secret_hash).where(t.authz_keys.c.key_id == key_id)).first()
        return (row.name, row.secret_hash) if row else None

    def list_authz_keys(self) -> list[tuple[str, str, datetime]]:
        with self._tx() as db:
            rows = db.execute(select(t.authz_keys).order_by(t.authz_keys.c.created_at)).all()
        return [(r.key_id, r.name, _aware(r.created_at)) for r in rows]

    def delete_authz_key(self, key_id: str) -> None:
        with self._tx() as db:
            if db.execute(delete(t.authz_keys).where(t.authz_keys.c.key_id == key_id)).rowcount == 0:
                raise NotFound(f"authorization key {key_id}")

    # --- one-time use of assertions ----------------------------------------------------------------

    def redeem_once(self, issuer: str, assertion_id: str, role_arn: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record a use of (issuer, assertion, role); False when it was already used. Atomic across nodes."""
        try:
            self.redeem_all([Redemption(issuer, assertion_id, role_arn, expires_at)], now=now)
        except AlreadyRedeemed:
            return False
        return True

    def redeem_all(self, uses: Sequence[Redemption], *, now: datetime) -> None:
        """Record every use in one transaction, or none of them: AlreadyRedeemed names the first found recorded
        before. A failure part way (the database going away) keeps none either, so the client's retry is no replay."""
        if not uses:  # the usual sign-in (no OneTimeUse, no strict replay): no transaction at all
            return
        with self._tx() as db:
            _record_uses(db, uses, now)

    def was_redeemed(self, issuer: str, assertion_id: str, role_arn: str, *, now: datetime) -> bool:
        """Whether (issuer, assertion, role) has a live use recorded (a look, not a use)."""
        redemption = _redemption(issuer, assertion_id, role_arn)
        table = t.redeemed_assertions
        with self._tx() as db:
            row = db.execute(select(table.c.expires_at).where(table.c.redemption == redemption)).first()
        return row is not None and _aware(row.expires_at) >= now - REPLAY_RECORD_MARGIN

    # --- console sessions --------------------------------------------------------------------------

    @_rerun_on_race
    def put_console_session(
        self, session_hash: str, sealed_state: bytes, *, expires_at: datetime, now: datetime, redeeming: Sequence[Redemption] = (),
    ) -> None:
        """Create or replace a console session (expired sessions are swept on the way), recording the uses of
        `redeeming` in the same transaction: AlreadyRedeemed (no session) when one was recorded before, and a
        session that cannot be written keeps none of them."""
        table = t.console_sessions
        with self._tx() as db:
            _record_uses(db, redeeming, now)
            db.execute(delete(table).where(table.c.session_hash == session_hash))
            _sweep_expired(db, table, table.c.session_hash, now)
            db.execute(insert(table).values(session_hash=session_hash, sealed_state=sealed_state, expires_at=expires_at))

    def get_console_session(self, session_hash: str, *, now: datetime) -> bytes | None:
        table = t.console_sessions
        with self._tx() as db:
            row = db.execute(select(table.c.sealed_state, table.c.expires_at).where(table.c.session_hash == session_hash)).first()
        if row is None or _aware(row.expires_at) <= now:
            return None
        return bytes(row.sealed_state)

    def delete_console_session(self, session_hash: str) -> None:
        with self._tx() as db:
            db.execute(delete(t.console_sessions).where(t.console_sessions.c.session_hash == session_hash))

    # --- helpers -----------------------------------------------------------------------------------

    def _require(self, db: Connection, table, where, what: str) -> None:  # type: ignore[no-untyped-def]
        if db.execute(select(table).where(where).limit(1)).first() is None:
            raise NotFound(what)

    def _update_one(self, table, where, what: str, **values: object) -> None:  # type: ignore[no-untyped-def]
        with self._tx() as db:
            if db.execute(update(table).where(where).values(**values)).rowcount == 0:
                raise NotFound(what)

    @staticmethod
    def _upsert_tags(db: Connection, keys: _TagKeys, owner: dict[str, str], tags: Sequence[Tag]) -> None:
        """A new value replaces the old one under the same key, as `keys` tells keys apart."""
        table = keys.table
        for tag in tags:
            where = and_(*(table.c[k] == v for k, v in owner.items()), keys.among([tag.key]))
            db.execute(delete(table).where(where))
            db.execute(insert(table).values(**owner, key_lower=tag.key.lower(), key=tag.key, value=tag.value))

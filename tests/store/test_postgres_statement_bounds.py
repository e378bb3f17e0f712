"""PostgreSQL that waits or refuses, as a review found it on real servers: a statement behind a lock is refused after
lock_timeout (before, it and every request of the worker, health probes too, waited as long as the lock); the
start-up lock is exempt; the key ring's periodic re-read waits off the request path; a read-only database is
DatabaseUnavailable (503), not a 500 with a traceback, and not ready."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from postgres_scratch import POSTGRES_URL, holding, scratch_database, scratch_schema
from sqlalchemy import create_engine, event, text

from samlfed.context import ServiceContext
from samlfed.masterkey import MasterKey
from samlfed.store import Account, DatabaseUnavailable, SqlStore, StoreUnavailable
from samlfed.store.locking import ADVISORY_LOCK_KEY, RING_LOCK_KEY
from samlfed.store.opening import open_store
from samlfed.store.postgres_answers import ANSWER_MARGIN_SECONDS
from samlfed.store.sql import POSTGRES_STATEMENT_BOUNDS, _postgres_statement_bounds

NOW = datetime(2026, 12, 2, tzinfo=UTC)
DEADLOCK_GUARD = 60
"""How long a test waits for a call that must not hang before it fails (not a measure of speed)."""


def finishes(call: Callable[[], object]) -> tuple[bool, object]:
    """Run `call` in a thread: whether it ended within DEADLOCK_GUARD, and what it returned or raised."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLOCK_GUARD)
    return not thread.is_alive(), outcome[0] if outcome else None


def test_sessions_get_samlfeds_bounds_unless_the_url_sets_its_own() -> None:
    with scratch_schema("samlfed_bounds") as url:
        for store_url, expected in (
            (url, POSTGRES_STATEMENT_BOUNDS),
            (url + "%20-c%20lock_timeout%3D1500ms", {**POSTGRES_STATEMENT_BOUNDS, "lock_timeout": "1500ms"}),
        ):
            store = SqlStore.open(store_url)
            try:
                with store.engine.connect() as db:
                    assert {name: db.exec_driver_sql(f"SHOW {name}").scalar() for name in expected} == expected
            finally:
                store.engine.dispose()


def test_a_new_connection_is_made_ready_in_one_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The bounds are SET and the answer bound read in one simple query (it took seven round trips: BEGIN and
    COMMIT around each part), and the SETs outlive the pool's rollbacks."""
    with scratch_schema("samlfed_bounds") as url:
        store = SqlStore.open(url)
        trace = tmp_path / "libpq.trace"
        try:
            store.engine.dispose()  # the next checkout makes a new connection
            with trace.open("w") as sink:
                event.listen(store.engine, "connect", lambda connection, _record: connection.pgconn.trace(sink.fileno()), insert=True)
                event.listen(store.engine, "connect", lambda connection, _record: connection.pgconn.untrace())
                with store.engine.connect() as db:
                    db.rollback()
                    assert {name: db.exec_driver_sql(f"SHOW {name}").scalar() for name in POSTGRES_STATEMENT_BOUNDS} == POSTGRES_STATEMENT_BOUNDS
                    assert db.connection.dbapi_connection.answer_bound == 30 + ANSWER_MARGIN_SECONDS
        finally:
            store.engine.dispose()
        sent = [line for line in trace.read_text().splitlines() if "\tF\t" in line]  # messages from the client
        assert len(sent) == 1 and "SET lock_timeout" in sent[0] and "SET statement_timeout" in sent[0] and "pg_settings" in sent[0], sent


@pytest.mark.parametrize(("options", "kept"), [
    ("-c%20deadlock_timeout%3D1s", {"lock_timeout", "statement_timeout"}),  # another setting whose name contains ours
    ("-clock_timeout%3D1s", {"statement_timeout"}),  # -c glued to the name, as libpq allows
    ("--statement_timeout%3D0%20-c%20lock_timeout%3D2s", set()),
    ("-c%20idle_in_transaction_session_timeout%3D9s", {"lock_timeout", "statement_timeout"}),
])
def test_only_the_settings_the_url_names_are_left_to_it(options: str, kept: set[str]) -> None:
    assert set(_postgres_statement_bounds(f"postgresql+psycopg://db.example/samlfed?options={options}")) == kept


def test_a_statement_behind_a_lock_is_refused_instead_of_waiting_for_it() -> None:
    with scratch_schema("samlfed_bounds") as url:
        store = SqlStore.open(url)
        try:
            store.create_account(Account("111111111111", None, NOW))
            with holding(url, "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"):
                ended, outcome = finishes(lambda: store.get_account("111111111111"))
                assert ended, "the read waited for the lock"
                assert isinstance(outcome, DatabaseUnavailable) and "lock timeout" in str(outcome)
            assert store.get_account("111111111111").account_id == "111111111111"
        finally:
            store.engine.dispose()


def test_start_up_waits_for_another_nodes_migration_beyond_the_bound() -> None:
    """The start-up lock (locking.exclusive) is held by another node for longer than lock_timeout: opening waits."""
    with scratch_schema("samlfed_bounds") as url:
        with holding(url, f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"):
            release_after = float(POSTGRES_STATEMENT_BOUNDS["lock_timeout"].removesuffix("s")) + 2
            opened: list[object] = []
            opener = threading.Thread(target=lambda: opened.append(_open_or_error(url)), daemon=True)
            opener.start()
            opener.join(release_after)
            assert opener.is_alive() and not opened, opened  # still waiting past lock_timeout, not failed
        opener.join(DEADLOCK_GUARD)
        assert opened and isinstance(opened[0], SqlStore), opened
        opened[0].engine.dispose()


def _open_or_error(url: str) -> SqlStore | Exception:
    try:
        return SqlStore.open(url)
    except Exception as exc:  # noqa: BLE001 - the outcome under test
        return exc


def test_the_rings_periodic_reread_waits_off_the_request_path() -> None:
    with scratch_schema("samlfed_bounds") as url:
        unbounded = url + "%20-c%20lock_timeout%3D0%20-c%20statement_timeout%3D0"  # an operator's: waits for ever
        store = SqlStore.open(unbounded)
        master = MasterKey(secrets.token_bytes(32))
        try:
            node = ServiceContext(store=store, master=master)
            first = node.key_ring().active
            rotated = ServiceContext(store=store, master=master).rotate_key_ring().active
            node._ring_loaded -= node.ring_refresh_seconds - node.ring_refresh_lead / 2  # a busy node's re-read is due
            with holding(url, "LOCK TABLE server_keys IN ACCESS EXCLUSIVE MODE"):
                ended, outcome = finishes(lambda: [node.key_ring().active for _ in range(5)])
                assert ended, "a request waited for the ring's re-read"
                assert outcome == [first] * 5  # the ring held serves meanwhile
            node.settle_ring_refresh()
            assert node.key_ring().active == rotated
        finally:
            store.engine.dispose()


@pytest.fixture
def read_only_database() -> Iterator[tuple[SqlStore, Callable[[bool], None]]]:
    """A store on a database of its own, and a function that makes that database read-only (as a standby is) or
    writable again."""
    with scratch_database("samlfed_readonly") as name:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        store = SqlStore.open(url)

        def set_read_only(read_only: bool) -> None:
            admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as db:
                setting = "SET default_transaction_read_only = on" if read_only else "RESET default_transaction_read_only"
                db.execute(text(f'ALTER DATABASE "{name}" {setting}'))
            admin.dispose()

        try:
            yield store, set_read_only
        finally:
            store.engine.dispose()


def test_a_read_only_database_refuses_writes_as_unavailable_and_is_not_ready(read_only_database: tuple[SqlStore, Callable[[bool], None]]) -> None:
    store, set_read_only = read_only_database
    store.ping()
    set_read_only(True)
    store.engine.dispose()  # sessions begun from now on are read-only (a node started on a standby)
    with pytest.raises(DatabaseUnavailable, match="read-only transaction"):
        store.create_account(Account("111111111111", None, NOW))
    with pytest.raises(StoreUnavailable, match="the database is read-only"):
        store.ping()
    assert store.list_accounts() == []  # reads go on
    set_read_only(False)  # the database takes writes again: the node does too, without a restart
    store.ping()
    store.create_account(Account("111111111111", None, NOW))
    assert [a.account_id for a in store.list_accounts()] == ["111111111111"]


def test_a_node_starts_on_a_read_only_database(read_only_database: tuple[SqlStore, Callable[[bool], None]]) -> None:
    """Opening only reads when there is nothing to repair (a standby after a failover): the node starts, and serves
    reads."""
    store, set_read_only = read_only_database
    url, master = store.engine.url.render_as_string(hide_password=False), MasterKey(secrets.token_bytes(32))
    open_store(url, master, now=NOW).engine.dispose()  # the first start writes the master key check
    set_read_only(True)
    opened = open_store(url, master, now=NOW)
    try:
        assert opened.list_accounts() == []
    finally:
        opened.engine.dispose()


def test_the_first_key_ring_is_not_held_up_by_the_start_up_lock() -> None:
    """The first ring is made on the first sign-in's path: under the start-up lock, that request, and every other of
    its worker, waited for as long as another process held it (a migration, a stuck start)."""
    with scratch_schema("samlfed_bounds") as url:
        store = SqlStore.open(url)
        try:
            with holding(url, f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"):
                ended, outcome = finishes(lambda: ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32))).key_ring().active)
                assert ended, "the first ring waited for the start-up lock"
                assert isinstance(outcome, str), outcome
        finally:
            store.engine.dispose()


def test_a_first_ring_lock_held_elsewhere_is_the_retryable_503_after_the_bound() -> None:
    with scratch_schema("samlfed_bounds") as url:
        store = SqlStore.open(url)
        try:
            with holding(url, f"SELECT pg_advisory_xact_lock({RING_LOCK_KEY})"):
                ended, outcome = finishes(lambda: ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32))).key_ring())
                assert ended, "the first ring waited for the lock without bound"
                assert isinstance(outcome, DatabaseUnavailable) and "lock timeout" in str(outcome), outcome
            assert ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32))).key_ring().active  # made once the lock is free
        finally:
            store.engine.dispose()

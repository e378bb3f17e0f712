"""A PostgreSQL that stops answering while its connections stay open (a hung disk, a stopped server, a stuck pooler)
holds a request for statement_timeout and a margin, not for ever; the start-up lock, which lifts the server's own
bounds, waits on. After one such wait, calls fail at once until the server answers again. The database sits behind a
proxy that stops forwarding while it keeps every connection open."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from pausing_proxy import PausingProxy, pausing_proxy
from postgres_scratch import POSTGRES_URL, scratch_schema
from sqlalchemy import URL, make_url, text
from test_postgres_statement_bounds import NOW, finishes

from samlfed.store import Account, DatabaseUnavailable, SqlStore, StoreUnavailable, postgres_answers
from samlfed.store.locking import exclusive
from samlfed.store.postgres_answers import ANSWER_MARGIN_SECONDS, BoundedConnection

STATEMENT_TIMEOUT_SECONDS = 1
BOUND = STATEMENT_TIMEOUT_SECONDS + ANSWER_MARGIN_SECONDS


CONNECT_TIMEOUT_SECONDS = 2


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses every connection: bound, so that nothing else takes it, but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextmanager
def store_behind_proxy(*, then_port: int | None = None) -> Iterator[tuple[SqlStore, PausingProxy]]:
    """A store on a scratch schema reached through a pausing proxy, with a short statement_timeout (and so a short
    answer bound) and connect_timeout to keep the tests short; with `then_port`, the URL names 127.0.0.1 at that
    port as a second host, which libpq tries when the proxy's fails."""
    with scratch_schema("samlfed_answers") as url:
        database = make_url(url)
        with pausing_proxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
            hosts = [f"127.0.0.1:{proxy.port}"] + ([f"127.0.0.1:{then_port}"] if then_port is not None else [])
            query = {
                **database.query, "host": tuple(hosts), "connect_timeout": str(CONNECT_TIMEOUT_SECONDS),
                "options": f"{database.query['options']} -c statement_timeout={STATEMENT_TIMEOUT_SECONDS}s",
            }
            proxied = URL.create(database.drivername, username=database.username, password=database.password, database=database.database, query=query)
            store = SqlStore.open(proxied.render_as_string(hide_password=False))
            try:
                yield store, proxy
            finally:
                store.engine.dispose()


def test_a_database_that_stops_answering_is_given_up_after_the_bound_and_found_again_after(caplog: pytest.LogCaptureFixture) -> None:
    with store_behind_proxy() as (store, proxy):
        store.create_account(Account("111111111111", None, NOW))
        proxy.pause()
        started = time.monotonic()
        with caplog.at_level(logging.INFO, "samlfed.store"):
            ended, outcome = finishes(lambda: store.get_account("111111111111"))
            waited = time.monotonic() - started
            assert ended, "the read waited for an answer that never came"
            # The pool's ping of the connection was given up; the new connection it then asked for was refused at once.
            assert isinstance(outcome, DatabaseUnavailable), outcome
            assert [r.getMessage() for r in caplog.records] == [
                f"PostgreSQL did not answer within {BOUND:g} s; closed the connection.",
                f"PostgreSQL is not answering (no answer within {BOUND:g} s): database calls fail at once until it answers again.",
            ]
            assert waited >= BOUND  # it waited for the answer as long as the server's own timeout allows, and more

            # Known silent: later calls, the readiness check's too, fail without waiting (and say so).
            for call in (lambda: store.get_account("111111111111"), store.ping):
                ended, outcome = finishes(call)
                assert ended and isinstance(outcome, DatabaseUnavailable | StoreUnavailable), outcome
                assert "PostgreSQL is not answering (since " in str(outcome), outcome

            proxy.resume()
            # The probe finds the server again; no request has to.
            assert recovers(store), "the store did not find the database again"
            assert last_logged(caplog, "PostgreSQL answers again: database calls go through again.")
        assert store.get_account("111111111111").account_id == "111111111111"  # a new connection, no restart


def a_new_connection_opens_the_watch(store: SqlStore, proxy: PausingProxy, caplog: pytest.LogCaptureFixture) -> None:
    """With no pooled connection and the proxy paused, the next call connects, waits out connect_timeout, fails, and
    opens the watch (logged once)."""
    store.engine.dispose()
    proxy.pause()
    ended, outcome = finishes(lambda: store.get_account("111111111111"))
    assert ended and isinstance(outcome, DatabaseUnavailable), outcome
    assert [r.getMessage() for r in caplog.records] == [
        "PostgreSQL is not answering (no connection within connect_timeout): database calls fail at once until it answers again.",
    ]


def test_a_connection_that_is_not_accepted_in_time_makes_later_calls_fail_at_once(caplog: pytest.LogCaptureFixture) -> None:
    with store_behind_proxy() as (store, proxy):
        with caplog.at_level(logging.WARNING, "samlfed.store"):
            a_new_connection_opens_the_watch(store, proxy, caplog)
        ended, outcome = finishes(lambda: store.get_account("111111111111"))
        assert ended and isinstance(outcome, DatabaseUnavailable) and "PostgreSQL is not answering (since " in str(outcome), outcome
        proxy.resume()
        assert recovers(store)


def test_a_silent_host_before_a_refusing_one_makes_later_calls_fail_at_once(caplog: pytest.LogCaptureFixture) -> None:
    """With several hosts in the URL, psycopg raises the last host's error: here a refusal, though the attempt first
    waited connect_timeout for the silent host. The probe takes such an attempt for silence too."""
    with refusing_port() as refused, store_behind_proxy(then_port=refused) as (store, proxy):
        store.create_account(Account("111111111111", None, NOW))
        with caplog.at_level(logging.INFO, "samlfed.store"):
            a_new_connection_opens_the_watch(store, proxy, caplog)
            time.sleep(1 + CONNECT_TIMEOUT_SECONDS + 1)  # past the first probe: a wait for the silent host, then a refusal
            for _ in range(2):
                started = time.monotonic()
                ended, outcome = finishes(lambda: store.get_account("111111111111"))
                assert ended and isinstance(outcome, DatabaseUnavailable) and "PostgreSQL is not answering (since " in str(outcome), outcome
                assert time.monotonic() - started < CONNECT_TIMEOUT_SECONDS  # at once, not after another wait
            assert len(caplog.records) == 1  # the probe did not take the refusal for an answer
            proxy.resume()
            assert recovers(store)
            assert last_logged(caplog, "PostgreSQL answers again: database calls go through again.")
        assert store.get_account("111111111111").account_id == "111111111111"


def test_a_connection_with_its_bound_lifted_still_waits_while_the_database_is_known_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up lock runs migrations that may take longer than any bound: its connection is left to wait."""
    monkeypatch.setattr(postgres_answers, "PROBE_INTERVAL_SECONDS", 3600.0)  # no probe ends the silence under the test
    with store_behind_proxy() as (store, _proxy), exclusive(store.engine) as connection:
        watch = connection.connection.dbapi_connection.watch
        watch.heard_nothing("a test's silence", since=time.time())
        assert connection.execute(text("SELECT 1")).scalar() == 1
        ended, outcome = finishes(lambda: store.get_account("111111111111"))
        assert ended and isinstance(outcome, DatabaseUnavailable) and "a test's silence" in str(outcome), outcome


def test_disposing_of_the_engine_ends_the_probe_and_the_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_answers, "PROBE_INTERVAL_SECONDS", 3600.0)
    with store_behind_proxy() as (store, _proxy):
        with store.engine.connect() as connection:
            watch = connection.connection.dbapi_connection.watch
        before = set(threading.enumerate())
        watch.heard_nothing("a test's silence", since=time.time())
        [probe] = [t for t in set(threading.enumerate()) - before if t.name == "samlfed-postgres-probe"]
        store.engine.dispose()
        probe.join(10)
        assert not probe.is_alive() and watch.silence is None
        store.create_account(Account("111111111111", None, NOW))  # the next call finds out for itself


def test_a_probe_that_fails_by_itself_lets_calls_through_again(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The breaker only saves waiting: if the probe cannot run, calls wait for their answers as they did without it."""
    monkeypatch.setattr(postgres_answers, "PROBE_INTERVAL_SECONDS", 0.01)
    watch = postgres_answers.AnswerWatch()
    monkeypatch.setattr(postgres_answers.BoundedConnection, "connect", classmethod(lambda cls, *a, **k: 1 / 0))
    with caplog.at_level(logging.INFO, "samlfed.store"):
        watch.heard_nothing("a test's silence", since=time.time())
        assert last_logged(caplog, "The probe of PostgreSQL failed (ZeroDivisionError): database calls go through again and wait as before.")
    assert watch.silence is None
    assert caplog.records[-1].levelno == logging.WARNING


def last_logged(caplog: pytest.LogCaptureFixture, message: str, seconds: float = 30.0) -> bool:
    """Whether `message` becomes the last record within `seconds` (a bounded poll): the probe logs its outcome just
    after it lets calls through, so a call may go through before the line is written."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if caplog.records and caplog.records[-1].getMessage() == message:
            return True
        time.sleep(0.01)
    return False


def recovers(store: SqlStore, seconds: float = 30.0) -> bool:
    """Whether the store reads again within `seconds` (a bounded poll: the probe asks every second)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            store.ping()
            return True
        except StoreUnavailable:
            time.sleep(0.1)
    return False


def test_the_start_up_lock_waits_for_answers_beyond_the_bound() -> None:
    """A schema upgrade under the lock may run longer than any request's statement: its connection is not bounded."""
    with store_behind_proxy() as (store, proxy), exclusive(store.engine) as connection:
        driver_connection = connection.connection.dbapi_connection
        answered: list[object] = []
        query = threading.Thread(target=lambda: answered.append(connection.execute(text("SELECT 1")).scalar()), daemon=True)
        proxy.pause()
        query.start()
        query.join(BOUND + 2)
        assert query.is_alive() and not answered  # still waiting past the bound, not failed
        proxy.resume()
        query.join(30)
        assert answered == [1]
    assert driver_connection.answer_bound == BOUND  # back in the pool, bounded again for requests


@pytest.mark.parametrize(("options", "bound"), [
    ("", 30 + ANSWER_MARGIN_SECONDS),  # samlfed's own statement_timeout
    ("%20-c%20statement_timeout%3D2min", 120 + ANSWER_MARGIN_SECONDS),
    ("%20-c%20statement_timeout%3D1500", 1.5 + ANSWER_MARGIN_SECONDS),  # milliseconds without a unit
    ("%20-c%20statement_timeout%3D1e3", 1 + ANSWER_MARGIN_SECONDS),  # as the server reads a number
    ("%20-c%20statement_timeout%3D30%5C%20s", 30 + ANSWER_MARGIN_SECONDS),  # `30\ s`: libpq's escaped space
    ("%20-c%20statement-timeout%3D7s", 7 + ANSWER_MARGIN_SECONDS),  # a dash for the underscore, as the server allows
    ("%20--statement_timeout%3D0", None),  # the operator lifted the server's bound: samlfed waits as long
    ("%20-c%20statement_timeout%3D0.4", None),  # the server rounds it to 0, no timeout
])
def test_the_bound_is_the_sessions_statement_timeout_as_the_server_holds_it(options: str, bound: float | None) -> None:
    with scratch_schema("samlfed_answers") as url:
        store = SqlStore.open(url + options)
        try:
            with store.engine.connect() as connection:
                driver_connection = connection.connection.dbapi_connection
                assert driver_connection.answer_bound == (pytest.approx(bound) if bound else None)
                assert connection.exec_driver_sql("SELECT 1").scalar() == 1  # and no transaction left open by the read
        finally:
            store.engine.dispose()


def test_psycopgs_own_unbounded_waits_are_left_alone() -> None:
    """notifies() without a timeout waits for ever, by design (it passes timeout=None on): the bound must not end it."""
    database = make_url(POSTGRES_URL)
    conninfo = {"host": database.host, "port": database.port, "user": database.username, "dbname": database.database, "autocommit": True}
    listener = BoundedConnection.connect(**conninfo)
    listener.answer_bound = 1.0
    try:
        listener.execute("LISTEN samlfed_answers")

        def notify_later() -> None:
            time.sleep(2)  # past the bound
            with psycopg.connect(**conninfo) as notifier:
                notifier.execute("NOTIFY samlfed_answers, 'late'")

        threading.Thread(target=notify_later, daemon=True).start()
        ended, outcome = finishes(lambda: next(iter(listener.notifies())).payload)
        assert ended and outcome == "late", outcome
    finally:
        listener.close()

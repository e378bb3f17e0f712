"""A PostgreSQL that stops answering while its connections stay open (a hung disk, a stopped server, a stuck pooler)
holds a request for statement_timeout and a margin, not for ever; the start-up lock, which lifts the server's own
bounds, waits on. The database sits behind a proxy that stops forwarding while it keeps every connection open."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from pausing_proxy import pausing_proxy
from postgres_scratch import scratch_schema
from sqlalchemy import make_url, text
from test_postgres_statement_bounds import NOW, finishes

from samlfed.store import Account, DatabaseUnavailable, SqlStore
from samlfed.store.locking import exclusive
from samlfed.store.postgres_answers import ANSWER_MARGIN_SECONDS, answer_bound
from samlfed.store.sql import POSTGRES_STATEMENT_BOUNDS, _postgres_options

STATEMENT_TIMEOUT_SECONDS = 1
BOUND = STATEMENT_TIMEOUT_SECONDS + ANSWER_MARGIN_SECONDS


def through(proxy_port: int, url: str) -> str:
    """`url` to the proxy, with a short statement_timeout (and so a short answer bound) to keep the test short."""
    proxied = make_url(url).set(host="127.0.0.1", port=proxy_port).render_as_string(hide_password=False)
    return proxied + f"%20-c%20statement_timeout%3D{STATEMENT_TIMEOUT_SECONDS}s&connect_timeout=2"


def test_a_database_that_stops_answering_is_given_up_after_the_bound_and_found_again_after(caplog: pytest.LogCaptureFixture) -> None:
    with scratch_schema("samlfed_answers") as url:
        database = make_url(url)
        with pausing_proxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
            store = SqlStore.open(through(proxy.port, url))
            try:
                store.create_account(Account("111111111111", None, NOW))
                proxy.pause()
                started = time.monotonic()
                with caplog.at_level(logging.WARNING, "samlfed.store"):
                    ended, outcome = finishes(lambda: store.get_account("111111111111"))
                waited = time.monotonic() - started
                assert ended, "the read waited for an answer that never came"
                # The pool's ping of the connection was given up; its new connection then met libpq's connect_timeout.
                assert isinstance(outcome, DatabaseUnavailable), outcome
                assert [r.getMessage() for r in caplog.records] == [f"PostgreSQL did not answer within {BOUND:g} s; closed the connection."]
                assert waited >= BOUND  # it waited for the answer as long as the server's own timeout allows, and more
                proxy.resume()
                assert store.get_account("111111111111").account_id == "111111111111"  # a new connection, no restart
            finally:
                store.engine.dispose()


def test_the_start_up_lock_waits_for_answers_beyond_the_bound() -> None:
    """A schema upgrade under the lock may run longer than any request's statement: its connection is not bounded."""
    with scratch_schema("samlfed_answers") as url:
        database = make_url(url)
        with pausing_proxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
            store = SqlStore.open(through(proxy.port, url))
            try:
                with exclusive(store.engine) as connection:
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
            finally:
                store.engine.dispose()


@pytest.mark.parametrize(("statement_timeout", "bound"), [
    ("30s", 30 + ANSWER_MARGIN_SECONDS),
    ("1500", 1.5 + ANSWER_MARGIN_SECONDS),  # milliseconds without a unit
    ("2min", 120 + ANSWER_MARGIN_SECONDS),
    ("0.5 s", 0.5 + ANSWER_MARGIN_SECONDS),
    ("250ms", 0.25 + ANSWER_MARGIN_SECONDS),
    ("0", None),  # the operator lifted the server's bound: samlfed waits as long
    ("0ms", None),
])
def test_the_bound_is_the_sessions_statement_timeout_and_a_margin(statement_timeout: str, bound: float | None) -> None:
    assert answer_bound(statement_timeout) == pytest.approx(bound) if bound else answer_bound(statement_timeout) is None


@pytest.mark.parametrize("value", ["thirty", "30 seconds", "-1s", "", "1e3"])
def test_a_statement_timeout_it_cannot_read_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="statement_timeout"):
        answer_bound(value)


def test_the_urls_options_give_the_statement_timeout_the_bound_follows() -> None:
    url = "postgresql+psycopg://db.example/samlfed?options=-csearch_path%3Dx%20-c%20statement_timeout%3D45s%20--lock_timeout%3D2s"
    assert _postgres_options(url) == {"search_path": "x", "statement_timeout": "45s", "lock_timeout": "2s"}
    assert _postgres_options("postgresql+psycopg://db.example/samlfed") == {}
    assert answer_bound(POSTGRES_STATEMENT_BOUNDS["statement_timeout"]) == 30 + ANSWER_MARGIN_SECONDS

"""A process waiting for the start-up lock says so, once, after NOTICE_AFTER_SECONDS: `samlfed keys rotate` behind
another node's migration waited for minutes without a word. Uncontended, it says nothing."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from postgres_scratch import holding, scratch_schema
from sqlalchemy import text

from samlfed.store import SqlStore
from samlfed.store.locking import ADVISORY_LOCK_KEY, WAITING, WAITING_SQLITE, exclusive

DEADLOCK_GUARD = 60
"""How long a test waits for a call that must not hang (not a measure of speed)."""


def notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "samlfed.store" and record.levelno == logging.WARNING]


def take_in_thread(store: SqlStore) -> tuple[threading.Thread, threading.Event, list[object]]:
    """`exclusive` in another thread, which writes a row under it; the event is set once it has the lock."""
    acquired, outcome = threading.Event(), []

    def run() -> None:
        try:
            with exclusive(store.engine) as db:
                acquired.set()
                db.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (n INTEGER)"))
                db.execute(text("INSERT INTO lock_probe VALUES (1)"))
            outcome.append("done")
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, acquired, outcome


def wait_for_notice(caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(DEADLOCK_GUARD * 20):
        if notices(caplog):
            return
        time.sleep(0.05)
    pytest.fail("no notice while the lock was held")


def check_waits_then_takes(caplog: pytest.LogCaptureFixture, store: SqlStore, hold: Callable[[], object], said: str) -> None:
    with hold():
        thread, acquired, outcome = take_in_thread(store)
        wait_for_notice(caplog)
        assert not acquired.is_set()  # still waiting, after saying so
    thread.join(DEADLOCK_GUARD)
    assert outcome == ["done"] and notices(caplog) == [said]
    with store.engine.connect() as db:
        assert db.execute(text("SELECT count(*) FROM lock_probe")).scalar_one() == 1


def test_sqlite(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")

    @contextmanager
    def another_process() -> Iterator[None]:
        other = sqlite3.connect(tmp_path / "samlfed.db", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()

    with caplog.at_level(logging.WARNING, "samlfed.store"):
        with exclusive(store.engine):
            pass
        assert notices(caplog) == []
        check_waits_then_takes(caplog, store, another_process, WAITING_SQLITE)  # any program may hold the file's lock
    store.engine.dispose()


def test_postgresql(caplog: pytest.LogCaptureFixture) -> None:
    with scratch_schema("samlfed_lock_notice") as url:
        store = SqlStore.open(url)

        try:
            with caplog.at_level(logging.WARNING, "samlfed.store"):
                with exclusive(store.engine):
                    pass
                assert notices(caplog) == []
                check_waits_then_takes(caplog, store, lambda: holding(url, f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"), WAITING)
        finally:
            store.engine.dispose()

"""A node starting while another process holds SQLite's start-up lock longer than a statement's wait (5 s) waits for
it instead of refusing to start: six nodes starting together on a busy machine queue behind one schema upgrade."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text

from samlfed.store import SqlStore
from samlfed.store.locking import SQLITE_BUSY_TIMEOUT_MS

HELD_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000 + 1.5


def test_opening_waits_for_a_start_up_lock_held_past_the_statement_wait(tmp_path: Path) -> None:
    path = tmp_path / "samlfed.db"
    url = f"sqlite:///{path}"
    SqlStore.open(url).engine.dispose()  # an existing store, in WAL mode
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # what another node's `exclusive` holds while it upgrades the schema
    released = threading.Event()

    def release() -> None:
        holder.execute("COMMIT")
        released.set()

    timer = threading.Timer(HELD_SECONDS, release)
    timer.start()
    try:
        store = SqlStore.open(url)
    finally:
        timer.join()
        holder.close()
    assert released.is_set()
    with store.engine.connect() as connection:  # the pool's connections are back to the usual statement wait
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == SQLITE_BUSY_TIMEOUT_MS
    store.engine.dispose()

"""Two key rotations at once (two `samlfed keys rotate`, or two nodes): the ring ends with one key marked active.

On PostgreSQL the second rotation's "mark every key inactive" waited for the first's row locks, then skipped the key the
first had inserted (not in its statement's view): two keys stayed marked active, and `samlfed keys retire` refused
the older one as "the active key" for ever after, while `samlfed keys list` called it retirable."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from samlfed.store import ServerKey, SqlStore

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_two_rotations_at_once_leave_one_active_key(store: SqlStore) -> None:
    store.add_server_key(ServerKey("00000000", b"sealed", True, NOW))
    first_inserted, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def pause_after_the_first_insert(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "first" and statement.lstrip().upper().startswith("INSERT INTO SERVER_KEYS"):
            first_inserted.set()
            release.wait(10)

    def rotate(key_id: str, seconds: int) -> None:
        try:
            store.add_server_key(ServerKey(key_id, b"sealed", True, NOW + timedelta(seconds=seconds)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    event.listen(store.engine, "after_cursor_execute", pause_after_the_first_insert)
    try:
        first = threading.Thread(target=rotate, args=("11111111", 1), name="first")
        second = threading.Thread(target=rotate, args=("22222222", 2), name="second")
        first.start()
        assert first_inserted.wait(10)
        second.start()
        second.join(0.5)  # the second rotation is under way, waiting for the first
        release.set()
        first.join(10)
        second.join(10)
    finally:
        release.set()
        event.remove(store.engine, "after_cursor_execute", pause_after_the_first_insert)
    assert not failures
    assert [(key.key_id, key.active) for key in store.list_server_keys()] == [("00000000", False), ("11111111", False), ("22222222", True)]

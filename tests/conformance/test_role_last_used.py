"""IAM's RoleLastUsed in the store and its per-node write throttle, on every backend (see conftest.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select, text
from test_store import ACCOUNT, NOW, account, role

from samlfed.store import NotFound, RoleLastUsed, SqlStore, schema
from samlfed.sts.role_use import RoleUseRecorder


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seeded(store: SqlStore) -> SqlStore:
    account(store)
    store.create_role(role())
    return store


def role_id(store: SqlStore, name: str = "Developer") -> str:
    return store.get_role(ACCOUNT, name).role_id


def last_use_rows(store: SqlStore) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(schema.role_last_used)).scalar_one()


# SQLite cannot reflect the expression index on lower(name) (migration 0016), so compare_metadata skips it there, saying so;
# tests/store/test_policy_name_index_migration.py checks it in the database's own catalogue.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_the_migrations_create_what_the_schema_declares(store: SqlStore) -> None:
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), schema.metadata) == []


def test_a_role_never_used_has_no_last_use(seeded: SqlStore) -> None:
    assert seeded.get_role_last_used(role_id(seeded)) is None


def test_a_use_is_recorded_and_only_a_later_one_replaces_it(seeded: SqlStore) -> None:
    rid = role_id(seeded)
    seeded.record_role_use(rid, NOW, "us-east-1")
    assert seeded.get_role_last_used(rid) == RoleLastUsed(NOW, "us-east-1")
    seeded.record_role_use(rid, NOW - timedelta(seconds=30), "eu-west-1")  # another node, writing late
    assert seeded.get_role_last_used(rid) == RoleLastUsed(NOW, "us-east-1")
    seeded.record_role_use(rid, NOW + timedelta(minutes=5), "eu-west-1")
    assert seeded.get_role_last_used(rid) == RoleLastUsed(NOW + timedelta(minutes=5), "eu-west-1")
    assert last_use_rows(seeded) == 1


def test_recording_a_use_of_no_role_is_not_found(seeded: SqlStore) -> None:
    with pytest.raises(NotFound):
        seeded.record_role_use("AROANOSUCHROLE0000000", NOW, "us-east-1")
    assert last_use_rows(seeded) == 0


def test_deleting_a_role_deletes_its_last_use_and_a_new_role_of_that_name_starts_unused(seeded: SqlStore) -> None:
    old = role_id(seeded)
    seeded.record_role_use(old, NOW, "us-east-1")
    seeded.delete_role(ACCOUNT, "Developer")
    assert last_use_rows(seeded) == 0 and seeded.get_role_last_used(old) is None
    seeded.create_role(role(role_id="AROANEWDEVELOPER00000"))
    assert seeded.get_role_last_used(role_id(seeded)) is None


def test_other_role_writes_keep_the_last_use(seeded: SqlStore) -> None:
    rid = role_id(seeded)
    seeded.record_role_use(rid, NOW, "us-east-1")
    seeded.update_role(ACCOUNT, "Developer", description="changed")
    assert seeded.get_role_last_used(rid) == RoleLastUsed(NOW, "us-east-1")


def test_a_node_writes_a_roles_use_at_most_once_per_interval(seeded: SqlStore) -> None:
    clock = Clock()
    recorder = RoleUseRecorder(seeded, 60.0, clock)
    developer = seeded.get_role(ACCOUNT, "Developer")
    recorder.record(developer, NOW, "us-east-1")
    clock.now += 59
    recorder.record(developer, NOW + timedelta(seconds=59), "eu-west-1")
    assert seeded.get_role_last_used(developer.role_id) == RoleLastUsed(NOW, "us-east-1")
    clock.now += 1
    recorder.record(developer, NOW + timedelta(seconds=60), "eu-west-1")
    assert seeded.get_role_last_used(developer.role_id) == RoleLastUsed(NOW + timedelta(seconds=60), "eu-west-1")


def test_the_throttle_is_per_role(seeded: SqlStore) -> None:
    seeded.create_role(role("Operator"))
    recorder = RoleUseRecorder(seeded, 60.0, Clock())
    developer, operator = seeded.get_role(ACCOUNT, "Developer"), seeded.get_role(ACCOUNT, "Operator")
    recorder.record(developer, NOW, "us-east-1")
    recorder.record(operator, NOW, "us-east-1")
    assert seeded.get_role_last_used(operator.role_id) == RoleLastUsed(NOW, "us-east-1")


def test_past_its_bound_the_throttle_starts_over(seeded: SqlStore) -> None:
    recorder = RoleUseRecorder(seeded, 60.0, Clock(), max_entries=2)
    developer = seeded.get_role(ACCOUNT, "Developer")
    recorder.record(developer, NOW, "us-east-1")
    recorder.record(role("Gone"), NOW, "us-east-1")  # no such role: nothing written, but it takes a place
    recorder.record(role("AlsoGone"), NOW, "us-east-1")  # the third place: the throttle forgets the first two
    recorder.record(developer, NOW + timedelta(seconds=1), "eu-west-1")
    assert seeded.get_role_last_used(developer.role_id) == RoleLastUsed(NOW + timedelta(seconds=1), "eu-west-1")


def test_a_failed_write_is_logged_never_raised_and_tried_again_a_few_seconds_later(seeded: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    developer = seeded.get_role(ACCOUNT, "Developer")
    with seeded.engine.begin() as connection:  # the database refuses every write of a last use
        connection.execute(text("DROP TABLE role_last_used"))
    clock = Clock()
    recorder = RoleUseRecorder(seeded, 60.0, clock, retry=5.0)
    with caplog.at_level(logging.WARNING, logger="samlfed.sts"):
        recorder.record(developer, NOW, "us-east-1")
        clock.now += 4.9
        recorder.record(developer, NOW, "us-east-1")  # not tried: a sign-in per second must not each wait and warn
        clock.now += 0.2
        recorder.record(developer, NOW, "us-east-1")  # tried again: nothing was written
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # A missing table is a failure of the database on both: its driver's line is logged
    expected = {"sqlite": "no such table: role_last_used", "postgresql": 'relation "role_last_used" does not exist'}[seeded.engine.dialect.name]
    assert warnings == [f"role last use not recorded role={developer.arn} error={expected}"] * 2


def test_a_role_deleted_before_its_use_is_written_is_no_warning(seeded: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    developer = seeded.get_role(ACCOUNT, "Developer")
    seeded.delete_role(ACCOUNT, "Developer")
    with caplog.at_level(logging.WARNING, logger="samlfed.sts"):
        RoleUseRecorder(seeded, 60.0, Clock()).record(developer, NOW, "us-east-1")
    assert caplog.records == [] and last_use_rows(seeded) == 0


def test_a_region_as_long_as_a_host_label_is_kept(seeded: SqlStore) -> None:
    """The caller's credential scope names the region of a chained role's use: any host label, up to 63 characters
    (PostgreSQL refused more than 32, and the use went unrecorded)."""
    rid = role_id(seeded)
    seeded.record_role_use(rid, NOW, "R" * 63)
    assert seeded.get_role_last_used(rid) == RoleLastUsed(NOW, "R" * 63)


def _lock_wait(connection: object, dialect: str) -> str:
    """The lock wait in effect on a raw driver connection: PostgreSQL's lock_timeout, SQLite's busy_timeout (ms)."""
    query = "SHOW lock_timeout" if dialect == "postgresql" else "PRAGMA busy_timeout"
    return str(connection.execute(query).fetchone()[0])  # type: ignore[attr-defined]


def test_a_use_waits_briefly_for_a_lock_held_elsewhere_and_other_statements_as_long_as_ever(seeded: SqlStore) -> None:
    """Found by a database-outage probe: the write of a last use waited a statement's 5 s behind another process's
    write lock, on the worker's event loop, so every request of the worker (GetCallerIdentity and health probes too)
    stalled for 5 s at each retry. It may be skipped, so it waits 50 ms; the connection goes back to the pool with
    the wait every other statement needs."""
    dialect = seeded.engine.dialect.name
    waits: list[tuple[str, str]] = []

    def seen(connection, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        kind = "use" if "role_last_used" in statement and "INSERT" in statement.upper() else "other"
        waits.append((kind, _lock_wait(connection.connection.dbapi_connection, dialect)))

    rid = role_id(seeded)
    event.listen(seeded.engine, "before_cursor_execute", seen)
    try:
        seeded.record_role_use(rid, NOW, "us-east-1")
        seeded.get_role_last_used(rid)
    finally:
        event.remove(seeded.engine, "before_cursor_execute", seen)
    short, usual = ("50ms", "5s") if dialect == "postgresql" else ("50", "5000")
    assert ("use", short) in waits and ("other", usual) == waits[-1], waits


def test_a_use_behind_a_lock_held_elsewhere_is_a_warning_and_is_written_once_the_lock_goes(seeded: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    developer = seeded.get_role(ACCOUNT, "Developer")
    clock = Clock()
    recorder = RoleUseRecorder(seeded, 60.0, clock, retry=5.0)
    with seeded.engine.connect() as holder:  # another writer, holding the lock the use's write needs
        if holder.dialect.name == "postgresql":
            holder.execute(text("LOCK TABLE role_last_used IN EXCLUSIVE MODE"))
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        with caplog.at_level(logging.WARNING, logger="samlfed.sts"):
            recorder.record(developer, NOW, "us-east-1")
        holder.rollback()
    assert [r.getMessage().split(" error=")[0] for r in caplog.records] == [f"role last use not recorded role={developer.arn}"]
    clock.now += 5.1
    recorder.record(developer, NOW, "us-east-1")
    assert seeded.get_role_last_used(developer.role_id) == RoleLastUsed(NOW, "us-east-1")

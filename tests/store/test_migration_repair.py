"""Migration 0003 was edited after release: databases stamped 0003 by 3bdc836 have no instance_keys, and those
by a8c346b have service_keys (sealed under another context) instead. Upgrading must give both a working
instance_keys, with a8c346b's SP key kept."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, insert, inspect, select, text

from samlfed.context import ServiceContext
from samlfed.masterkey import MasterKey
from samlfed.store import Account, ManagedPolicy, SqlStore, StoreUnavailable
from samlfed.store import schema as t
from samlfed.store.legacy_keys import service_keys
from samlfed.store.migrate import alembic_config, head_revision
from samlfed.store.opening import open_store

MASTER = MasterKey(b"m" * 32)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SP_PEM = b"the SP key and certificate, as console/sp.py stores them"


def stamped_0003(url: str, *, service_keys_row: bytes | None = None, legacy_table: bool = False) -> None:
    """A database as an older main left it: the current migrations to 0003, without instance_keys; with
    `legacy_table`, a8c346b's service_keys in its place."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
        connection.execute(text("DROP TABLE instance_keys"))
        if legacy_table:
            service_keys.create(connection)
        if service_keys_row is not None:
            connection.execute(service_keys.insert().values(name="sp", sealed_value=service_keys_row, created_at=NOW))
    engine.dispose()


def tables(store: SqlStore) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def test_a_3bdc836_database_gets_instance_keys(store_url: str) -> None:
    stamped_0003(store_url)
    store = open_store(store_url, MASTER, now=NOW)
    try:
        assert "instance_keys" in tables(store)
        assert store.add_instance_key("sp", b"sealed", now=NOW) and store.get_instance_key("sp") == b"sealed"
        ServiceContext(store=store, master=MASTER).key_ring()  # the rest of the schema works too
    finally:
        store.engine.dispose()


def test_the_console_key_works_after_the_upgrade(store_url: str) -> None:
    """The reported failure: `serve` died in service_provider_key with no such table: instance_keys."""
    from samlfed.console.sp import service_provider_key

    stamped_0003(store_url)
    store = open_store(store_url, MASTER, now=NOW)
    try:
        ctx = ServiceContext(store=store, master=MASTER)
        assert service_provider_key(ctx).cert_pem() == service_provider_key(ctx).cert_pem()
    finally:
        store.engine.dispose()


def test_a_a8c346b_database_keeps_its_sp_key(store_url: str) -> None:
    stamped_0003(store_url, legacy_table=True, service_keys_row=MASTER.seal(SP_PEM, context="samlfed service key sp"))
    store = open_store(store_url, MASTER, now=NOW)
    try:
        assert "service_keys" not in tables(store)
        sealed = store.get_instance_key("sp")
        assert sealed is not None and MASTER.unseal(sealed, context="samlfed instance key sp") == SP_PEM
    finally:
        store.engine.dispose()
    again = open_store(store_url, MASTER, now=NOW)  # a second start finds nothing more to do
    again.engine.dispose()


def test_a_service_key_that_does_not_unseal_is_left_where_it_is(store_url: str) -> None:
    stamped_0003(store_url, legacy_table=True, service_keys_row=b"\x00" * 40)
    store = open_store(store_url, MASTER, now=NOW)
    try:
        assert "service_keys" in tables(store) and store.get_instance_key("sp") is None
        with store.engine.connect() as connection:
            assert connection.execute(select(service_keys.c.sealed_value)).scalar_one() == b"\x00" * 40
    finally:
        store.engine.dispose()


def undo_0011(db: Connection) -> None:
    """The provider index as 0010 left it: 0011 replaces the index of account_id with the listing index."""
    db.execute(text("DROP INDEX ix_saml_providers_listing"))
    db.execute(text("CREATE INDEX ix_saml_providers_account_id ON saml_providers (account_id)"))


# SQLite cannot reflect the expression index on lower(name) (migration 0016), so compare_metadata skips it there, saying so;
# tests/store/test_policy_name_index_migration.py checks it in the database's own catalogue.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_a_database_made_by_the_current_code_upgrades_unchanged(store_url: str) -> None:
    store = SqlStore.open(store_url)
    store.add_instance_key("sp", b"sealed", now=NOW)
    store.engine.dispose()
    engine = create_engine(store_url)
    with engine.begin() as connection:  # as every database made since 96cbddf: 0004, with instance_keys
        connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        connection.execute(text("DROP TABLE role_last_used"))  # 0006 creates it
        connection.execute(text("ALTER TABLE saml_providers DROP COLUMN validation_options"))  # 0007 adds it
        connection.execute(text("DROP TABLE provider_private_keys"))  # 0008 creates it
        connection.execute(text("DROP TABLE policy_tags"))  # 0009 creates it
        connection.execute(text("DROP TABLE policy_versions"))  # 0010 creates it and adds the two columns
        connection.execute(text("ALTER TABLE managed_policies DROP COLUMN default_version"))
        connection.execute(text("ALTER TABLE managed_policies DROP COLUMN next_version"))
        undo_0011(connection)
        connection.execute(text("ALTER TABLE roles DROP COLUMN trust_principal_ids"))  # 0013 adds it
    engine.dispose()
    store = SqlStore.open(store_url)
    try:
        assert store.get_instance_key("sp") == b"sealed"
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
            assert compare_metadata(MigrationContext.configure(connection), t.metadata) == []
    finally:
        store.engine.dispose()


def test_a_database_a_newer_release_upgraded_is_refused_saying_so(store_url: str) -> None:
    """Alembic said only "Can't locate revision identified by '0099_from_the_future'"."""
    SqlStore.open(store_url).engine.dispose()
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    with pytest.raises(StoreUnavailable) as refused:
        SqlStore.open(store_url)
    assert f"its schema revision '0099_from_the_future' was written by a newer samlfed (this release knows revisions up to {head_revision()})" in str(refused.value)


def test_policies_an_older_samlfed_made_after_the_upgrade_get_their_default_version(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A samlfed from before policy versions, still running on a database a newer one upgraded, inserts policies with
    no version row (as here, by hand): the next open gives each its document as its default version."""
    store = open_store(store_url, MASTER, now=NOW)
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
    arns = [f"arn:aws:iam::111111111111:policy/Made{i}" for i in range(2)]
    try:
        store.create_account(Account("111111111111", None, NOW))
        for i, arn in enumerate(arns):
            store.create_policy(ManagedPolicy(arn, "111111111111", f"Made{i}", f"ANPA{i:017d}", "/", document, NOW, NOW))
        with store.engine.begin() as db:
            db.execute(text("DELETE FROM policy_versions WHERE arn = :arn"), {"arn": arns[0]})
    finally:
        store.engine.dispose()
    with caplog.at_level("WARNING", logger="samlfed.store"):
        store = open_store(store_url, MASTER, now=NOW)
    try:
        for arn in arns:
            [version] = store.list_policy_versions(arn)
            assert (version.version_id, version.document, version.is_default) == ("v1", document, True)
        assert "1 managed policies had no version" in caplog.text
        assert store.restore_missing_default_versions() == 0  # nothing more to do at the next open
    finally:
        store.engine.dispose()


def test_nodes_opening_together_restore_each_missing_version_once(store_url: str) -> None:
    """Both see the same policies without versions; the start-up lock lets one restore them and the other find them
    restored. Without it, one node failed to start (IntegrityError) on PostgreSQL."""
    store = open_store(store_url, MASTER, now=NOW)
    count = 5_000
    try:
        store.create_account(Account("111111111111", None, NOW))
        rows = [
            {"arn": f"arn:aws:iam::111111111111:policy/P{i}", "account_id": "111111111111", "name": f"P{i}", "policy_id": f"ANPA{i:017d}",
             "path": "/", "document": "{}", "created_at": NOW, "updated_at": NOW}
            for i in range(count)
        ]
        with store.engine.begin() as db:  # as a pre-0010 samlfed inserts them: no version rows
            db.execute(insert(t.managed_policies), rows)
    finally:
        store.engine.dispose()
    nodes = [SqlStore.open(store_url) for _ in range(2)]
    start, restored, failed = threading.Barrier(2), [], []

    def restore(node: SqlStore) -> None:
        start.wait()
        try:
            restored.append(node.restore_missing_default_versions())
        except Exception as exc:  # noqa: BLE001 (the failure is the finding)
            failed.append(exc)

    threads = [threading.Thread(target=restore, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert failed == [] and sorted(restored) == [0, count], (failed, restored)
        with nodes[0].engine.connect() as db:
            assert db.execute(text("SELECT count(*) FROM policy_versions")).scalar() == count
    finally:
        for node in nodes:
            node.engine.dispose()


def test_an_upgrade_is_logged_and_a_new_database_is_not(store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="samlfed.store"):
        open_store(store_url, MASTER, now=NOW).engine.dispose()
    assert "Upgrading the database schema" not in caplog.text
    engine = create_engine(store_url)
    with engine.begin() as db:  # as 0009 left it
        db.execute(text("UPDATE alembic_version SET version_num = '0009'"))
        db.execute(text("DROP TABLE policy_versions"))
        db.execute(text("ALTER TABLE managed_policies DROP COLUMN next_version"))
        db.execute(text("ALTER TABLE managed_policies DROP COLUMN default_version"))
        undo_0011(db)
    engine.dispose()
    with caplog.at_level("INFO", logger="samlfed.store"):
        open_store(store_url, MASTER, now=NOW).engine.dispose()
    assert f"Upgrading the database schema from revision 0009 to {head_revision()}" in caplog.text


def test_an_upgrade_that_a_command_runs_is_said_on_its_stderr(tmp_path: Path) -> None:
    """Commands other than the servers configure no logging, and the INFO line was dropped: the upgrade went unsaid."""
    import subprocess

    from servers import SAMLFED

    data = tmp_path / "data"
    made = subprocess.run([SAMLFED, "accounts", "create", "--id", "111111111111", "--data-dir", str(data)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and made.stderr == "", made.stderr  # a new database: nothing to say
    engine = create_engine(f"sqlite:///{data / 'samlfed.db'}")
    with engine.begin() as db:  # as 0011 left it: 0012 only widens a column, which running it again keeps wide
        db.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    engine.dispose()
    listed = subprocess.run([SAMLFED, "accounts", "list", "--data-dir", str(data)], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and listed.stdout.strip() == "111111111111"
    assert listed.stderr == f"samlfed: Upgrading the database schema from revision 0011 to {head_revision()}\n"
    again = subprocess.run([SAMLFED, "accounts", "list", "--data-dir", str(data)], capture_output=True, text=True, timeout=60)
    assert again.stderr == ""


def test_an_upgrade_that_serve_runs_is_one_json_line_in_json_logs(tmp_path: Path) -> None:
    """`serve` went through the commands' stderr handler too: the upgrade line came twice, once as plain text among
    the JSON lines a log collector parses (the migration probe)."""
    import json
    import subprocess

    from servers import SAMLFED, free_port, wait_until_up

    data = tmp_path / "data"
    made = subprocess.run([SAMLFED, "accounts", "create", "--id", "111111111111", "--data-dir", str(data)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    engine = create_engine(f"sqlite:///{data / 'samlfed.db'}")
    with engine.begin() as db:  # as 0011 left it (see above)
        db.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    engine.dispose()
    port = free_port()
    server = subprocess.Popen(
        [SAMLFED, "serve", "--port", str(port), "--data-dir", str(data), "--log-format", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        up = wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=30, gave_up=lambda: server.poll() is not None)
    finally:
        server.terminate()
        err = server.communicate(timeout=15)[1]
    assert up, err
    records = [json.loads(line) for line in err.splitlines()]  # every line a JSON object
    upgrades = [r["message"] for r in records if r["message"].startswith("Upgrading the database schema")]
    assert upgrades == [f"Upgrading the database schema from revision 0011 to {head_revision()}"]

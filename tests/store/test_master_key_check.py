"""The master key must be the database's: a store opened with another key is refused, before it seals anything."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.masterkey import ENV, MasterKey, MasterKeyError
from samlfed.server import build_context
from samlfed.store import AccessKey, Account, MasterKeyMismatch, SqlStore, StoreUnavailable
from samlfed.store.canary import CANARY_NAME
from samlfed.store.opening import open_store

RIGHT = MasterKey(b"r" * 32)
WRONG = MasterKey(b"w" * 32)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def opened(url: str, master: MasterKey) -> SqlStore:
    store = open_store(url, master, now=NOW)
    store.engine.dispose()
    return store


def test_a_store_refuses_another_master_key(store_url: str) -> None:
    opened(store_url, RIGHT)
    with pytest.raises(MasterKeyMismatch, match="master key does not unseal"):
        open_store(store_url, WRONG, now=NOW)
    opened(store_url, RIGHT)


def legacy_store(url: str, master: MasterKey, *, ring: bool, admin: bool) -> None:
    """A database from before the check: secrets sealed under `master`, no check value."""
    store = SqlStore.open(url)
    if ring:
        ServiceContext(store=store, master=master).key_ring()
    if admin:
        store.create_account(Account("123456789012", None, NOW))
        sealed = master.seal(b"secret", context="access key AKIAEXAMPLE")  # as iam/accounts.py seals it
        store.add_access_key(AccessKey("AKIAEXAMPLE", "123456789012", sealed, True, NOW))
    store.engine.dispose()


@pytest.mark.parametrize(("ring", "admin"), [(True, False), (False, True), (True, True)])
def test_an_older_database_is_checked_against_its_secrets(store_url: str, ring: bool, admin: bool) -> None:
    legacy_store(store_url, RIGHT, ring=ring, admin=admin)
    with pytest.raises(MasterKeyMismatch):
        open_store(store_url, WRONG, now=NOW)
    store = SqlStore.open(store_url)
    assert store.get_instance_key(CANARY_NAME) is None  # the refused key wrote nothing
    store.engine.dispose()
    assert opened(store_url, RIGHT).engine is not None
    with pytest.raises(MasterKeyMismatch):
        open_store(store_url, WRONG, now=NOW)


def test_an_older_database_without_secrets_takes_the_first_key(store_url: str) -> None:
    SqlStore.open(store_url).engine.dispose()
    opened(store_url, RIGHT)
    with pytest.raises(MasterKeyMismatch):
        open_store(store_url, WRONG, now=NOW)


def test_the_variable_must_match_the_data_directory_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    build_context(Settings.from_env(data_dir=tmp_path / "data")).store.engine.dispose()
    stored = (tmp_path / "data" / "master.key").read_bytes()
    monkeypatch.setenv(ENV, base64.b64encode(b"w" * 32).decode())
    with pytest.raises(MasterKeyError, match="is not the key in"):
        MasterKey.load(tmp_path / "data")
    with pytest.raises(StoreUnavailable, match="is not the key in"):
        build_context(Settings.from_env(data_dir=tmp_path / "data"))
    monkeypatch.setenv(ENV, base64.b64encode(stored).decode())
    build_context(Settings.from_env(data_dir=tmp_path / "data")).store.engine.dispose()


def test_a_wrong_key_through_the_cli_path_creates_nothing(postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported case: `accounts create` with a wrong SAMLFED_MASTER_KEY on a shared database."""
    monkeypatch.setenv(ENV, base64.b64encode(b"r" * 32).decode())
    ctx = build_context(Settings.from_env(database_url=postgres_database))
    ctx.key_ring()
    ctx.store.engine.dispose()
    monkeypatch.setenv(ENV, base64.b64encode(b"w" * 32).decode())
    with pytest.raises(MasterKeyMismatch):
        build_context(Settings.from_env(database_url=postgres_database))


def test_a_lost_master_key_file_is_named_and_no_new_one_is_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data directory whose master.key is gone (a restore that missed it): the start is refused, and the key made
    for the attempt is removed again, so that the key restored from a backup is not shadowed by a random one."""
    monkeypatch.delenv(ENV, raising=False)
    settings = Settings(data_dir=tmp_path)
    build_context(settings).store.engine.dispose()  # a store with secrets sealed under its key
    key_file = tmp_path / "master.key"
    backup = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(MasterKeyMismatch, match="the data directory had no master.key: restore it from your backup"):
        build_context(settings)
    assert not key_file.exists()
    key_file.write_bytes(backup)  # the restore
    key_file.chmod(0o600)
    build_context(settings).store.engine.dispose()


def test_a_new_data_directory_still_gets_its_master_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    build_context(Settings(data_dir=tmp_path / "new")).store.engine.dispose()
    assert len((tmp_path / "new" / "master.key").read_bytes()) == 32

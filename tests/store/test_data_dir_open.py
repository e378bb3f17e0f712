"""Opening the store: the data directory's modes, and one typed error (StoreUnavailable) for whatever stops it."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from samlfed.config import Settings, SettingsError
from samlfed.masterkey import ENV
from samlfed.server import build_context
from samlfed.store import StoreUnavailable


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def no_master_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def open_dir(path: Path) -> None:
    build_context(Settings.from_env(data_dir=path)).store.engine.dispose()


def test_a_directory_samlfed_creates_is_owner_only(tmp_path: Path) -> None:
    open_dir(tmp_path / "new" / "data")
    assert mode(tmp_path / "new" / "data") == 0o700
    assert mode(tmp_path / "new" / "data" / "master.key") == 0o600 and mode(tmp_path / "new" / "data" / "samlfed.db") == 0o600


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    open_dir(shared)
    open_dir(shared)
    assert mode(shared) == 0o1777
    assert mode(shared / "master.key") == 0o600 and mode(shared / "samlfed.db") == 0o600


def test_a_sqlite_database_url_makes_an_owner_only_file_whatever_the_umask(tmp_path: Path) -> None:
    """Found by a CLI probe: `accounts create --database-url sqlite:///…` made the database 0644 under umask 022 (the
    data directory's is 0600), readable by every local user; SQLite gives its WAL files the database's mode."""
    import os
    import subprocess

    from servers import SAMLFED

    database = tmp_path / "shared" / "samlfed.db"
    database.parent.mkdir()
    env = {**os.environ, ENV: base64.b64encode(bytes(range(32))).decode()}
    made = subprocess.run([SAMLFED, "accounts", "create", "--database-url", f"sqlite:///{database}"], capture_output=True, text=True,
                          env=env, timeout=60, preexec_fn=lambda: os.umask(0o022))  # noqa: PLW1509
    assert made.returncode == 0, made.stderr
    assert mode(database) == 0o600
    listed = subprocess.run([SAMLFED, "accounts", "list", "--database-url", f"sqlite:///{database}"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0 and listed.stdout.strip() == made.stdout.split()[1]
    missing = subprocess.run([SAMLFED, "accounts", "list", "--database-url", f"sqlite:///{tmp_path / 'none.db'}"], capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 2 and not (tmp_path / "none.db").exists()  # only creating commands make one


def unavailable(settings: Settings) -> str:
    with pytest.raises(StoreUnavailable) as raised:
        build_context(settings)
    return str(raised.value)


def test_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "not a directory" in unavailable(Settings.from_env(data_dir=tmp_path / "file"))


@pytest.mark.parametrize("content", [b"garbage " * 1000, b"SQLite format 3\x00" + b"\x10\x00\x02\x02" + b"\x00" * 200])
def test_a_database_that_is_not_one(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "samlfed.db").write_bytes(content)
    assert "cannot open the database" in unavailable(Settings.from_env(data_dir=tmp_path))


def test_a_truncated_database(tmp_path: Path) -> None:
    open_dir(tmp_path)
    database = tmp_path / "samlfed.db"
    database.write_bytes(database.read_bytes()[:5000])
    assert "cannot open the database" in unavailable(Settings.from_env(data_dir=tmp_path))


@pytest.mark.parametrize("url", ["postgresql+psycopg://samlfed:hunter2@127.0.0.1:1/samlfed", "postgresql+nosuchdriver://h/d"])
def test_a_database_url_that_does_not_open(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, base64.b64encode(b"k" * 32).decode())
    message = unavailable(Settings.from_env(database_url=url))
    assert message.startswith("cannot open the database") and "hunter2" not in message


@pytest.mark.parametrize("url", ["bogus://samlfed:hunter2@x", "::::"])
def test_a_url_of_no_database_samlfed_runs_on_is_a_settings_error(url: str) -> None:
    with pytest.raises(SettingsError, match="must be a PostgreSQL or SQLite database URL") as raised:
        Settings.from_env(database_url=url)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_master_key_variable(tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, value)
    message = unavailable(Settings.from_env(data_dir=tmp_path))
    assert "SAMLFED_MASTER_KEY is not base64 of 32 bytes" in message and value not in message


def test_no_master_key_for_a_database_url() -> None:
    assert "set SAMLFED_MASTER_KEY" in unavailable(Settings.from_env(database_url="postgresql+psycopg://samlfed@127.0.0.1:1/samlfed"))


def test_a_master_key_file_of_the_wrong_size(tmp_path: Path) -> None:
    (tmp_path / "master.key").write_bytes(b"k" * 31)
    assert "does not hold a 32-byte key" in unavailable(Settings.from_env(data_dir=tmp_path))


def test_a_master_key_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "master.key").mkdir()
    assert "Is a directory" in unavailable(Settings.from_env(data_dir=tmp_path))


def test_a_data_directory_with_its_key_but_without_its_database_is_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """samlfed.db deleted (or not restored) beside its master.key: `serve` started an empty store, and every admin
    key and live session got InvalidClientTokenId. The key is made after the database, so a first start that
    stopped between the two never leaves this state behind."""
    monkeypatch.delenv(ENV, raising=False)
    build_context(Settings(data_dir=tmp_path)).store.engine.dispose()
    (tmp_path / "samlfed.db").unlink()
    for leftover in tmp_path.glob("samlfed.db-*"):
        leftover.unlink()
    with pytest.raises(StoreUnavailable, match="holds master.key but no samlfed.db: restore the database from your backup"):
        build_context(Settings(data_dir=tmp_path))
    assert not (tmp_path / "samlfed.db").exists()  # nothing was created in its place


def test_a_data_directory_with_its_key_and_an_empty_database_is_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """samlfed.db emptied beside its master.key (truncated, or a copy that was never written): `serve` started as a
    brand-new install, empty, with the old key."""
    monkeypatch.delenv(ENV, raising=False)
    build_context(Settings(data_dir=tmp_path)).store.engine.dispose()
    (tmp_path / "samlfed.db").write_bytes(b"")
    with pytest.raises(StoreUnavailable, match="holds master.key but an empty samlfed.db: restore the database from your backup"):
        build_context(Settings(data_dir=tmp_path))
    assert (tmp_path / "samlfed.db").stat().st_size == 0  # left as it was found


def test_a_first_start_writes_the_schema_before_it_makes_the_key(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """So that a first start stopped between the two never leaves a key beside an empty database (refused above): the
    next start completes a database without a key."""
    from samlfed import server
    from samlfed.masterkey import MasterKey

    monkeypatch.delenv(ENV, raising=False)
    sizes: list[int] = []
    load = MasterKey.from_variable_or_file

    def stopped_when_making_the_key(key: MasterKey | None, data_dir: Path | None) -> MasterKey:
        sizes.append((tmp_path / "samlfed.db").stat().st_size)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(server.MasterKey, "from_variable_or_file", stopped_when_making_the_key)
    with pytest.raises(StoreUnavailable, match="No space left on device"):
        build_context(Settings(data_dir=tmp_path))
    assert sizes and sizes[0] > 0 and not (tmp_path / "master.key").exists()
    monkeypatch.setattr(server.MasterKey, "from_variable_or_file", load)
    build_context(Settings(data_dir=tmp_path)).store.engine.dispose()  # the next start completes it
    assert (tmp_path / "master.key").exists()

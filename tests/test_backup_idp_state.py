"""`samlfed backup` of the built-in IdP's state database (idp-state.db), which the IdP writes while it serves: it is
copied as samlfed.db is, as one read transaction sees it, and without the journals that were beside it."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from samlfed.backup import back_up
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.idp.state import STATE_FILE, IdpState
from samlfed.server import build_context

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _data_dir(tmp_path: Path) -> Path:
    """A data directory whose IdP has signed alice out once (her session generation is 1)."""
    data = tmp_path / "data"
    create_account(build_context(Settings(data_dir=data)), "111111111111")
    IdpState(data / "idp" / STATE_FILE).end_sessions("alice")
    (data / "idp" / "idp.yaml").write_text("users: {}\n")
    return data


def test_a_sign_in_that_commits_while_the_idp_files_are_copied_does_not_fail_the_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, the IdP's directory was copied file by file, its journal too: a commit that removed the journal after
    it was listed failed the backup ("No such file or directory"), and one caught mid-write tore the copy."""
    data = _data_dir(tmp_path)
    signing_in = sqlite3.connect(data / "idp" / STATE_FILE, isolation_level=None)
    signing_in.execute("BEGIN IMMEDIATE")
    signing_in.execute("INSERT INTO login_attempt (key, at, pending) VALUES ('user:alice', 0, 1)")
    assert (data / "idp" / f"{STATE_FILE}-journal").is_file()
    copyfile = shutil.copyfile

    def the_sign_in_commits_first(source: str, target: str, **options: bool) -> str:
        if signing_in.in_transaction:
            signing_in.execute("COMMIT")
        return copyfile(source, target, **options)

    monkeypatch.setattr(shutil, "copyfile", the_sign_in_commits_first)
    copied = back_up(data, tmp_path / "copy", now=NOW).destination / "idp"
    assert not signing_in.in_transaction  # it committed while the IdP's files were copied
    signing_in.close()

    assert sorted(path.name for path in copied.iterdir()) == [STATE_FILE, "idp.yaml"]
    assert oct((copied / STATE_FILE).stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(copied / STATE_FILE) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert IdpState(copied / STATE_FILE).session_stamp("alice")[0] == 1


def test_writes_still_in_the_state_databases_wal_are_in_the_copy_without_the_wal(tmp_path: Path) -> None:
    """A WAL beside the copy would be replayed over it on its first open: the copy holds the WAL's writes itself."""
    data = _data_dir(tmp_path)
    writer = sqlite3.connect(data / "idp" / STATE_FILE, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the write below stays in idp-state.db-wal
    writer.execute("INSERT INTO session_generation (username, generation) VALUES ('bob', 7)")
    assert (data / "idp" / f"{STATE_FILE}-wal").stat().st_size > 0
    try:
        copied = back_up(data, tmp_path / "copy", now=NOW).destination / "idp"
    finally:
        writer.close()

    assert sorted(path.name for path in copied.iterdir()) == [STATE_FILE, "idp.yaml"]
    assert IdpState(copied / STATE_FILE).session_stamp("bob")[0] == 7


def test_the_copy_ends_every_idp_session_once_restored(tmp_path: Path) -> None:
    """Restored with idp.yaml unchanged (the same version), the copy would bring back the sessions live when it was
    made, those signed out since too: it forgets the session epoch, and the IdP reading it begins another."""
    data = _data_dir(tmp_path)
    state = IdpState(data / "idp" / STATE_FILE)
    state.witness_config("v1")
    _, epoch = state.session_stamp("alice")
    assert epoch is not None

    restored = IdpState(back_up(data, tmp_path / "copy", now=NOW).destination / "idp" / STATE_FILE)
    assert restored.session_stamp("alice") == (1, None)  # the sign-out kept; no session valid until the IdP reads idp.yaml
    restored.witness_config("v1")
    generation, new_epoch = restored.session_stamp("alice")
    assert generation == 1 and new_epoch is not None and new_epoch != epoch
    assert state.session_stamp("alice") == (1, epoch)  # the source is left as it was

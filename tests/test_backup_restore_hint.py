"""What `samlfed backup` says about restoring: copying the files into a data directory is a restore only once the
WAL files there are gone, since SQLite replays a samlfed.db-wal left by a killed samlfed over the copied database,
and the built-in IdP's journal too, which SQLite rolls back over the copied idp-state.db."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.idp.state import STATE_FILE, IdpState
from samlfed.server import build_context


def test_the_restore_hint_says_to_remove_the_wal_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    create_account(build_context(Settings(data_dir=data)), "111111111111")
    done = CliRunner().invoke(app, ["backup", str(tmp_path / "copy"), "--data-dir", str(data)])
    assert done.exit_code == 0, done.output
    assert "(or copy its files into the data directory, removing the data directory's samlfed.db-wal and samlfed.db-shm first)" in done.output


def test_with_the_built_in_idp_the_restore_hint_says_to_remove_its_journal_too(tmp_path: Path) -> None:
    """Before, it named only samlfed.db's WAL files: a journal left by an IdP killed in the middle of a write (it
    keeps idp-state.db in SQLite's rollback mode) rolled its pages back over the copied idp-state.db."""
    data = tmp_path / "data"
    create_account(build_context(Settings(data_dir=data)), "111111111111")
    IdpState(data / "idp" / STATE_FILE).end_sessions("alice")
    done = CliRunner().invoke(app, ["backup", str(tmp_path / "copy"), "--data-dir", str(data)])
    assert done.exit_code == 0, done.output
    assert "removing the data directory's samlfed.db-wal, samlfed.db-shm and idp/idp-state.db-journal first)" in done.output

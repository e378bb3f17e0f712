"""Two `samlfed backup` runs started together into the same new directory (two cron jobs naming it by the date):
both find it empty, and the one that fails must remove only what it wrote, never the other's copy."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from samlfed import backup
from samlfed.backup import DATABASE, MASTER_KEY, BackupError, back_up
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_failed_backup_leaves_the_other_backups_copy_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    create_account(build_context(Settings(data_dir=data)), "111111111111")
    finished = back_up(data, tmp_path / "finished", now=NOW).destination
    destination = tmp_path / "shared"
    destination.mkdir(mode=0o700)
    copy_database = backup._copy_database

    def the_other_backup_finishes_meanwhile(source: Path, target: Path) -> str:
        for name in (DATABASE, MASTER_KEY):
            shutil.copy2(finished / name, destination / name)
        return copy_database(source, target)

    monkeypatch.setattr(backup, "_copy_database", the_other_backup_finishes_meanwhile)
    with pytest.raises(BackupError, match="File exists"):
        back_up(data, destination, now=NOW)

    assert sorted(path.name for path in destination.iterdir()) == [MASTER_KEY, DATABASE]  # its own copy went
    assert [(destination / name).read_bytes() == (finished / name).read_bytes() for name in (DATABASE, MASTER_KEY)] == [True, True]

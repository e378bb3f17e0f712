"""`samlfed backup` whose standard output refuses the report (a full disk, a reader gone): the copy is whole and
checked by then, so it stays, and the command says where it is. Runs the command in a process: a full disk and a
closed pipe cannot be simulated inside pytest's captured stdout."""

from __future__ import annotations

import subprocess
from pathlib import Path

from servers import SAMLFED

from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context


def _data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    create_account(build_context(Settings(data_dir=data)), "111111111111")
    return data


def _account_ids(data_dir: Path) -> list[str]:
    listed = subprocess.run([SAMLFED, "accounts", "list", "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60, check=True)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.startswith("1")]


def test_a_full_disk_on_standard_output_says_the_backup_was_made_and_keeps_it(tmp_path: Path) -> None:
    """Before, it answered "cannot complete the command: No space left on device", as if no backup had been made."""
    data = _data_dir(tmp_path)
    for copy, mode in ((tmp_path / "text", []), (tmp_path / "json", ["--json"])):
        with open("/dev/full", "w") as full:
            done = subprocess.run([SAMLFED, "backup", str(copy), "--data-dir", str(data), *mode], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr == f"samlfed: backed up {data} to {copy}, but cannot write the report to standard output: No space left on device\n"
        assert _account_ids(copy) == ["111111111111"]


def test_a_reader_that_went_away_leaves_the_backup_and_a_success(tmp_path: Path) -> None:
    """`samlfed backup DEST | head -1` and the like: before, exit 1 without a word, for a backup made."""
    data, copy = _data_dir(tmp_path), tmp_path / "copy"
    backing_up = subprocess.Popen([SAMLFED, "backup", str(copy), "--data-dir", str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert backing_up.stdout is not None and backing_up.stderr is not None
    backing_up.stdout.close()  # the reader is gone before the report is written
    stderr = backing_up.stderr.read()
    assert backing_up.wait(timeout=120) == 0 and stderr == "", stderr
    assert _account_ids(copy) == ["111111111111"]

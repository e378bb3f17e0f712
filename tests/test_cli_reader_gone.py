"""Administrator commands whose reader of standard output goes away (`samlfed accounts list | head -1`, a log pipe
that died): what the command did stands, and the exit status says so. In a process: a closed pipe cannot be
simulated inside pytest's captured stdout."""

from __future__ import annotations

import subprocess
from pathlib import Path

from servers import SAMLFED

from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context
from samlfed.sts.ring_keys import list_ring_keys


def _run_unread(*args: str) -> tuple[int, str]:
    """The command's exit status and stderr, its standard output's reader gone before it writes."""
    running = subprocess.Popen([SAMLFED, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert running.stdout is not None and running.stderr is not None
    running.stdout.close()
    stderr = running.stderr.read()
    running.stderr.close()
    return running.wait(timeout=120), stderr


def test_a_change_made_and_a_listing_cut_short_are_no_failure(tmp_path: Path) -> None:
    """Found by a CLI probe: `samlfed keys rotate` whose reader had gone rotated the ring, then exited 1 without a
    word, as if it had failed (a script would rotate again); listings did the same when their reader stopped early."""
    data = tmp_path / "data"
    create_account(build_context(Settings(data_dir=data)), "111111111111")
    for command in (["keys", "rotate"], ["keys", "rotate", "--json"], ["accounts", "list"], ["accounts", "keys", "list", "111111111111"]):
        assert _run_unread(*command, "--data-dir", str(data)) == (0, ""), command
    assert len(list_ring_keys(build_context(Settings(data_dir=data)))) == 2


def test_a_new_secret_no_one_read_is_still_undone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    create_account(build_context(Settings(data_dir=data)), "111111111111")
    status, stderr = _run_unread("accounts", "keys", "create", "111111111111", "--data-dir", str(data))
    assert status == 2 and "was removed again, nothing was kept" in stderr, stderr
    assert len(build_context(Settings(data_dir=data)).store.list_access_keys("111111111111")) == 1

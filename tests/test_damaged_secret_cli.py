"""A stored secret that the (checked) master key does not unseal, i.e. a damaged row, is a one-line refusal on the
command line: `samlfed keys rotate` ended in a traceback when a ring key's sealed bytes were damaged."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from servers import SAMLFED


def samlfed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMLFED, *args], capture_output=True, text=True, timeout=120)


def test_a_ring_key_that_does_not_unseal_is_a_one_line_refusal(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert samlfed("accounts", "create", *data).returncode == 0
    assert samlfed("keys", "rotate", *data).returncode == 0
    with sqlite3.connect(tmp_path / "samlfed.db") as db:
        (key_id,) = db.execute("SELECT key_id FROM server_keys").fetchone()
        db.execute("UPDATE server_keys SET sealed_key = ?", (bytes(60),))

    done = samlfed("keys", "rotate", *data)

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"samlfed: cannot unseal server key {key_id}: wrong master key or corrupted data\n"
    with sqlite3.connect(tmp_path / "samlfed.db") as db:
        assert db.execute("SELECT key_id FROM server_keys").fetchall() == [(key_id,)]  # nothing was added

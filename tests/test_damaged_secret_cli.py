"""A ring key whose sealed bytes are damaged on the command line: `samlfed keys rotate` ended in a traceback, then
in a refusal that left no way out but a restore (rotating read, and so unsealed, every stored key first). It now
stores the new active key, names the damaged one and the command that removes it; after that the ring reads."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from servers import SAMLFED
from test_context import CLAIMS

from samlfed.config import Settings
from samlfed.server import build_context
from samlfed.sts.credentials import issue, open_session


def samlfed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMLFED, *args], capture_output=True, text=True, timeout=120)


def stored_keys(data_dir: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(data_dir / "samlfed.db") as db:
        return sorted(db.execute("SELECT key_id, active FROM server_keys").fetchall())


def test_a_damaged_active_ring_key_is_rotated_past_and_then_retired(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert samlfed("accounts", "create", *data).returncode == 0
    assert samlfed("keys", "rotate", *data).returncode == 0
    [(damaged, _)] = stored_keys(tmp_path)
    with sqlite3.connect(tmp_path / "samlfed.db") as db:
        db.execute("UPDATE server_keys SET sealed_key = ?", (bytes(60),))

    rotated = samlfed("keys", "rotate", *data)

    assert rotated.returncode == 0, rotated.stderr
    [active] = [key for key, is_active in stored_keys(tmp_path) if is_active]
    assert {key for key, _ in stored_keys(tmp_path)} == {damaged, active}
    assert rotated.stdout == f"active key: {active} (2 keys in the ring)\n"
    assert f"server key {damaged} does not unseal" in rotated.stderr
    assert f"samlfed keys retire {damaged} --force" in rotated.stderr
    assert "Traceback" not in rotated.stderr

    retired = samlfed("keys", "retire", damaged, "--force", *data)

    assert retired.returncode == 0, retired.stderr
    assert stored_keys(tmp_path) == [(active, 1)]
    ring = build_context(Settings(data_dir=tmp_path)).key_ring()  # the ring reads again, and seals and opens tokens
    assert ring.active == active
    credentials = issue(ring, CLAIMS)
    assert open_session(ring, credentials.access_key_id, credentials.session_token).claims.role_arn == CLAIMS.role_arn
    again = samlfed("keys", "rotate", *data)
    assert (again.returncode, again.stderr) == (0, "")


def test_rotating_a_sound_ring_names_no_damaged_key(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert samlfed("accounts", "create", *data).returncode == 0
    assert samlfed("keys", "rotate", *data).returncode == 0
    rotated = samlfed("keys", "rotate", *data, "--json")
    assert (rotated.returncode, rotated.stderr) == (0, "")
    assert len(stored_keys(tmp_path)) == 2

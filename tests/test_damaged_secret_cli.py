"""A ring key whose sealed bytes are damaged on the command line: `samlfed keys rotate` ended in a traceback, then
in a refusal that left no way out but a restore (rotating read, and so unsealed, every stored key first). It now
stores the new active key, names the damaged one and the command that removes it; after that the ring reads."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from servers import SAMLFED, free_port
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


def damage(data_dir: Path, key_id: str) -> None:
    with sqlite3.connect(data_dir / "samlfed.db") as db:
        db.execute("UPDATE server_keys SET sealed_key = ? WHERE key_id = ?", (bytes(60), key_id))


def serve(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`samlfed serve` that must refuse to start; the timeout only ends a server that started regardless."""
    return subprocess.run([SAMLFED, "serve", "--data-dir", str(data_dir), "--port", str(free_port())], capture_output=True, text=True, timeout=60)


def test_serve_refuses_to_start_with_a_damaged_ring_key(tmp_path: Path) -> None:
    """A server started with a stored ring key that does not unseal answered every STS call (and every request signed
    with temporary credentials) with a 500 InternalFailure: the ring is read whole, on first use. It now refuses to
    start, naming the key and how to remove it: retire alone for an old key, rotate first for the active one."""
    data = ["--data-dir", str(tmp_path)]
    assert samlfed("accounts", "create", *data).returncode == 0
    assert samlfed("keys", "rotate", *data).returncode == 0
    assert samlfed("keys", "rotate", *data).returncode == 0
    (old, _), (active, _) = sorted(stored_keys(tmp_path), key=lambda key: key[1])
    damage(tmp_path, old)

    refused = serve(tmp_path)

    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"server key {old} of the session key ring does not unseal (corrupted data)" in refused.stderr
    assert refused.stderr.rstrip().endswith(f"remove it with: samlfed keys retire {old} --force")

    damage(tmp_path, active)
    refused = serve(tmp_path)

    assert refused.returncode == 2
    assert "remove it with: samlfed keys rotate; samlfed keys retire " in refused.stderr
    assert old in refused.stderr and active in refused.stderr

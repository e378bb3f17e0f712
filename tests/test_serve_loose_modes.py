"""`samlfed serve` warns at start of a secret that other local users may read: a master key or database restored or
copied with a loose mode (0644), or a world-readable TLS key. It still starts: the operator decides."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from pki import make_pki
from servers import SAMLFED, free_port, wait_until_up


def serve_log(data: Path, *options: str) -> str:
    """What `serve` logs from its start until it answers and is stopped."""
    port = free_port()
    server = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(data), *options], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        scheme = "https" if "--tls-certfile" in options else "http"
        assert wait_until_up(f"{scheme}://127.0.0.1:{port}/healthz", seconds=60, gave_up=lambda: server.poll() is not None, verify=False)
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=30)
    return log


def test_loose_secrets_are_a_warning_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert "open to other users" not in serve_log(data)  # as samlfed makes them: owner-only
    (data / "master.key").chmod(0o644)
    (data / "samlfed.db").chmod(0o640)
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    pki["key"].chmod(0o604)
    log = serve_log(data, "--tls-certfile", str(pki["cert"]), "--tls-keyfile", str(pki["key"]))
    for loose in (f"{data / 'master.key'} (mode 0644)", f"{data / 'samlfed.db'} (mode 0640)", f"{pki['key']} (mode 0604)"):
        assert f"WARNING samlfed.server {loose} is open to other users: make it owner-only (chmod 600)" in log, log


def test_the_built_in_idps_loose_secrets_are_a_warning_at_start(tmp_path: Path) -> None:
    """Its signing keys sign any assertion, its session secret signs its session cookies; its directory holds
    password hashes and TOTP secrets."""
    data = tmp_path / "data"
    assert "open to other users" not in serve_log(data, "--with-idp")
    idp = data / "idp"
    secrets = [idp / "idp.yaml", idp / "keys" / "session.secret", *(idp / "keys").glob("*.key.pem")]
    assert len(secrets) >= 3 and all(secret.exists() for secret in secrets), sorted(idp.rglob("*"))
    for secret in secrets:
        secret.chmod(0o644)
    log = serve_log(data, "--with-idp")
    for secret in secrets:
        assert f"WARNING samlfed.server {secret} (mode 0644) is open to other users: make it owner-only (chmod 600)" in log, log

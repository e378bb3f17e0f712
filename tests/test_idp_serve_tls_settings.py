"""`samlfed idp serve` reads SAMLFED_* and the settings file like `serve`: with a certificate and key named there its
metadata, Secure cookies and HSTS said https://, while the port spoke plain HTTP, so nothing could sign in."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
from pathlib import Path

import httpx
from pki import make_pki
from servers import SAMLFED, free_port, wait_until_up


def test_idp_serve_speaks_https_when_the_settings_name_a_certificate(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    port = free_port()
    env = {**os.environ, "SAMLFED_TLS_CERTFILE": str(pki["cert"]), "SAMLFED_TLS_KEYFILE": str(pki["key"]), "SAMLFED_CONFIG": ""}
    server = subprocess.Popen([SAMLFED, "idp", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"https://127.0.0.1:{port}/idp/metadata"
        assert wait_until_up(url, seconds=60, gave_up=lambda: server.poll() is not None, verify=False)
        metadata = httpx.get(url, verify=ssl.create_default_context(cafile=pki["ca"]), timeout=10)
        assert metadata.status_code == 200
        assert f'entityID="https://127.0.0.1:{port}/idp/metadata"' in metadata.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_idp_serve_refuses_an_unusable_certificate_named_in_the_settings(tmp_path: Path) -> None:
    env = {**os.environ, "SAMLFED_TLS_CERTFILE": str(tmp_path / "missing.pem"), "SAMLFED_TLS_KEYFILE": str(tmp_path / "missing.key"), "SAMLFED_CONFIG": ""}
    result = subprocess.run([SAMLFED, "idp", "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "cannot serve TLS with" in result.stderr, result.stderr

"""`samlfed serve` at its edges: the public URL and host it accepts, the settings its workers see, a request head
without end, and SIGTERM with requests in flight. The last three run the installed `samlfed` in its own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from servers import SAMLFED, free_port, wait_until_up

from samlfed.config import Settings, SettingsError
from samlfed.server import SHUTDOWN_GRACE_SECONDS


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [n for n in os.environ if n.startswith("SAMLFED_")]:
        monkeypatch.delenv(name)
    return monkeypatch


@contextmanager
def serving(*options: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`samlfed serve --port N OPTIONS...` until the block ends; yields the process and its base URL."""
    port = free_port()
    process = subprocess.Popen([SAMLFED, "serve", "--port", str(port), *options], env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_up(f"{url}/healthz", seconds=30, gave_up=lambda: process.poll() is not None), "samlfed serve did not start"
        yield process, url
    finally:
        process.kill()
        process.wait(timeout=15)


@pytest.mark.parametrize(
    "url",
    [
        "HTTPS://samlfed.example.com",  # the console and the IdP would set cookies without Secure and send no HSTS
        "https://samlfed.example.com/samlfed",  # the pages link from /
        "https://samlfed.example.com/?a=1",
        "https://samlfed.example.com/#top",
        "https://samlfed.example.com?",
        "ftp://samlfed.example.com",
        "samlfed.example.com",
        "https://",
        "https://user@samlfed.example.com",
        "https://samlfed.example.com:99999",
        "https://samlfed.example.com\n",
    ],
)
def test_a_public_url_that_is_not_a_service_root_is_refused(clean_env: pytest.MonkeyPatch, url: str) -> None:
    with pytest.raises(SettingsError, match="--public-url: public_url must be an http:// or https:// URL"):
        Settings.from_env(public_url=url)
    clean_env.setenv("SAMLFED_PUBLIC_URL", url)
    with pytest.raises(SettingsError, match="SAMLFED_PUBLIC_URL: public_url must be"):
        Settings.from_env()


@pytest.mark.parametrize("url", ["https://samlfed.example.com", "https://samlfed.example.com/", "http://127.0.0.1:8080", "https://[::1]:8443"])
def test_service_roots_are_public_urls(clean_env: pytest.MonkeyPatch, url: str) -> None:
    assert Settings.from_env(public_url=url).base_url == url.rstrip("/")


def _serve_refused(*options: str) -> subprocess.CompletedProcess[str]:
    """`samlfed serve OPTIONS...`, which must refuse to start (a server that starts is killed after 30 seconds)."""
    return subprocess.run([SAMLFED, "serve", "--port", str(free_port()), *options], capture_output=True, text=True, timeout=30, check=False)


def test_serve_with_a_bad_public_url_or_an_empty_host_is_a_message_and_exit_2(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    result = _serve_refused("--data-dir", str(tmp_path), "--public-url", "HTTPS://samlfed.example.com")
    assert result.returncode == 2 and "--public-url: public_url must be" in result.stderr, result.stderr
    config = tmp_path / "samlfed.toml"
    config.write_text('host = ""\n')
    result = _serve_refused("--data-dir", str(tmp_path), "--config", str(config))
    assert result.returncode == 2 and "host must be a host name or address" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "samlfed.db").exists()


def test_the_workers_read_no_settings_file_that_config_overrode(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    chosen, overridden = tmp_path / "chosen.toml", tmp_path / "overridden.toml"
    chosen.write_text("strict_replay = false\n")
    overridden.write_text("with_idp = true\nstrict_replay = true\n")
    with serving("--config", str(chosen), "--data-dir", str(tmp_path / "data"), env={"SAMLFED_CONFIG": str(overridden)}) as (_, url):
        assert httpx.get(f"{url}/idp/metadata").status_code == 404
    clean_env.setenv("SAMLFED_CONFIG", str(overridden))
    settings = Settings.from_env(config=chosen, data_dir=tmp_path)
    for name, value in settings.to_env().items():
        clean_env.setenv(name, value)
    assert Settings.from_env() == settings


def test_a_request_head_without_end_is_cut_off(tmp_path: Path) -> None:
    with serving("--data-dir", str(tmp_path)) as (_, url):
        port = int(url.rsplit(":", 1)[1])
        # Refused after 256 KiB; the socket buffers of both ends take some megabytes more before the client notices.
        with socket.create_connection(("127.0.0.1", port)) as sock, pytest.raises(OSError):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            for _ in range(16_000_000 // 65536):
                sock.sendall(b"a" * 65536)
        # A long URL and a long header together stay within the bound.
        answer = httpx.get(url, params={"Action": "GetCallerIdentity", "Version": "2011-06-15", "X": "a" * 60_000}, headers={"X-Long": "b" * 100_000})
        assert answer.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in answer.text


def _half_sent(port: int, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body)
    sock.sendall(head + body[:10])
    return sock


def test_sigterm_lets_requests_in_flight_finish_but_waits_for_no_client_for_ever(tmp_path: Path) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    with serving("--data-dir", str(tmp_path)) as (process, url):
        port = int(url.rsplit(":", 1)[1])
        finishing, stalled = _half_sent(port, body), _half_sent(port, body)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        time.sleep(1)
        finishing.sendall(body[10:])
        assert finishing.recv(100).startswith(b"HTTP/1.1 403 ")
        # Ends despite the stalled client (uvicorn's default waited for ever); the margin is generous, not a timing test.
        process.wait(timeout=SHUTDOWN_GRACE_SECONDS + 20)  # uvicorn ends by raising the signal again: -15
        finishing.close()
        stalled.close()

"""X-Forwarded-For from a peer that forwarded_allow_ips does not name is ignored, and said so once per peer:
through a real `samlfed serve` (its log on stderr), then the watch's own bounds."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import httpx
import pytest
from servers import SAMLFED, free_port, wait_until_up

from samlfed.forwarding import MAX_PEERS, ForwardingWatch

WARNING = "X-Forwarded-For from 127.0.0.1 is ignored"


def serve_log(tmp_path: Path, *options: str) -> str:
    """Run `samlfed serve OPTIONS`, send two API requests and a console request with X-Forwarded-For, return its log."""
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), *options],
                                   stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            assert wait_until_up(f"{url}/healthz", seconds=30, gave_up=lambda: process.poll() is not None)
            forwarded = {"X-Forwarded-For": "203.0.113.7"}
            for _ in range(2):
                assert httpx.post(url, data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}, headers=forwarded).status_code == 403
            assert httpx.post(f"{url}/saml", data={"SAMLResponse": "bm90IGEgcmVzcG9uc2U="}, headers=forwarded).status_code < 500
        finally:
            process.terminate()
            process.wait(timeout=15)
    return log_path.read_text()


def test_an_unnamed_proxy_is_reported_once(tmp_path: Path) -> None:
    log = serve_log(tmp_path)
    assert log.count(WARNING) == 1, log
    assert "forwarded_allow_ips does not name that peer" in log


def test_a_named_proxy_is_not_reported(tmp_path: Path) -> None:
    log = serve_log(tmp_path, "--forwarded-allow-ips", "127.0.0.1")
    assert "X-Forwarded-For" not in log, log


def idp_log(tmp_path: Path, command: list[str]) -> str:
    """Run COMMAND (a server with the built-in IdP), try two ECP sign-ins with X-Forwarded-For, return its log."""
    port = free_port()
    log_path = tmp_path / f"idp-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([SAMLFED, *command, "--port", str(port), "--data-dir", str(tmp_path / "data")],
                                   stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            assert wait_until_up(f"{url}/idp/metadata", seconds=30, gave_up=lambda: process.poll() is not None)
            for _ in range(2):  # a wrong password: the throttle counts it against the client address
                answer = httpx.post(f"{url}/idp/ecp", content=b"<x/>", auth=("nobody", "wrong"), headers={"X-Forwarded-For": "203.0.113.7"})
                assert 400 <= answer.status_code < 500
        finally:
            process.terminate()
            process.wait(timeout=15)
    return log_path.read_text()


@pytest.mark.parametrize("command", [["serve", "--with-idp"], ["idp", "serve"]])
def test_the_built_in_idp_reports_an_unnamed_proxy_once(tmp_path: Path, command: list[str]) -> None:
    """Its sign-in throttle counts failures per client address: behind an unnamed proxy, everyone shares one."""
    log = idp_log(tmp_path, command)
    assert log.count(WARNING) == 1, log


def test_the_watch_reports_each_peer_once_and_stops_after_its_bound(caplog: pytest.LogCaptureFixture) -> None:
    watch = ForwardingWatch(())
    with caplog.at_level(logging.WARNING, logger="samlfed.api"):
        for _ in range(2):
            for n in range(MAX_PEERS + 10):
                watch.saw(f"10.0.{n // 256}.{n % 256}", "203.0.113.7")
    lines = [r.getMessage() for r in caplog.records if r.name == "samlfed.api"]
    assert len(lines) == MAX_PEERS + 1
    assert lines[-1] == "X-Forwarded-For from more untrusted peers is ignored; they are not reported one by one"
    assert len(watch._warned) == MAX_PEERS  # the memory it keeps is bounded too


def test_a_client_taken_from_the_header_means_a_trusted_proxy(caplog: pytest.LogCaptureFixture) -> None:
    watch = ForwardingWatch(("10.0.0.5",))
    with caplog.at_level(logging.WARNING, logger="samlfed.api"):
        watch.saw("203.0.113.7", "198.51.100.1, 203.0.113.7")  # uvicorn put the right-most untrusted address
        watch.saw("10.9.9.9", "203.0.113.7")  # a peer that is not the trusted proxy
    assert [r.peer for r in caplog.records if r.name == "samlfed.api"] == ["10.9.9.9"]

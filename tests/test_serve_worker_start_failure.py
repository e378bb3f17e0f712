"""A worker of `serve --workers N` started while its database cannot be opened, or its TLS files not loaded
(replacing one that crashed or was killed): one log line saying why, in the log's format, and the other workers go
on serving.

Before, each such worker died with multiprocessing's raw traceback on stderr (30 lines, plain text amid `json`
lines), and the supervisor started another, which did the same, every couple of seconds."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pki import make_pki
from servers import SAMLFED, free_port, kill_server_and_workers, wait_until_up, worker_pids


def _replacement_log(tmp_path: Path, options: list[str], break_it: Callable[[], None], *, ca: Path | None = None) -> list[dict[str, str]]:
    """Run `serve --workers 2` (json log), break what a worker needs, kill a worker, and return the log's entries once
    its replacement has said that it cannot start; the other worker must serve on, and SIGTERM end `serve`."""
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2", "--log-format", "json", *options],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    url = f"{'https' if ca else 'http'}://127.0.0.1:{port}"
    verify = str(ca) if ca else True
    workers: list[int] = []
    try:
        assert wait_until_up(f"{url}/healthz", seconds=60, gave_up=lambda: server.poll() is not None, verify=verify)
        workers = worker_pids(server.pid, count=2)
        assert len(workers) == 2, workers
        deadline = time.monotonic() + 60  # both serving: one killed while it starts would hold the supervisor's ping 30 s
        while not all(f"Started server process [{pid}]" in log.read_text() for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        break_it()
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while "cannot start" not in log.read_text() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.2)
        checks = ssl.create_default_context(cafile=ca) if ca else True
        assert httpx.get(f"{url}/healthz", timeout=10, verify=checks).status_code == 200  # the other worker serves on
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0  # the supervisor may be waiting up to 30 s for a starting worker's answer
    finally:
        kill_server_and_workers(server, workers + worker_pids(server.pid, count=0, seconds=0))
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


def _refusals(entries: list[dict[str, str]]) -> list[str]:
    return [entry["message"] for entry in entries if entry["level"] == "ERROR" and entry["message"].startswith("This worker cannot start: ")]


def test_a_replacement_worker_that_cannot_open_the_store_says_why_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = _replacement_log(tmp_path, [], lambda: (data / "samlfed.db").rename(data / "samlfed.db.moved"))  # a key, no database
    refusals = _refusals(entries)
    assert refusals and "holds master.key but no samlfed.db" in refusals[0], entries[-10:]


def test_a_replacement_worker_that_cannot_load_the_tls_files_says_why_in_one_line(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    tls = ["--tls-certfile", str(pki["cert"]), "--tls-keyfile", str(pki["key"])]
    entries = _replacement_log(tmp_path, tls, lambda: pki["cert"].write_text("not a certificate"), ca=pki["ca"])  # a renewal half done
    refusals = _refusals(entries)
    assert refusals and f"cannot serve TLS with {pki['cert']} and {pki['key']}" in refusals[0], entries[-10:]


def test_a_replacement_worker_that_cannot_load_the_idp_keys_says_why_in_one_line(tmp_path: Path) -> None:
    key_list = tmp_path / "data" / "idp" / "keys" / "keys.json"
    entries = _replacement_log(tmp_path, ["--with-idp"], lambda: key_list.write_text("garbage"))
    refusals = _refusals(entries)
    assert refusals and f"The IdP's key list {key_list} is damaged" in refusals[0], entries[-10:]

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from pki import make_pki
from servers import SAMLFED, free_port, kill_server_and_workers, wait_until_up, worker_pids


@dataclass
class _Serving:
    server: subprocess.Popen[bytes]
    log: Path
    url: str
    tls: ssl.SSLContext | bool  # httpx's verify
    workers: list[int]


@contextmanager
def _two_workers(tmp_path: Path, options: list[str], *, ca: Path | None = None) -> Iterator[_Serving]:
    """`serve --workers 2` (json log) with both workers serving; afterwards, no process of it is left."""
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2", "--log-format", "json", *options],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    serving = _Serving(server, log, f"{'https' if ca else 'http'}://127.0.0.1:{port}", ssl.create_default_context(cafile=ca) if ca else True, [])
    try:
        assert wait_until_up(f"{serving.url}/healthz", seconds=60, gave_up=lambda: server.poll() is not None, verify=str(ca) if ca else True)
        serving.workers = worker_pids(server.pid, count=2)
        assert len(serving.workers) == 2, serving.workers
        deadline = time.monotonic() + 60  # both serving: one killed while it starts would hold the supervisor's ping 30 s
        while not all(f"Started server process [{pid}]" in log.read_text() for pid in serving.workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        yield serving
    finally:
        kill_server_and_workers(server, serving.workers + worker_pids(server.pid, count=0, seconds=0))


def _replacement_log(tmp_path: Path, options: list[str], break_it: Callable[[], None], *, ca: Path | None = None,
                     until: Callable[[str], bool] = lambda log: "cannot start" in log) -> list[dict[str, str]]:
    """Run `serve --workers 2` (json log), break what a worker needs, kill a worker, and return the log's entries once
    `until` (by default: its replacement has said that it cannot start) holds of the log; the other worker must serve
    on, and SIGTERM end `serve`."""
    with _two_workers(tmp_path, options, ca=ca) as serving:
        break_it()
        os.kill(serving.workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not until(serving.log.read_text()) and time.monotonic() < deadline and serving.server.poll() is None:
            time.sleep(0.2)
        assert httpx.get(f"{serving.url}/healthz", timeout=10, verify=serving.tls).status_code == 200  # the other worker serves on
        serving.server.send_signal(signal.SIGTERM)
        assert serving.server.wait(timeout=60) == 0  # the supervisor may be waiting up to 30 s for a starting worker's answer
    text = serving.log.read_text()
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


def test_the_replacements_of_a_worker_that_cannot_start_wait_longer_each_time(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = _replacement_log(
        tmp_path, [], lambda: (data / "samlfed.db").rename(data / "samlfed.db.moved"),
        until=lambda log: "starting another in 4 s." in log or log.count("This worker cannot start") > 6,
    )
    replaced = [entry["message"] for entry in entries if entry["message"].startswith("Worker process ")]
    delays = [message.rsplit(" in ", 1)[1] for message in replaced if "; starting another in " in message]
    assert delays[:3] == ["1 s.", "2 s.", "4 s."], replaced
    # The killed worker, and the first replacement that could not start (or two: the killed one may have served 10 s
    # or more, which starts the count again), are replaced at once; the next three wait 1, 2 and 4 s.
    assert len(_refusals(entries)) <= 5, replaced

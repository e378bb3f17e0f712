"""A worker of `serve --workers N` started while its database cannot be opened (replacing one that crashed or was
killed, or at SIGHUP): one log line saying why, in the log's format, and the other workers go on serving.

Before, each such worker died with multiprocessing's raw traceback on stderr (30 lines, plain text amid `json`
lines), and the supervisor started another, which did the same, every couple of seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from servers import SAMLFED, free_port, kill_server_and_workers, wait_until_up, worker_pids


def test_a_replacement_worker_that_cannot_open_the_store_says_why_in_one_line(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    data = tmp_path / "data"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [SAMLFED, "serve", "--port", str(port), "--data-dir", str(data), "--workers", "2", "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    workers: list[int] = []
    try:
        assert wait_until_up(f"{url}/healthz", seconds=60, gave_up=lambda: server.poll() is not None)
        workers = worker_pids(server.pid, count=2)
        assert len(workers) == 2, workers
        (data / "samlfed.db").rename(data / "samlfed.db.moved")  # what a new worker now finds: a key, no database
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while "cannot start" not in log.read_text() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.2)
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # the other worker serves on
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        kill_server_and_workers(server, workers + worker_pids(server.pid, count=0, seconds=0))
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    entries = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    refusals = [entry for entry in entries if entry["level"] == "ERROR" and "cannot start" in entry["message"]]
    assert refusals, text[-3000:]
    assert "holds master.key but no samlfed.db" in refusals[0]["message"]

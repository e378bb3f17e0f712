"""`serve --workers N` replaces a worker that dies while it is still starting (killed outright: SIGKILL, the OOM
killer) at once, and acts on signals meanwhile.

Before, the supervisor's ping of the starting worker, which could no longer answer, waited out its whole 30 s
timeout (the supervisor kept the worker's end of the ping pipe open, so the worker's death did not end the wait): for
30 s the worker went unreplaced, every other worker unwatched, and a SIGTERM unanswered.

Each replacement is a WARNING saying why (uvicorn's own line is INFO, and says only that the worker died)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from servers import SAMLFED, free_port, kill_server_and_workers, running, wait_until_up, worker_pids

from samlfed.server import WORKER_HEALTHCHECK_SECONDS


def _new_worker(server: subprocess.Popen[bytes], known: set[int], *, seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for pid in worker_pids(server.pid, count=0, seconds=0):
            if pid not in known and running(pid):
                return pid
        time.sleep(0.02)
    return None


def test_a_worker_killed_while_starting_is_replaced_at_once(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    seen: set[int] = set()
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60, gave_up=lambda: server.poll() is not None)
        seen.update(worker_pids(server.pid, count=2))
        os.kill(min(seen), signal.SIGKILL)
        starting = _new_worker(server, seen, seconds=30)
        assert starting is not None, "the killed worker was not replaced"
        seen.add(starting)
        os.kill(starting, signal.SIGSTOP)  # still starting: it cannot answer the ping the supervisor sends it meanwhile
        time.sleep(1.5)
        os.kill(starting, signal.SIGKILL)
        killed = time.monotonic()
        replacement = _new_worker(server, seen, seconds=40)
        assert replacement is not None, "the worker killed while starting was not replaced"
        seen.add(replacement)
        assert time.monotonic() - killed < 10, f"replaced only {time.monotonic() - killed:.0f} s after it was killed"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        kill_server_and_workers(server, sorted(seen))


@pytest.mark.parametrize(("stop", "said"), [
    (signal.SIGKILL, "ended (killed by SIGKILL)"),
    (signal.SIGSTOP, f"did not answer the supervisor within {WORKER_HEALTHCHECK_SECONDS} s: killed it"),  # hung
])
def test_a_replaced_worker_is_a_warning_saying_why(tmp_path: Path, stop: signal.Signals, said: str) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2", "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    seen: set[int] = set()
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60, gave_up=lambda: server.poll() is not None)
        seen.update(worker_pids(server.pid, count=2))
        killed = min(seen)
        os.kill(killed, stop)
        replacement = _new_worker(server, seen, seconds=WORKER_HEALTHCHECK_SECONDS + 30)
        assert replacement is not None, "the killed worker was not replaced"
        seen.add(replacement)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        kill_server_and_workers(server, sorted(seen))
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    warnings = [entry["message"] for entry in entries if entry["level"] == "WARNING"]
    assert f"Worker process {killed} {said}; starting another." in warnings, warnings
    # Stopping `serve` ends every worker, as it should: no warning for those.
    assert len([message for message in warnings if message.startswith("Worker process ")]) == 1, warnings

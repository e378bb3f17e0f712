"""`samlfed serve --workers N` told to stop while one worker cannot act on the signal (stopped here; in production,
stuck in a call that never returns): the supervisor waits the shutdown grace and a margin, then kills that worker
and ends. Before, it waited for ever, and only the service manager's SIGKILL of everything ended it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from servers import SAMLFED, free_port, running, wait_until_up, worker_pids

from samlfed.server import SHUTDOWN_GRACE_SECONDS
from samlfed.supervisor import WORKER_STOP_SECONDS


def test_a_worker_that_does_not_stop_is_killed_after_the_grace_and_the_server_ends(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    workers: list[int] = []
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60, gave_up=lambda: server.poll() is not None)
        workers = worker_pids(server.pid, count=2)
        assert len(workers) == 2, workers
        stuck, healthy = workers
        os.kill(stuck, signal.SIGSTOP)
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=WORKER_STOP_SECONDS + 45)  # for ever before the fix
        assert time.monotonic() - signalled >= SHUTDOWN_GRACE_SECONDS, "the stuck worker was killed before the grace ended"
        assert not running(stuck) and not running(healthy)
        logged = log.read_text()
        assert f"Worker process {stuck} did not stop within {WORKER_STOP_SECONDS} s of the signal; killing it." in logged
        assert f"Worker process {healthy} did not stop" not in logged
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=15)
        for pid in workers:  # on failure, no stopped or orphaned worker outlives the test
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

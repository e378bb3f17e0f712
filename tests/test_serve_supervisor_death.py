"""`samlfed serve --workers N` killed outright (SIGKILL, the OOM killer): its workers stop too, and free the port.

Before, the workers served on as orphans, holding the listening socket, so a restarted `serve` could not bind it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from servers import SAMLFED, free_port, running, wait_until_up, worker_pids


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_workers_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    port = free_port()
    supervisor = subprocess.Popen(
        [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60, gave_up=lambda: supervisor.poll() is not None)
        workers = worker_pids(supervisor.pid, count=2)
        assert len(workers) == 2, workers
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(timeout=15)
        deadline = time.monotonic() + 30
        while any(map(running, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(running, workers)), "a worker outlived its supervisor"
        assert _port_free(port)
    finally:
        supervisor.kill()
        for pid in workers:  # on failure, no orphan outlives the test
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

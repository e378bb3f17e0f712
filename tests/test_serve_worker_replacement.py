"""`serve --workers N` replaces a worker that dies while it is still starting (killed outright: SIGKILL, the OOM
killer) at once, and acts on signals meanwhile.

Before, the supervisor's ping of the starting worker, which could no longer answer, waited out its whole 30 s
timeout (the supervisor kept the worker's end of the ping pipe open, so the worker's death did not end the wait): for
30 s the worker went unreplaced, every other worker unwatched, and a SIGTERM unanswered."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from servers import SAMLFED, free_port, kill_server_and_workers, running, wait_until_up, worker_pids


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

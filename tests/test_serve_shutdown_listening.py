"""`samlfed serve --workers 2` told to stop: it refuses new connections at once, while its workers still drain the
requests in flight, as one worker does. Before, the supervisor's copy of the listening socket kept the kernel
accepting connections that no worker would serve: they hung until the drain ended, then were reset.

And it ends within a bound when a worker cannot finish (stopped here; in production, stuck in a call that never
returns): the worker is killed once the shutdown grace and a margin have passed. Before, the supervisor waited for
ever, and only the service manager's SIGKILL of everything ended it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from servers import SAMLFED, free_port, kill_server_and_workers, running, wait_until_up, worker_pids

from samlfed.server import SHUTDOWN_GRACE_SECONDS
from samlfed.supervisor import WORKER_STOP_SECONDS

BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


def _held_request(port: int, target: str = "/") -> socket.socket:
    """A request in flight: its head and half its body sent."""
    held = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(BODY)}\r\n\r\n"
    held.sendall(head.encode() + BODY[:10])
    return held


def _still_waiting(held: socket.socket) -> bool:
    """Open, and not answered yet."""
    held.setblocking(False)
    try:
        held.recv(1, socket.MSG_PEEK)  # an answer, or b"" when closed
    except BlockingIOError:
        return True
    finally:
        held.setblocking(True)
    return False


def _holder(workers: list[int], held: socket.socket) -> int | None:
    """Which of `workers` accepted the connection `held` (its server-side socket, found through /proc)."""
    client_port = held.getsockname()[1]
    server_port = held.getpeername()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)
        if (local, remote) == (server_port, client_port):
            inode = fields[9]
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except OSError:  # accepted and then reset, or a connect that timed out: not refused
        return False
    return False


def test_a_stopping_server_refuses_new_connections_while_its_workers_drain(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path), "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60, gave_up=lambda: server.poll() is not None)
        held = _held_request(port)
        time.sleep(0.5)  # the request reaches a worker before the signal (it then drains it)
        server.send_signal(signal.SIGTERM)
        refused_while_draining = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _still_waiting(held):
            if _refused(port):
                refused_while_draining = _still_waiting(held)
                break
            time.sleep(0.1)
        assert refused_while_draining, "new connections were accepted (or hung) while the workers drained"
        held.sendall(BODY[10:])  # the request in flight is still served
        answer = held.recv(64)
        assert answer.startswith(b"HTTP/1.1 "), answer
        held.close()
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=15)


def test_a_request_unfinished_when_the_shutdown_grace_ends_gets_a_retryable_503(tmp_path: Path) -> None:
    """Its body never completes: after the 10 s grace the request is cancelled and answered with AWS's
    ServiceUnavailable (which SDKs retry elsewhere), not the server's plain-text 500; an IAM request's in IAM's
    namespace (it was STS's for every request)."""
    port = free_port()
    server = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60, gave_up=lambda: server.poll() is not None)
        held, held_iam = _held_request(port), _held_request(port, "/?Version=2010-05-08")
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        for request, namespace in ((held, b"https://sts.amazonaws.com/doc/2011-06-15/"), (held_iam, b"https://iam.amazonaws.com/doc/2010-05-08/")):
            request.settimeout(60)
            answer = b""
            while chunk := request.recv(4096):
                answer += chunk
            request.close()
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 "), answer
            assert b"<Code>ServiceUnavailable</Code>" in body and b"x-amzn-requestid" in head.lower()
            assert b'<ErrorResponse xmlns="' + namespace + b'">' in body, answer
        _, log = server.communicate(timeout=30)
        assert "Request cancelled by shutdown" in log and "Traceback" not in log
        assert server.returncode == 0, "a graceful stop of one worker ends as one of several does"  # was -SIGTERM
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=15)


def test_a_worker_that_cannot_finish_is_killed_after_the_grace_and_the_server_ends(tmp_path: Path) -> None:
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
        held = _held_request(port)  # its worker drains it for the whole grace: it is still running when stopped
        deadline = time.monotonic() + 10
        while (stuck := _holder(workers, held)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stuck is not None, "no worker accepted the held request"
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not _refused(port) and time.monotonic() < deadline:  # the supervisor is stopping: it pings no worker now
            time.sleep(0.05)
        os.kill(stuck, signal.SIGSTOP)
        server.wait(timeout=WORKER_STOP_SECONDS + 45)  # for ever before the fix
        held.close()
        assert time.monotonic() - signalled >= SHUTDOWN_GRACE_SECONDS, "the worker was killed before the grace ended"
        assert not any(map(running, workers))
        logged = log.read_text()
        assert f"Worker process {stuck} did not stop within {WORKER_STOP_SECONDS} s of the signal; killing it." in logged
        assert logged.count("did not stop within") == 1, logged
    finally:
        kill_server_and_workers(server, workers)


@pytest.mark.parametrize(("command", "probe"), [(["demo"], "/healthz"), (["idp", "serve"], "/idp/metadata")])
def test_demo_and_idp_serve_stopped_by_sigterm_exit_with_status_0(tmp_path: Path, command: list[str], probe: str) -> None:
    port = free_port()
    server = subprocess.Popen([SAMLFED, *command, "--port", str(port), "--data-dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}{probe}", seconds=60, gave_up=lambda: server.poll() is not None)
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=30)
        assert server.returncode == 0, log  # was -SIGTERM
        assert "Traceback" not in log
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=15)


@pytest.mark.parametrize("command", [["serve"], ["idp", "serve"], ["demo"]])
def test_a_taken_port_is_a_usage_error_before_any_start_up_work(tmp_path: Path, command: list[str]) -> None:
    """uvicorn's own refusal came after the start-up (the data directory made, the schema migrated, "Application
    startup complete" logged) and exited with 3."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run([SAMLFED, *command, "--port", str(port), "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "startup complete" not in done.stderr
    assert not (tmp_path / "data").exists()

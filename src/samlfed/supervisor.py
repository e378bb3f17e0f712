"""Running uvicorn for the samlfed servers: `uvicorn.run`, with changes to its supervisor of worker processes.

uvicorn's supervisor (`--workers N`) holds the listening socket its workers share. On SIGTERM or Ctrl-C each worker
closes its own copy and drains its requests (up to the shutdown grace), but the supervisor kept its copy open until
the workers were done, so the kernel went on accepting connections that no worker would ever serve: clients hung
for up to 10 s, then got a reset, instead of being refused at once and trying another node, as they are with one
worker. Here the supervisor closes its copy as soon as it is told to stop.

It also bounds every wait for a worker it has told to stop: at shutdown, when SIGHUP replaces the workers one by one
and when SIGTTOU retires one. uvicorn's waited for ever, so one worker that could not act on SIGTERM (stopped, or
stuck in a call that never returns) kept `serve` from ending until the service manager killed everything, and kept
a SIGHUP restart (and every signal after it) from going on. A worker still running when the shutdown grace and a
margin have passed is killed, and said so.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from .server import SHUTDOWN_GRACE_SECONDS, TlsUnusable, check_tls_files

WORKER_STOP_SECONDS = SHUTDOWN_GRACE_SECONDS + 5
"""How long after the signal a worker may take to end before it is killed: the shutdown grace, then 5 s to close
its database and exit."""


def _join_or_kill(worker: Process, deadline: float) -> None:
    """Wait for a worker already sent SIGTERM until `deadline` (time.monotonic()), then kill it."""
    worker.process.join(max(0.0, deadline - time.monotonic()))
    if worker.process.exitcode is None:
        logging.getLogger("samlfed").warning(
            "Worker process %s did not stop within %d s of the signal; killing it.", worker.pid, WORKER_STOP_SECONDS,
        )
        worker.kill()
        worker.process.join()


def _report_replacement(pid: int | None, code: int | None, healthcheck_seconds: float) -> None:
    """Why a worker is being replaced: its exit code, the signal that killed it (the OOM killer's SIGKILL), or its
    silence (`code` None) for `healthcheck_seconds`."""
    if code is None:
        why = f"did not answer the supervisor within {healthcheck_seconds:g} s: killed it"
    elif code >= 0:
        why = f"ended (exit code {code})"
    else:
        try:
            why = f"ended (killed by {signal.Signals(-code).name})"
        except ValueError:  # a real-time signal, which has no name of its own
            why = f"ended (killed by signal {-code})"
    logging.getLogger("samlfed").warning("Worker process %s %s; starting another.", pid, why)


class _Supervisor(Multiprocess):
    def terminate_all(self) -> None:
        if self.should_exit.is_set():  # stopping for good (not replacing workers): stop listening first
            for sock in self.sockets:
                sock.close()
        super().terminate_all()

    def keep_subprocess_alive(self) -> None:
        """Replace each worker that ended or does not answer its ping, as uvicorn's does, with a WARNING that says
        which and why: uvicorn's line, "Child process [PID] died", is INFO (unseen by log alerting) and says no more."""
        if self.should_exit.is_set():
            return
        for index, worker in enumerate(self.processes):
            # uvicorn's Process keeps the worker's end of the ping pipe open in the supervisor too, so a worker that
            # died with a ping unanswered (killed while starting) was only found out when the ping's 30 s ran out:
            # meanwhile nothing was replaced and no signal acted on. The started worker has its own copy: with the
            # supervisor's closed, its death ends the wait at once.
            worker.child_conn.close()
            if worker.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            code = worker.exitcode  # None: running, but silent
            worker.kill()
            worker.join()
            if worker.exitcode == STARTUP_FAILURE:  # as uvicorn: its app or socket is broken, as the next one's would be
                logging.getLogger("uvicorn.error").error("Child process [%s] failed to start, stopping the parent process.", worker.pid)
                self.should_exit.set()
                return
            _report_replacement(worker.pid, code, self.config.timeout_worker_healthcheck)
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement

    def join_all(self) -> None:
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for worker in self.processes:
            _join_or_kill(worker, deadline)

    # restart_all and handle_ttou follow uvicorn's (0.52 to 0.55), with the old worker's unbounded join() replaced by
    # _join_or_kill, since uvicorn offers no hook for that wait; restart_all also checks the TLS files first.

    def restart_all(self) -> None:
        """SIGHUP: replace each worker in turn; its replacement serves before the old worker is told to stop."""
        if not self._tls_files_load():
            return
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = Process(self.config, self.sockets)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                exitcode = new.exitcode  # None: still running, so it was not ready in time
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    why = "was not ready in time" if exitcode is None else f"ended (exit code {exitcode}) before it was ready"
                    logging.getLogger("uvicorn.error").error(
                        "New child process [%s] %s; keeping worker [%s] and aborting the restart.", new.pid, why, old.pid,
                    )
                return
            old.terminate()
            _join_or_kill(old, time.monotonic() + WORKER_STOP_SECONDS)
            self.processes[index] = new

    def _tls_files_load(self) -> bool:
        """The TLS certificate and key (when serving HTTPS) load, as at start: checked here, a broken renewal is one
        ERROR line and no restart, rather than a replacement worker that dies with a traceback."""
        if self.config.ssl_certfile is None or self.config.ssl_keyfile is None:
            return True
        try:
            check_tls_files(Path(self.config.ssl_certfile), Path(self.config.ssl_keyfile))
        except TlsUnusable as exc:
            logging.getLogger("samlfed").error("SIGHUP: %s; keeping the workers.", exc)
            return False
        return True

    def handle_ttou(self) -> None:
        """SIGTTOU: one worker fewer, down to one."""
        if self.processes_num <= 1:
            logging.getLogger("uvicorn.error").info("Already one worker process; SIGTTOU ignored.")
            return
        self.processes_num -= 1
        retired = self.processes.pop()
        retired.terminate()
        _join_or_kill(retired, time.monotonic() + WORKER_STOP_SECONDS)


class _WorkerConfig(uvicorn.Config):
    """uvicorn's settings, whose load() in a worker checks the TLS files first, as `serve` did at start: a worker
    started after they broke (replacing one that died) logs one line and exits, where uvicorn's load died with
    multiprocessing's raw traceback on stderr, again for each replacement."""

    def load(self) -> None:
        if self.ssl_certfile is not None and self.ssl_keyfile is not None:
            try:
                check_tls_files(Path(self.ssl_certfile), Path(self.ssl_keyfile))
            except TlsUnusable as exc:
                # uvicorn's logger: the one set up in the worker yet (samlfed's is, when the app is made). Not
                # uvicorn's start-up failure status (3), which would stop the workers still serving.
                logging.getLogger("uvicorn.error").error("This worker cannot start: %s", exc)
                raise SystemExit(1) from None
        super().load()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run(app: str | Callable[..., Any], **options: Any) -> None:
    """`uvicorn.run(app, **options)`; with more than one worker (`app` then an import string), under the supervisor
    above.

    Either way a stop by SIGTERM ends with exit status 0. uvicorn's one-process server, once it has drained, raises
    the SIGTERM again for the handler it found, which by default killed the process (status 143 in a shell) while the
    supervisor returned 0; here that handler exits cleanly, and so does a SIGTERM that comes before uvicorn's own
    handler is in place."""
    if options.get("workers", 1) <= 1:
        previous = signal.signal(signal.SIGTERM, _exit_cleanly)
        try:
            uvicorn.run(app, **options)
        finally:
            signal.signal(signal.SIGTERM, previous)
        return
    config = _WorkerConfig(app, **options)
    sock = config.bind_socket()
    try:
        _Supervisor(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # as uvicorn.run: a second Ctrl-C while the workers drain
        pass

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

A worker that cannot start (its database, TLS files or IdP keys unusable) exits within seconds, and so does each
replacement: uvicorn replaced them at once, for ever, a tight loop of failed starts filling the log and burning CPU.
Here a worker that ended soon after it started is replaced at once the first time, then after 1 s, 2 s, doubling up
to 30 s for each such end in a row, without holding up the supervisor's signals meanwhile; a worker that served a
while is replaced at once, and the count starts again.
"""

from __future__ import annotations

import logging
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from .server import SHUTDOWN_GRACE_SECONDS, TlsUnusable, check_tls_files

WORKER_STOP_SECONDS = SHUTDOWN_GRACE_SECONDS + 5
"""How long after the signal a worker may take to end before it is killed: the shutdown grace, then 5 s to close
its database and exit."""

WORKER_QUICK_END_SECONDS = 10.0
"""A worker that ends sooner than this after it started most likely could not start, and its replacement would end
the same way: replacing it waits (replacement_delay)."""

REPLACEMENT_DELAY_CAP_SECONDS = 30.0


def replacement_delay(quick_ends: int) -> float:
    """How long to wait before replacing a worker that has ended, `quick_ends` the number of workers in its place that
    in a row (it included) ended within WORKER_QUICK_END_SECONDS of starting: none for one that served a while, nor for
    a first quick end (which may be chance), then 1 s, doubling up to REPLACEMENT_DELAY_CAP_SECONDS."""
    if quick_ends < 2:
        return 0.0
    # The exponent is bounded because the count grows for as long as the workers cannot start (2.0 ** 1024 overflows).
    return min(2.0 ** min(quick_ends - 2, 8), REPLACEMENT_DELAY_CAP_SECONDS)


class _Worker(Process):
    """uvicorn's worker process, which also knows when it started, how many workers in its place ended in a row soon
    after starting (`quick_ends`: those before it, and once it has ended, itself if it did so), and, once it has
    ended, when the supervisor means to replace it."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], *, quick_ends: int = 0) -> None:
        super().__init__(config, sockets)
        self.quick_ends = quick_ends
        self.started_at = 0.0
        self.replace_at: float | None = None  # time.monotonic() at which the supervisor replaces it (it has ended)

    def start(self) -> None:
        super().start()
        self.started_at = time.monotonic()
        # uvicorn's Process keeps the worker's end of the ping pipe open in the supervisor too, so a worker that died
        # with a ping unanswered (killed while starting) was only found out when the ping's 30 s ran out: meanwhile
        # nothing was replaced and no signal acted on. The started worker has its own copy (passed to it as it was
        # spawned): with the supervisor's closed, its death ends the wait at once.
        self.child_conn.close()


def _join_or_kill(worker: Process, deadline: float) -> None:
    """Wait for a worker already sent SIGTERM until `deadline` (time.monotonic()), then kill it."""
    worker.process.join(max(0.0, deadline - time.monotonic()))
    if worker.process.exitcode is None:
        logging.getLogger("samlfed").warning(
            "Worker process %s did not stop within %d s of the signal; killing it.", worker.pid, WORKER_STOP_SECONDS,
        )
        worker.kill()
        worker.process.join()


def _report_replacement(pid: int | None, code: int | None, healthcheck_seconds: float, quick_ends: int, delay: float) -> None:
    """Why a worker is being replaced: its exit code, the signal that killed it (the OOM killer's SIGKILL), or its
    silence (`code` None) for `healthcheck_seconds`; and, when its replacement waits `delay` s, why."""
    if code is None:
        why = f"did not answer the supervisor within {healthcheck_seconds:g} s: killed it"
    elif code >= 0:
        why = f"ended (exit code {code})"
    else:
        try:
            why = f"ended (killed by {signal.Signals(-code).name})"
        except ValueError:  # a real-time signal, which has no name of its own
            why = f"ended (killed by signal {-code})"
    if not delay:
        logging.getLogger("samlfed").warning("Worker process %s %s; starting another.", pid, why)
        return
    logging.getLogger("samlfed").warning(
        "Worker process %s %s within %g s of starting, %d in a row; starting another in %g s.",
        pid, why, WORKER_QUICK_END_SECONDS, quick_ends, delay,
    )


class _Supervisor(Multiprocess):
    def terminate_all(self) -> None:
        if self.should_exit.is_set():  # stopping for good (not replacing workers): stop listening first
            for sock in self.sockets:
                sock.close()
        super().terminate_all()

    def _start_worker(self, *, quick_ends: int = 0) -> _Worker:
        worker = _Worker(self.config, self.sockets, quick_ends=quick_ends)
        worker.start()
        return worker

    # init_processes and handle_ttin are uvicorn's (0.52 to 0.55), with _Worker for uvicorn's Process.

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            self.processes.append(self._start_worker())

    def handle_ttin(self) -> None:
        logging.getLogger("uvicorn.error").info("Received SIGTTIN, increasing the number of processes.")
        self.processes_num += 1
        self.processes.append(self._start_worker())

    def keep_subprocess_alive(self) -> None:
        """Replace each worker that ended or does not answer its ping, as uvicorn's does, with a WARNING that says
        which and why: uvicorn's line, "Child process [PID] died", is INFO (unseen by log alerting) and says no more.
        The replacement of a worker that ended soon after it started waits (replacement_delay): the ended worker
        stays in its place until then, and the supervisor's loop goes on (checking the other workers, acting on
        signals) rather than sleeping."""
        if self.should_exit.is_set():
            return
        for index, worker in enumerate(cast("list[_Worker]", self.processes)):  # all started by _start_worker
            if worker.replace_at is not None:  # ended: replaced when its delay is over
                if time.monotonic() >= worker.replace_at:
                    self.processes[index] = self._start_worker(quick_ends=worker.quick_ends)
                continue
            if worker.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            code = worker.exitcode  # None: running, but silent
            lived = time.monotonic() - worker.started_at
            worker.kill()
            worker.join()
            if worker.exitcode == STARTUP_FAILURE:  # as uvicorn: its app or socket is broken, as the next one's would be
                logging.getLogger("uvicorn.error").error("Child process [%s] failed to start, stopping the parent process.", worker.pid)
                self.should_exit.set()
                return
            worker.quick_ends = worker.quick_ends + 1 if lived < WORKER_QUICK_END_SECONDS else 0
            delay = replacement_delay(worker.quick_ends)
            _report_replacement(worker.pid, code, self.config.timeout_worker_healthcheck, worker.quick_ends, delay)
            if delay:
                worker.replace_at = time.monotonic() + delay
            else:
                self.processes[index] = self._start_worker(quick_ends=worker.quick_ends)

    def join_all(self) -> None:
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for worker in self.processes:
            _join_or_kill(worker, deadline)

    # restart_all and handle_ttou follow uvicorn's (0.52 to 0.55), with the old worker's unbounded join() replaced by
    # _join_or_kill, since uvicorn offers no hook for that wait; restart_all also checks the TLS files first. A worker
    # that has ended and waits for its replacement (replacement_delay) is replaced by SIGHUP at once, as the others.

    def restart_all(self) -> None:
        """SIGHUP: replace each worker in turn; its replacement serves before the old worker is told to stop."""
        if not self._tls_files_load():
            return
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._start_worker()
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

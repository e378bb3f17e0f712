"""Running uvicorn for the samlfed servers: `uvicorn.run`, with one change to its supervisor of worker processes.

uvicorn's supervisor (`--workers N`) holds the listening socket its workers share. On SIGTERM or Ctrl-C each worker
closes its own copy and drains its requests (up to the shutdown grace), but the supervisor kept its copy open until
the workers were done, so the kernel went on accepting connections that no worker would ever serve: clients hung
for up to 10 s, then got a reset, instead of being refused at once and trying another node, as they are with one
worker. Here the supervisor closes its copy as soon as it is told to stop.

It also bounds the wait for its workers: uvicorn's waited for ever, so one worker that could not act on SIGTERM
(stopped, or stuck in a call that never returns) kept `serve` from ending until the service manager killed
everything. A worker still running when the shutdown grace and a margin have passed is killed, and said so.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from .server import SHUTDOWN_GRACE_SECONDS

WORKER_STOP_SECONDS = SHUTDOWN_GRACE_SECONDS + 5
"""How long after the signal a worker may take to end before it is killed: the shutdown grace, then 5 s to close
its database and exit."""


class _Supervisor(Multiprocess):
    def terminate_all(self) -> None:
        if self.should_exit.is_set():  # stopping for good (not replacing workers): stop listening first
            for sock in self.sockets:
                sock.close()
        super().terminate_all()

    def join_all(self) -> None:
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for worker in self.processes:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                logging.getLogger("samlfed").warning(
                    "Worker process %s did not stop within %d s of the signal; killing it.",
                    worker.pid, WORKER_STOP_SECONDS,
                )
                worker.kill()
                worker.process.join()


def run(app: str, **options: Any) -> None:
    """`uvicorn.run(app, **options)`; with more than one worker, under the supervisor above."""
    if options.get("workers", 1) <= 1:
        uvicorn.run(app, **options)
        return
    config = uvicorn.Config(app, **options)
    sock = config.bind_socket()
    try:
        _Supervisor(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # as uvicorn.run: a second Ctrl-C while the workers drain
        pass

"""`GET /readyz`: whether this process can use its database, for load balancers that take a node out when it
cannot. `/healthz` stays the liveness probe and never touches the database."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..store import StoreUnavailable

log = logging.getLogger("samlfed.api.readiness")
READY_SECONDS = 2.0
"""How long a probe waits for the database before it answers 503."""
UNAVAILABLE = "the database is unavailable"


class Readiness:
    """At most one database check runs at a time in a process: probes that arrive meanwhile wait for it instead of
    starting their own, so a flood of probes or a hung database costs one connection and one thread."""

    def __init__(self, ping: Callable[[], None], seconds: float = READY_SECONDS) -> None:
        self._ping = ping
        self._seconds = seconds
        self._running: Future[str | None] | None = None
        self._late: Future[str | None] | None = None
        """The check whose lateness was logged, once."""
        self._failing = False
        """The last finished check failed: only changes are logged, not every probe."""

    async def reason(self) -> str | None:
        """None when the database answered in time; otherwise why not, naming nothing of the database."""
        if self._running is None or self._running.done():
            self._running = self._start()
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self._running), self._seconds)
        except TimeoutError:
            reason = f"the database did not answer within {self._seconds:g} seconds"
            if self._late is not self._running:
                self._late, self._failing = self._running, True
                log.warning("not ready: %s", reason)
            return reason

    def _start(self) -> Future[str | None]:
        future: Future[str | None] = Future()
        future.set_running_or_notify_cancel()  # a probe that stops waiting must not cancel what later probes share
        # A daemon thread of its own, not the shared thread pool: a check stuck on a hung database must neither
        # hold a thread that requests need nor keep the process from exiting.
        threading.Thread(target=lambda: future.set_result(self._check()), name="samlfed-readyz", daemon=True).start()
        return future

    def _check(self) -> str | None:
        try:
            self._ping()
        except Exception as exc:  # whatever fails, the node is not ready; the log says what, the answer does not
            if not self._failing:
                log.warning("not ready: %s", exc if isinstance(exc, StoreUnavailable) else type(exc).__name__)
            self._failing = True
            return UNAVAILABLE
        if self._failing:
            log.info("ready again: the database answers")
        self._failing = False
        return None


def readiness_route(readiness: Readiness) -> Route:
    """GET (and HEAD) /readyz: 200 `ok`, or 503 with a short reason."""

    async def readyz(_: Request) -> Response:
        reason = await readiness.reason()
        if reason is None:
            return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})
        return PlainTextResponse(reason, status_code=503, headers={"Cache-Control": "no-store"})

    return Route("/readyz", readyz, methods=["GET"])

"""The log of requests that failed because the database was unavailable: a line for the first, then at most one a
minute, counting those it left out. An outage under load logged a line per request (1,400 in 22 s, each repeating
the driver's text), burying everything else the log said; `/readyz` logs when the database comes and goes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

LOG_INTERVAL_SECONDS = 60.0


class OutageLog:
    """One per process; requests run on its event loop, one at a time, so it needs no lock."""

    def __init__(self, log: logging.Logger, interval: float = LOG_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self._interval = interval
        self._clock = clock
        self._quiet_until: float | None = None
        self._left_out = 0

    def failed(self, what: str, reason: object) -> None:
        """`what` (a request id, a method and path) failed: the database is unavailable for `reason`."""
        now = self._clock()
        if self._quiet_until is not None and now < self._quiet_until:
            self._left_out += 1
            return
        if self._left_out:
            self._log.warning("%s failed: the database is unavailable: %s (and %d more in the minute after the previous such line)",
                              what, reason, self._left_out)
        else:
            self._log.warning("%s failed: the database is unavailable: %s", what, reason)
        self._left_out = 0
        self._quiet_until = now + self._interval

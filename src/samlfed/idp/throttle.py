"""Login throttling per user name and per client address (in memory, per process)."""

from __future__ import annotations

import threading
import time
from collections import deque


class Throttle:
    """At most `limit` failures per key within `window` seconds; while over it, attempts are refused unchecked.

    Keys are bounded in number (oldest forgotten first) so that an attacker cycling names cannot exhaust memory.
    """

    def __init__(self, limit: int = 5, window: float = 300.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, *keys: str, now: float | None = None) -> bool:
        moment = time.monotonic() if now is None else now
        with self._lock:
            return any(len(self._recent(key, moment)) >= self.limit for key in keys)

    def failed(self, *keys: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                failures = self._failures.pop(key, None) or deque()
                failures.append(moment)
                self._failures[key] = failures  # re-inserted: dict order is recency order
            while len(self._failures) > self.max_keys:
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

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

    def blocked(self, key: str, now: float | None = None) -> bool:
        moment = time.monotonic() if now is None else now
        with self._lock:
            return len(self._recent(key, moment)) >= self.limit

    def failed(self, key: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent(key, moment)
            self._failures.pop(key, None)
            failures.append(moment)
            self._failures[key] = failures  # re-inserted: dict order is recency order
            while len(self._failures) > self.max_keys:
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class LoginThrottle:
    """Failed logins: 5 per user name and 20 per client address within 5 minutes (a shared office address
    gets more room than one account). Unknown user names are counted like real ones."""

    def __init__(self, per_user: int = 5, per_address: int = 20, window: float = 300.0) -> None:
        self.users = Throttle(per_user, window)
        self.addresses = Throttle(per_address, window)

    def blocked(self, username: str, address: str) -> bool:
        return self.users.blocked(username.lower()) or self.addresses.blocked(address)

    def failed(self, username: str, address: str) -> None:
        self.users.failed(username.lower())
        self.addresses.failed(address)

    def succeeded(self, username: str) -> None:
        """Only the user's count resets: one good account must not reset an attacker's address count."""
        self.users.succeeded(username.lower())

"""IAM's `RoleLastUsed`: each successful assumption of a role records when and in which region it happened.

Every sign-in is a use, and a database write per sign-in would add a transaction to the hot path; a node writes
a role's use at most once per `WRITE_INTERVAL_SECONDS` instead (AWS too documents that last-used data lags). A
write that fails is logged, never fails the sign-in (the data is informational), and is tried again by a use
`RETRY_SECONDS` later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from ..store import DatabaseUnavailable, NotFound, Role, SqlStore, failure_reason

log = logging.getLogger("samlfed.sts")

DEFAULT_REGION = "us-east-1"
"""The region of requests that name none: samlfed answers as AWS's global STS endpoint, which is us-east-1."""
WRITE_INTERVAL_SECONDS = 60.0
RETRY_SECONDS = 5.0
"""After a failed write, how long a role's uses go unrecorded before one tries again. Retrying at every sign-in
logged a warning per sign-in through an outage, and behind a lock held elsewhere made each sign-in wait for it."""
MAX_ENTRIES = 4096
"""Past this many roles the throttle starts over (bounds memory; the cost is one early write per role)."""


class RoleUseRecorder:
    """This node's writer of role uses, throttled per role."""

    def __init__(
        self, store: SqlStore, interval: float = WRITE_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES,
        retry: float = RETRY_SECONDS,
    ) -> None:
        self.store = store
        self.interval = interval
        self.retry = min(retry, interval)
        self.clock = clock
        self.max_entries = max_entries
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, role: Role, used_at: datetime, region: str) -> None:
        """Record a use of `role`, unless this node recorded one less than `interval` ago."""
        if not self._due(role.role_id):
            return
        try:
            self.store.record_role_use(role.role_id, used_at, region)
        except NotFound:
            pass  # the role was deleted since it was assumed: nothing left to describe
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            with self._lock:  # a use `retry` seconds from now tries again
                self._written[role.role_id] = self.clock() - self.interval + self.retry
            log.warning("role last use not recorded role=%s error=%s", role.arn, failure_reason(exc))

    def _due(self, role_id: str) -> bool:
        """Whether a write is due for `role_id`; if so, counts it as written now (one writer per interval)."""
        now = self.clock()
        with self._lock:
            last = self._written.get(role_id)
            if last is not None and now - last < self.interval:
                return False
            if len(self._written) >= self.max_entries:
                self._written.clear()
            self._written[role_id] = now
            return True

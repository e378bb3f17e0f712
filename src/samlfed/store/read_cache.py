"""Short-lived copies of the two rows every AssumeRoleWithSAML reads: its SAML provider and its role.

Reading them costs two store transactions per call (a third of the request on SQLite, a network round trip
each on PostgreSQL), and they change rarely. A copy is used for at most `seconds`, and never after this node
changed any provider or role (the store counts such writes, in a count the workers of `samlfed serve` share:
generation.py), so a node sees its own changes at once, and other nodes' within `seconds`: the eventual consistency
AWS documents for IAM, bounded. Lookups that find nothing are not kept, so a provider or role created anywhere is
usable at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from .records import Role, SamlProvider
from .sql import SqlStore

T = TypeVar("T")
MAX_ENTRIES = 4096
"""Past this many copies the cache starts over (bounds memory against callers naming endless ARNs)."""


class ReadCache:
    def __init__(self, store: SqlStore, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, int, object]] = {}
        self._lock = threading.Lock()

    def provider(self, arn: str) -> SamlProvider:
        """The provider without its tags; raises NotFound like the store."""
        return self._get(("provider", arn), lambda: self.store.get_provider(arn, with_tags=False))

    def role(self, account_id: str, name: str) -> Role:
        """The role without its tags (names are case-insensitive, as in the store); raises NotFound."""
        return self._get(("role", account_id, name.lower()), lambda: self.store.get_role(account_id, name, with_tags=False))

    def _get(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        if self.seconds <= 0:
            return load()
        now = self.clock()
        generation = self.store.identity_changes.value  # read before loading: a write meanwhile makes the copy stale
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now and entry[1] == generation:
            return entry[2]  # type: ignore[return-value]
        value = load()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + self.seconds, generation, value)
        return value

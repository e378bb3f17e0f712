"""Login throttling per user name and per client address, shared by every worker through the IdP's state file.

An attempt is reserved (counted as a failure) before its password is checked and given back only when it
succeeds: a check-then-count throttle lets every one of many concurrent guesses through while the slow password
hash runs, and per-process counts would multiply the limit by the number of workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .state import IdpState


@dataclass(frozen=True)
class Attempt:
    """A reserved sign-in attempt: end it with `failed`, `succeeded` or `give_back`."""

    user_key: str
    ids: tuple[int, ...]


class LoginThrottle:
    """Failed logins: 5 per user name and 20 per client address within 5 minutes (a shared office address
    gets more room than one account). Unknown user names are counted like real ones."""

    def __init__(self, state: IdpState, per_user: int = 5, per_address: int = 20, window: float = 300.0, max_rows: int = 100_000) -> None:
        self.state = state
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self.max_rows = max_rows

    def reserve(self, username: str, address: str, now: float | None = None) -> Attempt | None:
        """Count an attempt before its password is checked; None (refuse it unchecked) when the user name or the
        address is at its limit."""
        user_key = "user\0" + username.lower()
        limits = ((user_key, self.per_user), ("address\0" + address, self.per_address))
        # Wall-clock time: the count outlives a restart, and every worker must read the same clock.
        moment = time.time() if now is None else now
        ids = self.state.reserve_attempt(limits, now=moment, window=self.window, max_rows=self.max_rows)
        return None if ids is None else Attempt(user_key, ids)

    def failed(self, attempt: Attempt) -> None:
        self.state.confirm_attempt(attempt.ids)

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt is given back, and the user's failures forgotten; the address keeps its other failures,
        so that one good account does not reset an attacker's address count."""
        self.state.release_attempt(attempt.ids, forget_failures_of=attempt.user_key)

    def give_back(self, attempt: Attempt) -> None:
        """Not a failure after all (a malformed request, or a right password still waiting for its one-time code)."""
        self.state.release_attempt(attempt.ids)

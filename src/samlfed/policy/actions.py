"""A statement's Action (or NotAction) patterns, matched one service at a time.

One alternation of every pattern is what a statement of a few actions needs, but AWS's own managed policies hold
thousands (ReadOnlyAccess 2,661, AWSSupportServiceRolePolicy 4,054): compiling that one regex took 96-161 ms on
the first request that met it, and each match 6-13 µs. Grouped by the service before the first colon, a request
compiles and scans only its own service's patterns (and those whose service part has a wildcard).

The grouping never changes what matches: an ASCII service part without wildcards matches exactly the actions whose
service part equals it in ASCII case-insensitive comparison. Anything else (a wildcard or a non-ASCII letter in the
pattern's service part, which the regex's Unicode case folding may match otherwise; an empty one or one with a
control character) is checked for every action, and an action whose own service part is not such plain ASCII is
checked against every pattern.
"""

from __future__ import annotations

import re
from typing import Protocol

from .variables import alternation

GROUPED_FROM = 64
"""Fewer patterns than this stay one alternation: grouping costs a lookup per match, which a short regex does not
repay (a 10-statement policy evaluated 25 % slower grouped)."""


class ActionMatcher(Protocol):
    def fullmatch(self, action: str) -> object | None: ...


def action_matcher(patterns: tuple[str, ...]) -> ActionMatcher:
    """What matches `patterns` (IAM's wildcards, case-insensitive): one regex, or, for many, ActionPatterns."""
    return alternation(patterns, ignore_case=True) if len(patterns) < GROUPED_FROM else ActionPatterns(patterns)


class ActionPatterns:
    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._patterns = patterns
        self._by_service: dict[str, list[str]] = {}
        anywhere: list[str] = []
        for pattern in patterns:
            service = _plain_service(pattern)
            if service is None or "*" in service or "?" in service:
                anywhere.append(pattern)
            else:
                self._by_service.setdefault(service.lower(), []).append(pattern)
        self._anywhere = tuple(anywhere)
        self._compiled: dict[str, re.Pattern[str]] = {}
        """By service (bounded by the policy's own services); "" for the wildcard ones alone, "\\0" for all."""

    def fullmatch(self, action: str) -> bool | None:
        """True when any pattern matches `action` (IAM's wildcards, case-insensitive), else None (as re's)."""
        service = _plain_service(action)
        if service is None:
            key, patterns = "\0", self._patterns
        elif service.lower() in self._by_service:
            key = service.lower()
            patterns = (*self._by_service[key], *self._anywhere)
        else:
            key, patterns = "", self._anywhere
        if not patterns:
            return None
        regex = self._compiled.get(key)
        if regex is None:
            regex = self._compiled[key] = alternation(patterns, ignore_case=True)
        return True if regex.fullmatch(action) is not None else None


def _plain_service(text: str) -> str | None:
    """The part before the first colon, when there is a colon and that part is printable ASCII and not empty; otherwise
    None. An empty or NUL part would share the cache entries of ActionPatterns's own ("" and "\\0")."""
    service, colon, _ = text.partition(":")
    return service if colon and service and service.isascii() and service.isprintable() else None

"""Instants as AWS writes them: ISO 8601 in UTC, to the second, with a Z (Expiration, CreateDate, aws:CurrentTime)."""

from __future__ import annotations

from datetime import UTC, datetime


def aws_timestamp(moment: datetime) -> str:
    """`moment` (timezone-aware) as text such as 2026-12-01T17:06:40Z; fractions of a second are dropped.

    isoformat, not strftime: half the time, and every sign-in writes two of these."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"  # drops the "+00:00" that UTC gets

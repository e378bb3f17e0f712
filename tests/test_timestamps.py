"""AWS's timestamp text, which clients parse (Expiration) and policies compare (aws:CurrentTime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from samlfed.timestamps import aws_timestamp


def test_utc_to_the_second_with_a_z() -> None:
    assert aws_timestamp(datetime(2026, 12, 1, 17, 6, 40, 999_999, tzinfo=UTC)) == "2026-12-01T17:06:40Z"
    assert aws_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


def test_other_zones_are_converted_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert aws_timestamp(datetime(2026, 12, 2, 1, 30, tzinfo=tokyo)) == "2026-12-01T16:30:00Z"
    behind = timezone(-timedelta(hours=3, minutes=30))
    assert aws_timestamp(datetime(2026, 12, 31, 22, 0, tzinfo=behind)) == "2027-01-01T01:30:00Z"

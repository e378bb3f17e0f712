"""Strict xs:dateTime parsing: an explicit time zone is required (SAML instants are UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# xs:dateTime with seconds and a zone, nothing else ISO 8601 allows. re.ASCII: `\d` must not match other digits.
_XS_DATETIME = re.compile(r"^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$", re.ASCII)
# Its common case (four-digit year, UTC), without capture groups: a third cheaper to match.
_COMMON = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z", re.ASCII)
_MAX_OFFSET = timedelta(hours=14)  # the xs:dateTime zone range


class InstantOutOfRange(ValueError):
    """A well-formed xs:dateTime that Python's calendar (years 1 to 9999, in UTC) cannot hold."""


def xs_datetime_text(moment: datetime) -> str:
    """An aware instant as xs:dateTime in UTC: whole seconds, or milliseconds (truncated) when it has a fraction."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    moment = moment.astimezone(UTC)
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"  # %Y drops a year's leading zeros
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def parse_xs_datetime(value: str) -> datetime:
    """Parse an xs:dateTime with an explicit zone into an aware UTC datetime; raise ValueError otherwise.

    Fractional seconds are kept to the microsecond (further digits are truncated, not rounded).
    """
    if _COMMON.fullmatch(value):  # fullmatch: `$` alone would allow a trailing newline
        # The common shape (four-digit year, UTC): the regex pinned the syntax, and fromisoformat (which keeps
        # six fraction digits, truncating the rest, as below) is ten times faster than assembling the parts.
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:  # 2017-02-30 and the like
            raise ValueError(f"not a valid xs:dateTime: {value!r} ({exc})") from None
    match = _XS_DATETIME.fullmatch(value)
    if not match:
        raise ValueError(f"not an xs:dateTime with a time zone: {value!r}")
    year_text, month, day, hour, minute, second, fraction, zone = match.groups()
    year = int(year_text)
    if year < 1 or (len(year_text) > 4 and year_text.startswith("0")):
        raise ValueError(f"year out of range or zero-padded: {value!r}")
    if year > 9999:
        raise InstantOutOfRange(f"year past 9999: {value!r}")
    microsecond = int(fraction[1:7].ljust(6, "0")) if fraction else 0
    try:
        local = datetime(year, int(month), int(day), int(hour), int(minute), int(second), microsecond, tzinfo=_zone(zone))
    except ValueError as exc:  # invalid dates (2017-02-30)
        raise ValueError(f"not a valid xs:dateTime: {value!r} ({exc})") from None
    try:
        return local.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC, 0001-01-01T00:00:00+01:00 in year 0
        raise InstantOutOfRange(f"outside years 1 to 9999 in UTC: {value!r}") from None


def _zone(zone: str) -> timezone:
    if zone == "Z":
        return UTC
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    offset = timedelta(hours=hours, minutes=minutes)
    if minutes > 59 or offset > _MAX_OFFSET:
        raise ValueError(f"time zone offset out of range: {zone}")
    return timezone(-offset if zone[0] == "-" else offset)

"""Strict xs:dateTime parsing: an explicit time zone is required (SAML instants are UTC)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_XS_DATETIME = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?(?P<zone>Z|[+-]\d{2}:\d{2})$"
)


def parse_xs_datetime(value: str) -> datetime:
    """Parse an xs:dateTime with an explicit zone into an aware UTC datetime; raise ValueError otherwise."""
    match = _XS_DATETIME.match(value)
    if match is None:
        raise ValueError(f"not an xs:dateTime with a time zone: {value!r}")
    parts = match.groupdict()
    micro = int((parts["fraction"] or "0")[:6].ljust(6, "0"))
    moment = datetime(
        int(parts["year"]), int(parts["month"]), int(parts["day"]),
        int(parts["hour"]), int(parts["minute"]), int(parts["second"]), micro, tzinfo=timezone.utc,
    )
    zone = parts["zone"]
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 14 or minutes > 59:
            raise ValueError(f"invalid time zone offset in {value!r}")
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    return moment

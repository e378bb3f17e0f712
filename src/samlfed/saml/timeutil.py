"""Strict xs:dateTime parsing: an explicit time zone is required (SAML instants are UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# The regex decides what is accepted (xs:dateTime with seconds and a zone, nothing else ISO 8601 allows);
# datetime.fromisoformat then does the calendar arithmetic and range checks.
_XS_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.ASCII)


def parse_xs_datetime(value: str) -> datetime:
    """Parse an xs:dateTime with an explicit zone into an aware UTC datetime; raise ValueError otherwise."""
    if not _XS_DATETIME.fullmatch(value):
        raise ValueError(f"not an xs:dateTime with a time zone: {value!r}")
    return datetime.fromisoformat(value).astimezone(UTC)

"""Whole numbers written by whoever sends the request: a Content-Length, an X-Amz-Expires, an ACS index, an AWS
query integer, a policy's epoch date.

`int()` is no check for these. It accepts '1_000', ' 7' and non-ASCII digits such as '٣', and it raises
ValueError for a string of more than 4,300 digits. A Content-Length of 5,000 zeros and a 5 got past an
`isdigit()` test that way and answered 500 with a traceback. Every such number goes through here instead."""

from __future__ import annotations


def decimal_at_most(text: str | None, limit: int) -> int | None:
    """`text` as an int when it is ASCII digits only (leading zeros allowed, as HTTP allows them in
    Content-Length) and its value is at most `limit`; else None. Never raises, whatever `text` holds."""
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(limit)):  # settled before int() sees it, so it never converts a long string
        return None
    value = int(digits)
    return value if value <= limit else None


def signed_decimal_within(text: str, low: int, high: int) -> int | None:
    """`text` as an int when it is ASCII digits after an optional sign (leading zeros allowed, as Java's parsers read
    them) and its value is from `low` to `high`; else None. Never raises, whatever `text` holds."""
    sign, digits = (text[0], text[1:]) if text[:1] in ("+", "-") else ("", text)
    if not (digits.isascii() and digits.isdigit()):
        return None
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(max(-low, high))):  # settled before int() sees it, as in decimal_at_most
        return None
    value = int(sign + digits)
    return value if low <= value <= high else None

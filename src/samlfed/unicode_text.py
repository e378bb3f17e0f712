"""Whether a Python string is Unicode text: one place for the check that config and jsoninput both need."""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a surrogate code point. Such a string is not Unicode text (non-UTF-8 environment bytes
    and "\\ud800" JSON escapes come out this way): any `.encode("utf-8")` of it fails, and no XML can carry it."""
    return _SURROGATE.search(text) is not None

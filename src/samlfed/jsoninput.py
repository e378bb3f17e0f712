"""JSON from the outside: policy documents, attribute mappings, authorization and federation bodies, and the
role data `samlfed login` receives from the server or the browser."""

from __future__ import annotations

import json
import math
from typing import Any

from .unicode_text import has_surrogate


def parse_json(text: str | bytes) -> Any:
    """`json.loads` that fails only with ValueError: json raises RecursionError for deep nesting ('[[[[…'), and a
    plain ValueError (not a JSONDecodeError) for an integer of more than 4,300 digits.

    A lone surrogate ("\\ud800", or its UTF-8-like bytes, which json decodes with surrogatepass) is refused: it is
    not Unicode text, and every later `.encode()` of it (a log line, a response, a comparison) would fail. So are
    what Python's json takes but JSON is not: NaN, Infinity and numbers beyond a float (1e999); and a key repeated
    in one object, which parsers read differently (the first wins, or the last: `"Effect": "Deny", "Effect":
    "Allow"` must not mean Allow here and Deny to a policy linter)."""
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=not_json, parse_float=_finite)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    if _has_surrogate(value):
        raise ValueError("the JSON holds a lone surrogate (\\ud800-\\udfff)")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ValueError("the JSON repeats a key in one object")
    return value


def not_json(name: str) -> Any:
    """A `parse_constant` for json.loads: NaN, Infinity and -Infinity are no JSON."""
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is beyond what JSON numbers hold here")
    return value


def _has_surrogate(value: Any) -> bool:
    """Whether any string or key in a decoded document holds a surrogate (json pairs valid ones into one
    character, so any left are lone). A loop, not recursion: json may nest deeper than Python recurses."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False

"""JSON from the outside: policy documents, attribute mappings, authorization and federation bodies, and the
role data `samlfed login` receives from the server or the browser."""

from __future__ import annotations

import json
from typing import Any


def parse_json(text: str | bytes) -> Any:
    """`json.loads` that fails only with ValueError: json raises RecursionError for deep nesting ('[[[[…'), and a
    plain ValueError (not a JSONDecodeError) for an integer of more than 4,300 digits."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None

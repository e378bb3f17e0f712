"""Replacing one table of a TOML file as text, so that every other byte (comments included) stays as it was.

tomllib/tomli_w cannot round-trip comments, and tomlkit is not a dependency. A table's span is found line by
line: a line is a table header when the line alone parses as TOML to a header (`[a."b c"] # note` included),
which also handles any quoting of the keys. A header-looking line inside a multi-line string could fool that,
so the edited text is parsed again and must equal the old data with only this table changed; when it does not,
the caller gets None and decides what to do.
"""

from __future__ import annotations

import tomllib
from typing import Any

import tomli_w

from .aws_ini import lines_of


def _header(line: str) -> tuple[str, ...] | None:
    """The key path of the `[table]` or `[[array]]` header on this line (an array's ends with "[]"), or None."""
    if not line.lstrip().startswith("["):
        return None
    try:
        node: Any = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return None
    keys: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        key, node = next(iter(node.items()))
        keys.append(key)
    if node == [{}]:
        keys.append("[]")
    elif node != {}:
        return None
    return tuple(keys) or None


def _is_blank_or_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def replace_table(text: str, data: dict[str, Any], keys: tuple[str, ...], values: dict[str, Any]) -> str | None:
    """`text` (which parses to `data`) with the table at `keys` set to `values`, or None if that cannot be done safely."""
    newline = "\r\n" if "\r\n" in text else "\n"
    nested: dict[str, Any] = values
    for key in reversed(keys):
        nested = {key: nested}
    table = tomli_w.dumps(nested).replace("\n", newline)  # its header line, then its keys
    lines = lines_of(text)
    starts = [index for index, line in enumerate(lines) if _header(line) == keys]
    if not starts:
        separator = "" if not text or text.endswith(("\n", "\r")) else newline
        updated = text + separator + (newline if text.strip() else "") + table
    else:
        start = starts[0]
        end = next((i for i in range(start + 1, len(lines)) if (h := _header(lines[i])) and h[: len(keys)] != keys), len(lines))
        while end > start + 1 and _is_blank_or_comment(lines[end - 1]):  # comments before the next table stay with it
            end -= 1
        header = lines[start] if lines[start].endswith(("\n", "\r")) else lines[start] + newline
        updated = "".join(lines[:start]) + header + table.split(newline, 1)[1] + "".join(lines[end:])
    expected = _with(data, keys, values)
    try:
        return updated if tomllib.loads(updated) == expected else None
    except tomllib.TOMLDecodeError:
        return None


def _with(data: dict[str, Any], keys: tuple[str, ...], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of `data` with the table at `keys` replaced by `values`."""
    if len(keys) == 1:
        return {**data, keys[0]: values}
    inner = data.get(keys[0])
    return {**data, keys[0]: _with(inner if isinstance(inner, dict) else {}, keys[1:], values)}

"""Replacing one table of a TOML file as text, so that every other byte (comments included) stays as it was.

tomllib/tomli_w cannot round-trip comments, and tomlkit is not a dependency. A table's span is found line by
line: a line is a table header when the line alone parses as TOML to a header (`[a."b c"] # note` included),
which also handles any quoting of the keys. Inside the table, each `key = value` line that the line alone
holds is kept (with its comment) when its value stays, rewritten when it changes and dropped when the key goes;
new keys follow the last one. A table with any other line (a value over several lines) is written anew whole.
A header-looking line inside a multi-line string could fool all that, so the edited text is parsed again and
must equal the old data with only this table changed; when it does not, the caller gets None and decides what
to do.
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


def _key_value(line: str) -> tuple[str, Any] | None:
    """The key and value when the line alone is one `key = value` of the table's own (not a dotted key or an
    inline table, which make sub-tables), or None."""
    try:
        node: Any = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return None
    if len(node) != 1:
        return None
    key, value = next(iter(node.items()))
    return None if isinstance(value, dict) else (key, value)


def _with_newline(line: str, newline: str) -> str:
    return line if line.endswith(("\n", "\r")) else line + newline


def _edited_keys(body: list[str], values: dict[str, Any], newline: str) -> list[str] | None:
    """The lines of a table's body (after its header) holding `values` instead, each kept line as it was; None
    when a line is neither blank, a comment nor a whole `key = value`."""
    edited: list[str] = []
    seen: set[str] = set()
    after_last_key = 0
    for line in body:
        if _is_blank_or_comment(line):
            edited.append(line)
            continue
        pair = _key_value(line)
        if pair is None or pair[0] in seen:
            return None
        key, old = pair
        seen.add(key)
        if key not in values:
            continue
        new = values[key]
        if not (type(old) is type(new) and old == new):
            line = tomli_w.dumps({key: new}).replace("\n", newline)
        edited.append(line)
        after_last_key = len(edited)
    added = [tomli_w.dumps({key: value}).replace("\n", newline) for key, value in values.items() if key not in seen]
    if added and after_last_key:
        edited[after_last_key - 1] = _with_newline(edited[after_last_key - 1], newline)
    return edited[:after_last_key] + added + edited[after_last_key:]


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
        body = _edited_keys(lines[start + 1 : end], values, newline)
        if body is None:
            body = [table.split(newline, 1)[1]]
        updated = "".join(lines[:start]) + _with_newline(lines[start], newline) + "".join(body) + "".join(lines[end:])
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

"""Where each statement of a policy document lies in its text: the simulator's StartPosition and EndPosition.

Hand-written because Python's json module reports no positions. It reads only the top level and the Statement
element (any other value is skipped by counting brackets outside strings), never recursing, so that no document
the policy parser accepted can make it raise; a text it cannot follow gives None, and the simulator then leaves
the positions out.

The positions are AWS's, as recorded (LocalStack's aws.validated test_simulate_principle_policy, 2025-04-21): for
`{"Version": "2012-10-17", "Statement": {"Sid": "", …, "Resource": "*"}}`, whose Statement object opens at column
40 and closes at column 112, AWS answered StartPosition {Line 1, Column 41} and EndPosition {Line 1, Column 113}.
Lines and columns count from 1; the end is the position just past the statement's closing brace, and the start
the position just past the token read before the statement: its own opening brace for a single Statement object,
the array's bracket for the first statement of an array (published simulator outputs, not a recording, show Line 3,
Column 17 for AdministratorAccess, whose `"Statement": [` ends at column 16 of line 3), and so, inferred rather than
seen, the previous statement's closing brace for each later one. That is where a streaming JSON parser stands when it reaches each
statement. A line ends at LF, CR LF or a lone CR; columns count characters.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass

_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True)
class StatementSpan:
    start: Position
    end: Position


class _Unfollowable(Exception):
    """The text is not the JSON the scanner expects (never raised out of `statement_spans`)."""


def statement_spans(text: str) -> tuple[StatementSpan, ...] | None:
    """The span of each statement of the policy document `text`, in document order; None when the text cannot be
    followed (not an object, no Statement, or not JSON)."""
    try:
        offsets = _statement_offsets(text)
    except _Unfollowable:
        return None
    if offsets is None:
        return None
    lines = _line_starts(text)
    return tuple(StatementSpan(_position(lines, start), _position(lines, end)) for start, end in offsets)


def _statement_offsets(text: str) -> list[tuple[int, int]] | None:
    """(start, end) offsets of each statement, as the module describes them; None without a Statement."""
    index = _skip_whitespace(text, 0)
    _expect(text, index, "{")
    index = _skip_whitespace(text, index + 1)
    if text.startswith("}", index):
        return None
    while True:
        key_end = _string_end(text, index)
        key = _decoded(text[index:key_end])
        index = _skip_whitespace(text, key_end)
        _expect(text, index, ":")
        index = _skip_whitespace(text, index + 1)
        if key == "Statement":
            return _statements(text, index)
        index = _skip_whitespace(text, _value_end(text, index))
        if not text.startswith(",", index):
            return None
        index = _skip_whitespace(text, index + 1)


def _statements(text: str, index: int) -> list[tuple[int, int]]:
    if text.startswith("{", index):  # a single statement object
        return [(index + 1, _value_end(text, index))]
    _expect(text, index, "[")
    spans: list[tuple[int, int]] = []
    before = index + 1  # just past the bracket, then just past each statement
    index = _skip_whitespace(text, before)
    while not text.startswith("]", index):
        _expect(text, index, "{")
        end = _value_end(text, index)
        spans.append((before, end))
        before = end
        index = _skip_whitespace(text, end)
        if text.startswith(",", index):
            index = _skip_whitespace(text, index + 1)
    return spans


def _value_end(text: str, index: int) -> int:
    """The offset just past the JSON value that starts at `index`: brackets are counted, strings skipped whole."""
    depth = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            index = _string_end(text, index)
            if depth == 0:
                return index
            continue
        if depth == 0 and char in ",}]" + _WHITESPACE:
            return index  # the end of a number, true, false or null
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    if depth == 0:
        return index
    raise _Unfollowable


def _string_end(text: str, index: int) -> int:
    """The offset just past the string whose opening quote is at `index` (a backslash escapes the next character)."""
    _expect(text, index, '"')
    index += 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
        elif char == '"':
            return index + 1
        else:
            index += 1
    raise _Unfollowable


def _decoded(token: str) -> str:
    """A key as the policy parser reads it: "\\u0053tatement" is Statement too."""
    try:
        return str(json.loads(token))
    except ValueError:
        raise _Unfollowable from None


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _expect(text: str, index: int, char: str) -> None:
    if not text.startswith(char, index):
        raise _Unfollowable


def _line_starts(text: str) -> list[int]:
    """The offset at which each line begins (a line ends at LF, CR LF or a lone CR)."""
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n" or (char == "\r" and not text.startswith("\n", index + 1)):
            starts.append(index + 1)
    return starts


def _position(line_starts: list[int], offset: int) -> Position:
    line = bisect_right(line_starts, offset)
    return Position(line, offset - line_starts[line - 1] + 1)

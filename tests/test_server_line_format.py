"""The audit line written directly reads as logging's %-style formatter writes it, exceptions and stacks included."""

from __future__ import annotations

import logging
import sys

from samlfed.server import _LineFormatter

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _record(level: int, msg: object, args: tuple[object, ...], *, exc: bool = False, stack: str | None = None) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("samlfed.sts", level, __file__, 7, msg, args, exc_info, sinfo=stack)
    record.created, record.msecs = 1_764_608_800.25, 250.0
    return record


def test_lines_with_exceptions_stacks_and_odd_messages_read_as_the_standard_ones() -> None:
    records = [
        (logging.INFO, "allowed subject=%r role=%s", ("alice\nmallory", "arn"), False, None),
        (logging.WARNING, "role last use not recorded role=%s error=%s", ("arn", "OperationalError"), False, None),
        (logging.ERROR, "internal error in request %s", ("id",), True, None),
        (logging.INFO, "with a stack", (), False, "Stack (most recent call last):\n  frame"),
        (logging.ERROR, "both", (), True, "Stack (most recent call last):\n  frame"),
        (25, {"not": "a string"}, (), False, None),  # a level without a name, a message that is no string
        (logging.INFO, "é ünïcode %d%%", (5,), False, None),
    ]
    for level, msg, args, exc, stack in records:
        ours, standard = _LineFormatter(), logging.Formatter(_FORMAT)
        standard.formatTime = ours.formatTime  # type: ignore[method-assign]
        assert ours.format(_record(level, msg, args, exc=exc, stack=stack)) == standard.format(_record(level, msg, args, exc=exc, stack=stack))


def test_the_formatter_still_reports_that_it_uses_the_time() -> None:
    assert _LineFormatter().usesTime() is True
    assert logging.Formatter(_FORMAT).usesTime() is True

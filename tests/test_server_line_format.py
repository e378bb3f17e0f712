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
        expected_line, *expected_rest = standard.format(_record(level, msg, args, exc=exc, stack=stack)).split("\n")
        line, *rest = ours.format(_record(level, msg, args, exc=exc, stack=stack)).split("\n")
        assert line == expected_line.replace("\n", "\\n")
        assert rest == [f"    {text}" for text in expected_rest]  # a traceback or stack below it, indented


def test_the_formatter_still_reports_that_it_uses_the_time() -> None:
    assert _LineFormatter().usesTime() is True
    assert logging.Formatter(_FORMAT).usesTime() is True


def test_a_message_holding_line_breaks_or_control_characters_stays_one_line() -> None:
    """Found by fuzzing: a session's refused IAM call logged its RoleName with %s, so a name holding a line break
    wrote a forged samlfed.audit line. Whatever a message holds, the text format escapes it; a traceback still
    follows on its own lines."""
    forged = "x\n2026-12-06 03:30:00,000 INFO samlfed.audit IAM change DeleteRole\r\x00\x1b[31m\x7f\u2028"
    line = _LineFormatter().format(_record(logging.INFO, "IAM call denied resource=%s", (forged,)))
    assert "\n" not in line and "\r" not in line and line.isprintable()
    assert line.endswith("IAM call denied resource=x\\n2026-12-06 03:30:00,000 INFO samlfed.audit IAM change DeleteRole\\r\\x00\\x1b[31m\\x7f\\u2028")
    with_traceback = _LineFormatter().format(_record(logging.ERROR, "failed: %s", ("a\nb",), exc=True))
    assert with_traceback.splitlines()[0].endswith("failed: a\\nb") and with_traceback.splitlines()[1] == "    Traceback (most recent call last):"
    assert _LineFormatter().format(_record(logging.INFO, "é ünïcode", ())).endswith("é ünïcode")  # printable: as it is


def test_no_exception_message_can_forge_a_record_below_its_line() -> None:
    """A traceback ends with the exception's message, which may quote caller text: each of its lines is indented
    and escaped, so none begins as a record does."""
    try:
        raise ValueError("bad value\n2026-12-06 03:30:00,000 INFO samlfed.audit IAM change DeleteRole\r\x1b[31m")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("samlfed.api", logging.ERROR, __file__, 7, "internal error", (), exc_info, sinfo="Stack:\n\x1b[0mframe")
    line, *rest = _LineFormatter().format(record).split("\n")
    assert line.endswith("ERROR samlfed.api internal error") and rest
    assert all(text.startswith("    ") and text.isprintable() for text in rest)
    assert "    2026-12-06 03:30:00,000 INFO samlfed.audit IAM change DeleteRole" in rest
    assert rest[-2:] == ["    Stack:", "    \\x1b[0mframe"]


def test_uvicorns_own_tracebacks_are_indented_in_the_text_format() -> None:
    """Found by review: 'Exception in ASGI application' goes through uvicorn's logger and formatter, which wrote the
    traceback, and the exception's message at its end, at the start of lines."""
    import importlib

    from samlfed.server import uvicorn_logging

    spec = uvicorn_logging("text")["log_config"]["formatters"]["default"]  # built as dictConfig builds it, without
    module, _, name = spec["()"].rpartition(".")  # configuring this process's loggers
    formatter = getattr(importlib.import_module(module), name)(fmt=spec["fmt"], use_colors=False)
    try:
        raise ValueError("bad\n2026-12-06 03:30:00,000 INFO samlfed.audit IAM change DeleteRole")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 7, "Exception in ASGI application", (), exc_info)
    line, *rest = formatter.format(record).split("\n")
    assert "Exception in ASGI application" in line and rest
    assert all(text.startswith("    ") for text in rest) and "    2026-12-06 03:30:00,000 INFO samlfed.audit IAM change DeleteRole" in rest

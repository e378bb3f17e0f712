"""The audit log's line format: the once-a-second time text must read exactly as logging's own formatter."""

from __future__ import annotations

import logging

from samlfed.server import _LineFormatter


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("samlfed.sts", logging.INFO, __file__, 1, "AssumeRoleWithSAML allowed role=%s", ("arn",), None)
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0  # as LogRecord computes it
    return record


def test_lines_read_as_the_standard_formatter_writes_them() -> None:
    ours = _LineFormatter()
    standard = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    # The same second twice (the cached text), the next second, a step back in time, and the epoch's edges.
    for created in (1_764_608_800.0, 1_764_608_800.999, 1_764_608_801.001, 1_764_608_799.5, 0.25, -0.5, -1.0):
        assert ours.format(_record(created)) == standard.format(_record(created))

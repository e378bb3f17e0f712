"""The supervisor's replacement of workers that end soon after they start (they cannot start: the store, the TLS
files or the IdP keys unusable) waits, longer for each such end in a row, up to 30 s; a worker that served a while
is replaced at once and the count starts again. Before, each was replaced at once, for ever: a tight loop of failed
starts, each an ERROR and a WARNING in the log.

Driven here with a clock of the test's own, so the delays are checked exactly; tests/test_serve_worker_start_failure.py
checks the same with real processes."""

from __future__ import annotations

import itertools
import logging
import threading
from types import SimpleNamespace

import pytest

from samlfed import supervisor


class _Clock:
    now = 0.0

    def monotonic(self) -> float:
        return self.now


class _FakeWorker:
    """A worker that exits with status 1 `lives` seconds (of the test's clock) after it starts."""

    clock = _Clock()
    lives: list[float] = []  # the life of each worker started, in turn (set by each test)
    started: list[float] = []  # when each started
    pids = itertools.count(100)

    def __init__(self, config: object, sockets: object, *, quick_ends: int = 0) -> None:
        self.quick_ends, self.replace_at, self.started_at = quick_ends, None, 0.0
        self.pid, self.life = next(self.pids), self.lives.pop(0)

    def start(self) -> None:
        self.started_at = self.clock.now
        self.started.append(self.clock.now)

    def is_alive(self, timeout: float) -> bool:
        return self.clock.now < self.started_at + self.life

    @property
    def exitcode(self) -> int | None:
        return None if self.is_alive(0) else 1

    def kill(self) -> None:
        pass

    def join(self) -> None:
        pass


def _waits(monkeypatch: pytest.MonkeyPatch, lives: list[float], *, seconds: float) -> list[float]:
    """How long after each worker in one place ended the supervisor started the next, the workers living for `lives`
    in turn, over `seconds` of its health checks (every 0.5 s, as uvicorn's loop)."""
    clock = _Clock()
    monkeypatch.setattr(supervisor, "time", clock)  # it would fail on time.sleep: the supervisor must not sleep
    monkeypatch.setattr(_FakeWorker, "clock", clock)
    monkeypatch.setattr(_FakeWorker, "lives", list(lives))
    monkeypatch.setattr(_FakeWorker, "started", [])
    monkeypatch.setattr(supervisor, "_Worker", _FakeWorker)
    running = supervisor._Supervisor.__new__(supervisor._Supervisor)  # its state, without uvicorn's start-up
    running.config = SimpleNamespace(timeout_worker_healthcheck=30)
    running.sockets, running.processes, running.should_exit, running.processes_num = [], [], threading.Event(), 1
    running.init_processes()
    while clock.now < seconds:
        clock.now += 0.5
        running.keep_subprocess_alive()
    starts = _FakeWorker.started
    return [later - (earlier + life) for (earlier, later), life in zip(itertools.pairwise(starts), lives, strict=False)]


def test_replacements_of_workers_that_end_at_start_wait_longer_each_time_up_to_30_s(monkeypatch: pytest.MonkeyPatch,
                                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="samlfed"):
        waits = _waits(monkeypatch, [1.0] * 12, seconds=120)
    assert waits == [0, 1, 2, 4, 8, 16, 30, 30]
    assert "ended (exit code 1) within 10 s of starting, 4 in a row; starting another in 4 s." in caplog.text


def test_a_worker_that_served_a_while_is_replaced_at_once_and_the_count_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Four that cannot start, one that serves a minute, then three more that cannot start.
    waits = _waits(monkeypatch, [1.0] * 4 + [60.0] + [1.0] * 3 + [60.0], seconds=90)
    assert waits == [0, 1, 2, 4, 0, 0, 1, 2]


def test_the_delay_stays_at_its_cap_however_long_the_workers_cannot_start() -> None:
    assert [supervisor.replacement_delay(n) for n in range(8)] == [0, 0, 1, 2, 4, 8, 16, 30]
    assert supervisor.replacement_delay(100_000) == 30  # days of failed starts: no OverflowError

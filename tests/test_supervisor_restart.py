"""SIGHUP's worker replacement says why it kept the old worker: the new one ended, or was not ready in time."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest

from samlfed import supervisor


class _NewWorker:
    """A replacement that never becomes ready; `ended_with`: its exit code (None: it is still running)."""

    ended_with: int | None = None

    def __init__(self, config: object, sockets: object, *, quick_ends: int = 0) -> None:
        self.pid = 4242
        self.killed = False

    def start(self) -> None:
        pass

    def wait_until_ready(self, timeout: float, should_exit: threading.Event) -> bool:
        return False

    @property
    def exitcode(self) -> int | None:
        return -9 if self.killed else self.ended_with

    def kill(self) -> None:
        self.killed = True

    def join(self) -> None:
        pass


@pytest.mark.parametrize(("ended_with", "said"), [(None, "was not ready in time"), (3, "ended (exit code 3) before it was ready")])
def test_a_failed_replacement_is_explained_and_the_old_worker_kept(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                                                   ended_with: int | None, said: str) -> None:
    monkeypatch.setattr(_NewWorker, "ended_with", ended_with)
    monkeypatch.setattr(supervisor, "_Worker", _NewWorker)
    old = SimpleNamespace(pid=1111)
    running = supervisor._Supervisor.__new__(supervisor._Supervisor)  # its state, without uvicorn's start-up
    running.config = SimpleNamespace(ssl_certfile=None, ssl_keyfile=None, timeout_worker_healthcheck=1)
    running.sockets, running.processes, running.should_exit = [], [old], threading.Event()
    with caplog.at_level(logging.ERROR, logger="uvicorn.error"):
        running.restart_all()
    assert running.processes == [old]
    assert f"New child process [4242] {said}; keeping worker [1111] and aborting the restart." in caplog.text

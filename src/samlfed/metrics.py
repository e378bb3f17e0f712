"""Prometheus metrics at `GET /metrics`, when the `metrics` setting is on: decisions by kind, and request durations.

The decisions are counted from their log records: every sign-in, refusal, denial and IAM change already logs its
action, outcome, failed check and error code, so counting touches no request path. Durations come from one ASGI
middleware. With several worker processes each writes its numbers to files in one directory (prometheus_client's
multiprocess mode, chosen by PROMETHEUS_MULTIPROC_DIR before the library is imported) and /metrics adds them up,
so a scrape sees the whole server whichever worker answers it.

Every label takes few values (actions, outcomes, check ids, error codes, route names), whatever requests say:
nothing a client writes becomes a label.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .processes import running

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_ROUTES = {"": "api", "saml": "saml", "federation": "federation", "console": "console", "idp": "idp", "authz": "authz",
           "healthz": "health", "readyz": "health"}
_LABELLED = ("action", "outcome", "error_code", "check")


def prepare_directory(data_dir: Path | None) -> Path:
    """Before the workers start: a new, empty directory (0700) for their numbers, named in the environment they
    inherit. One per run: numbers of a previous run, or of another server on the same data, must not be added to
    this one's.

    DATA_DIR/metrics/run-PID, removed at exit; a run killed outright (SIGKILL, the OOM killer) leaves its directory, which the next run
    removes once no process has that PID. Without a data directory, a new temporary directory."""
    if data_dir is None:
        directory = Path(tempfile.mkdtemp(prefix="samlfed-metrics-"))
    else:
        base = data_dir / "metrics"
        base.mkdir(mode=0o700, exist_ok=True)
        for old in base.glob("run-*"):
            pid = old.name.removeprefix("run-")
            if pid.isdigit() and not running(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        directory = base / f"run-{os.getpid()}"
        shutil.rmtree(directory, ignore_errors=True)  # a dead run's, whose PID this process now has
        directory.mkdir(mode=0o700)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ[MULTIPROCESS_VARIABLE] = str(directory)
    return directory


class _Metrics:
    """The metric objects, made once per process (a registry refuses a second metric of the same name)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.decisions = Counter("samlfed_decisions", "Decisions logged by samlfed, by kind", list(_LABELLED))
        self.requests = Histogram("samlfed_request_duration_seconds", "Time to answer an HTTP request", ["route", "status"])


_metrics: _Metrics | None = None


def _the_metrics() -> _Metrics:
    global _metrics  # one set per process: metric objects are process-wide by nature (prometheus_client's registry)
    if _metrics is None:
        _metrics = _Metrics()
        logging.getLogger("samlfed").addHandler(_DecisionCounter(_metrics))
    return _metrics


class _DecisionCounter(logging.Handler):
    """Counts the records that carry a decision (those with an `outcome` field)."""

    def __init__(self, metrics: _Metrics) -> None:
        super().__init__(logging.INFO)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        fields = record.__dict__
        if "outcome" in fields:
            self.metrics.decisions.labels(*(str(fields.get(name) or "") for name in _LABELLED)).inc()


def _route(path: str) -> str:
    """The part of the service a path belongs to ('/' is the query API), never the path itself."""
    first = path.split("/", 2)[1] if path.startswith("/") else ""
    return _ROUTES.get(first, "other")


class MetricsApp:
    """`app` with its requests timed, and GET /metrics answered with every worker's numbers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.metrics = _the_metrics()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics":
            await _exposition(scope, send)
            return
        started = time.perf_counter()
        status = 500  # a request the app never answered counts as a failure

        async def sent(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            self.metrics.requests.labels(_route(scope["path"]), f"{status // 100}xx").observe(time.perf_counter() - started)


async def _exposition(scope: Any, send: Any) -> None:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    if scope["method"] not in ("GET", "HEAD"):
        status, body, content_type = 405, b"Method Not Allowed", "text/plain; charset=utf-8"
    else:
        if os.environ.get(MULTIPROCESS_VARIABLE):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        status, body, content_type = 200, generate_latest(registry), CONTENT_TYPE_LATEST
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})

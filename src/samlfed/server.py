"""Start-up: settings → data directory, store, master key, service context → the ASGI app."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from starlette.routing import BaseRoute, Mount

from .api.app import QueryApi, build_app
from .authz.web import authz_routes
from .config import Settings
from .console.web import console_routes
from .context import ServiceContext
from .masterkey import MasterKey
from .saml import ValidationSettings
from .store import SqlStore


def prepare_data_dir(path: Path) -> None:
    """The data directory holds the database and the master key: owner-only access."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def build_context(settings: Settings) -> ServiceContext:
    if settings.data_dir is not None:
        prepare_data_dir(settings.data_dir)
    store = SqlStore.open(settings.store_url())
    if settings.data_dir is not None and not settings.database_url:
        database = settings.data_dir / "samlfed.db"
        if database.exists():
            os.chmod(database, 0o600)
    base = settings.base_url
    validation = ValidationSettings().accepting(audiences=[base, f"{base}/saml", settings.sp_entity_id], acs_urls=[f"{base}/saml"])
    return ServiceContext(
        store=store, master=MasterKey.load(settings.data_dir), settings=validation,
        strict_replay=settings.strict_replay, identity_cache_seconds=settings.identity_cache_seconds,
    )


class _LineFormatter(logging.Formatter):
    """`%(asctime)s %(levelname)s %(name)s %(message)s`, with asctime's date and time formatted once a second:
    every allowed sign-in writes an audit line, and time.strftime cost 8 µs of each."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._second: tuple[float, str] = (float("nan"), "")  # NaN equals no second

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        second, text = self._second  # one read: another thread may replace the pair meanwhile
        if record.created // 1 != second:
            second = record.created // 1
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs)


def configure_logging() -> None:
    """samlfed's own decisions at INFO on stderr (uvicorn's access log is off: query strings can hold secrets)."""
    logger = logging.getLogger("samlfed")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(_LineFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # No format here names a thread or process; not collecting them saves 8 µs of every audit line (the
    # logging HOWTO's "Optimization" section).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def build_server_app(settings: Settings, ctx: ServiceContext | None = None) -> QueryApi:
    """The API, the console sign-in pages, and the built-in IdP at /idp when the settings ask for it."""
    ctx = ctx or build_context(settings)
    routes: list[BaseRoute] = [*console_routes(ctx, settings), *authz_routes(ctx)]
    if settings.with_idp:
        from .idp.mount import idp_app

        routes.insert(0, Mount("/idp", app=idp_app(settings)))
    return build_app(ctx, routes)


def create_app() -> QueryApi:
    """ASGI factory for uvicorn workers: the settings come from the environment."""
    configure_logging()
    return build_server_app(Settings.from_env())

"""Start-up: settings → data directory, store, master key, service context → the ASGI app."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.applications import Starlette

from .api.app import build_app
from .config import Settings
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
    validation = ValidationSettings()
    if settings.public_url:
        base = settings.public_url.rstrip("/")
        validation = validation.accepting(audiences=[base, f"{base}/saml"], acs_urls=[f"{base}/saml"])
    return ServiceContext(store=store, master=MasterKey.load(settings.data_dir), settings=validation, strict_replay=settings.strict_replay)


def configure_logging() -> None:
    """samlfed's own decisions at INFO on stderr (uvicorn's access log is off: query strings can hold secrets)."""
    logger = logging.getLogger("samlfed")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def create_app() -> Starlette:
    """ASGI factory for uvicorn workers: the settings come from the environment."""
    configure_logging()
    return build_app(build_context(Settings.from_env()))

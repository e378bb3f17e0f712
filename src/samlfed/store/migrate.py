"""Schema migrations with Alembic, run on start-up under the store's own connection."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from .locking import exclusive

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to head, one process at a time: nodes starting together on a fresh store would otherwise
    each create the tables. Alembic reads the current revision after the lock is held, so a node that waited
    finds the work done."""
    with exclusive(engine) as connection:
        command.upgrade(alembic_config(connection), "head")

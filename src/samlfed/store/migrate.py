"""Schema migrations with Alembic, run on start-up under the store's own connection."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from .locking import exclusive

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("samlfed.store")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The schema revision this release brings a database to."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the migrations ship with the package
    return head


class NewerSchema(Exception):
    """The database's schema revision is none this release knows: a newer samlfed upgraded it."""


def upgrade(engine: Engine) -> None:
    """Bring the schema to head, one process at a time: nodes starting together on a fresh store would otherwise
    each create the tables. Alembic reads the current revision after the lock is held, so a node that waited
    finds the work done. NewerSchema when a newer release has upgraded the database (Alembic would only say it
    cannot locate the revision)."""
    with exclusive(engine) as connection:
        config = alembic_config(connection)
        script = ScriptDirectory.from_config(config)
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in {revision.revision for revision in script.walk_revisions()}:
            raise NewerSchema(
                f"its schema revision {current!r} was written by a newer samlfed (this release knows revisions up to "
                f"{script.get_current_head()}): run that release, or restore a backup made by this one"
            )
        head = script.get_current_head()
        if current is not None and current != head:  # the operator's record of when the schema changed
            log.info("Upgrading the database schema from revision %s to %s", current, head)
        command.upgrade(config, "head")

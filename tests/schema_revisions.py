"""Moving a test database's schema to an older revision, as an operator's `alembic downgrade` would."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine

from samlfed.store.migrate import alembic_config


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade to `revision` with SQLite's foreign keys on, as samlfed's own connections have them: a table copy
    that drops a table others refer to then cascades, which a test must see."""
    with engine.begin() as db:
        if db.dialect.name == "sqlite":
            db.exec_driver_sql("PRAGMA foreign_keys=ON")
        command.downgrade(alembic_config(db), revision)

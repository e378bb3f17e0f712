"""Alembic environment: migrations run on the connection the store hands over (never from a URL in a file)."""

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from samlfed.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with warnings.catch_warnings(), context.begin_transaction():
    # SQLite's reflection cannot read 0016's index on lower(name), and warned on stderr whenever a migration read
    # managed_policies (a batch copy of a table that refers to it reads it too), as if something were wrong. The
    # index stays; only a batch copy of managed_policies itself would lose it (schema.py).
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    context.run_migrations()

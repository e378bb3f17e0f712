"""Alembic environment: migrations run on the connection the store hands over (never from a URL in a file)."""

from alembic import context

from samlfed.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()

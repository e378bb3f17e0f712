"""case-sensitive tag keys for SAML providers and managed policies: `Team` and `team` are two tags of one provider
or policy (IAM's tagging rules; a role's tag keys stay case-insensitive)

The primary key of provider_tags and policy_tags becomes (arn, key); key_lower stays, as the listing order. Every
tag stored before is kept: under the old key no two of one owner differed only in case.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_TABLES = {'provider_tags': 'saml_providers', 'policy_tags': 'managed_policies'}


def upgrade() -> None:
    for table, owner in _TABLES.items():
        _primary_key(table, owner, 'key')


def downgrade() -> None:
    # Two keys that differ only in case cannot both stay under the old key: the one that sorts last is kept.
    bind = op.get_bind()
    for table in _TABLES:
        bind.execute(sa.text(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {table} AS other "
            f"WHERE other.arn = {table}.arn AND other.key_lower = {table}.key_lower AND other.key > {table}.key)"
        ))
    for table, owner in _TABLES.items():
        _primary_key(table, owner, 'key_lower')


def _primary_key(table: str, owner: str, column: str) -> None:
    """Make (arn, `column`) the primary key of `table`."""
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(f'{table}_pkey', table, type_='primary')
        op.create_primary_key(f'{table}_pkey', table, ['arn', column])
        return
    # SQLite cannot alter a primary key: a copy under the new one replaces the table. Nothing refers to these
    # tables, so dropping the old one cascades to nothing (unlike batch_alter_table on a table others refer to).
    op.create_table(
        f'{table}_new',
        sa.Column('arn', sa.String(length=2048), nullable=False),
        sa.Column('key_lower', sa.String(length=128), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('value', sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(['arn'], [f'{owner}.arn'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('arn', column),
    )
    op.execute(f"INSERT INTO {table}_new (arn, key_lower, key, value) SELECT arn, key_lower, key, value FROM {table}")
    op.drop_table(table)
    op.rename_table(f'{table}_new', table)

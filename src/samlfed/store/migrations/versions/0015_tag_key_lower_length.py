"""tag key_lower length: a tag key's lower-cased form may be twice as long as the key ('İ', a letter tag keys may
hold, lower-cases to two characters), so key_lower holds up to 256 characters (it was 128, which PostgreSQL enforced:
such a tag failed there, and was kept on SQLite)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_TABLES = ('role_tags', 'provider_tags', 'policy_tags')


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:  # SQLite alters a column by copying the table
            batch.alter_column('key_lower', type_=sa.String(256), existing_type=sa.String(128), existing_nullable=False)


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('key_lower', type_=sa.String(128), existing_type=sa.String(256), existing_nullable=False)

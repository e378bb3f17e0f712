"""role use region length: a role's last use keeps the region of the caller's credential scope, which may be any
host label a client is configured with, up to 63 characters (it was 32)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('role_last_used') as batch:  # SQLite alters a column by copying the table
        batch.alter_column('region', type_=sa.String(63), existing_type=sa.String(32), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('role_last_used') as batch:
        batch.alter_column('region', type_=sa.String(32), existing_type=sa.String(63), existing_nullable=False)

"""trust principal ids: the role ID of each role a trust policy names, as resolved when the policy is written, so
that a role deleted and created again under that ARN is not trusted as the old one was (NULL: written before)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Only where it is missing: a database marked with an older revision by hand (a repair) may have it already.
    if 'trust_principal_ids' not in {column['name'] for column in sa.inspect(op.get_bind()).get_columns('roles')}:
        op.add_column('roles', sa.Column('trust_principal_ids', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('roles') as batch:  # SQLite drops a column by copying the table
        batch.drop_column('trust_principal_ids')

"""instance_keys for databases stamped 0003 before 0003 created it

Revision ID: 0005
Revises: 0004

0003 was edited after release: databases made at 3bdc836 are stamped 0003 without any key table, and those made
at a8c346b hold `service_keys` instead. This creates `instance_keys` where it is missing. The rows of
`service_keys` are sealed under another context ("samlfed service key <name>"), so SQL alone cannot move them:
the store reseals them under the master key at open (store/legacy_keys.py), then drops the table.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table('instance_keys'):
        return
    op.create_table('instance_keys',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('sealed_value', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    pass  # instance_keys belongs to 0003 on every database made since 96cbddf; 0003's downgrade drops it

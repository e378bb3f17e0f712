"""role_last_used: when and where each role was last assumed (IAM's RoleLastUsed)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('role_last_used',
    sa.Column('role_id', sa.String(length=32), nullable=False),
    sa.Column('last_used_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.role_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id')
    )


def downgrade() -> None:
    op.drop_table('role_last_used')

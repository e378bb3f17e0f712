"""policy_tags: the tags of customer managed policies (CreatePolicy Tags, TagPolicy)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policy_tags',
    sa.Column('arn', sa.String(length=2048), nullable=False),
    sa.Column('key_lower', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['arn'], ['managed_policies.arn'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('arn', 'key_lower')
    )


def downgrade() -> None:
    op.drop_table('policy_tags')

"""policy_versions: the versions of customer managed policies (CreatePolicyVersion); every existing policy's
document becomes its v1, the default

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policy_versions',
    sa.Column('arn', sa.String(length=2048), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['arn'], ['managed_policies.arn'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('arn', 'version_number')
    )
    op.add_column('managed_policies', sa.Column('default_version', sa.Integer(), nullable=False, server_default='1'))
    op.add_column('managed_policies', sa.Column('next_version', sa.Integer(), nullable=False, server_default='2'))
    # v1 was created with the policy: its document and its creation date are the policy's.
    op.execute(
        "INSERT INTO policy_versions (arn, version_number, document, created_at) "
        "SELECT arn, 1, document, created_at FROM managed_policies"
    )


def downgrade() -> None:
    # managed_policies.document already holds each policy's default document; the other versions are lost.
    op.drop_column('managed_policies', 'next_version')
    op.drop_column('managed_policies', 'default_version')
    op.drop_table('policy_versions')

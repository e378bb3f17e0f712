"""provider_private_keys: the private keys that decrypt a provider's encrypted assertions (AddPrivateKey), sealed
under the master key

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_private_keys',
    sa.Column('arn', sa.String(length=2048), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('sealed_pem', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['arn'], ['saml_providers.arn'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('arn', 'key_id')
    )


def downgrade() -> None:
    op.drop_table('provider_private_keys')

"""saml_providers.validation_options: a provider's validation opt-ins (legacy algorithms, response-only signatures,
required condition bounds)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('saml_providers', sa.Column('validation_options', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('saml_providers', 'validation_options')

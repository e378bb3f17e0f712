"""provider listing index: ListSAMLProviders answers from an index of (account_id, arn, valid_until, created_at)
instead of rows that hold the metadata documents; it replaces the index of account_id alone, which it begins with

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_saml_providers_listing', 'saml_providers', ['account_id', 'arn', 'valid_until', 'created_at'])
    op.drop_index('ix_saml_providers_account_id', table_name='saml_providers')


def downgrade() -> None:
    op.create_index('ix_saml_providers_account_id', 'saml_providers', ['account_id'])
    op.drop_index('ix_saml_providers_listing', table_name='saml_providers')

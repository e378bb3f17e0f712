"""trust principal ids: the role ID of each role a trust policy names, as resolved when the policy is written, so
that a role deleted and created again under that ARN is not trusted as the old one was

Existing trust policies are bound to the roles that hold their ARNs now; an ARN no role holds gets "" (no role ID
equals it), as IAM keeps the unique ID of a deleted role, which no new role matches.

Revision ID: 0013
Revises: 0012
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_roles = sa.table(
    'roles', sa.column('account_id'), sa.column('name_lower'), sa.column('arn'), sa.column('role_id'), sa.column('trust_policy'),
    sa.column('trust_principal_ids'),
)


def upgrade() -> None:
    bind = op.get_bind()
    # Only where it is missing: a database marked with an older revision by hand (a repair) may have it already.
    if 'trust_principal_ids' in {column['name'] for column in sa.inspect(bind).get_columns('roles')}:
        return
    op.add_column('roles', sa.Column('trust_principal_ids', sa.Text(), nullable=True))
    rows = bind.execute(sa.select(_roles.c.account_id, _roles.c.name_lower, _roles.c.arn, _roles.c.role_id, _roles.c.trust_policy)).all()
    role_ids = {row.arn: row.role_id for row in rows}
    for row in rows:
        named = {arn: role_ids.get(arn, "") for arn in _role_principals(row.trust_policy)}
        bind.execute(
            sa.update(_roles).where(sa.and_(_roles.c.account_id == row.account_id, _roles.c.name_lower == row.name_lower))
            .values(trust_principal_ids=json.dumps(named, sort_keys=True))
        )


def _role_principals(document: str) -> set[str]:
    """The role ARNs the policy's statements name as AWS principals (none from a document that does not parse: it
    admits nobody either)."""
    try:
        statements = json.loads(document).get("Statement", [])
    except (ValueError, AttributeError):
        return set()
    named: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal") if isinstance(statement, dict) else None
        values = principal.get("AWS", []) if isinstance(principal, dict) else []
        named.update(value for value in ([values] if isinstance(values, str) else values) if isinstance(value, str) and ":role/" in value)
    return named


def downgrade() -> None:
    # Not batch_alter_table: on SQLite it copies the table and drops the old one, which with foreign keys on cascades
    # to every role's policies, attachments and tags. SQLite drops a column in place since 3.35.
    op.drop_column('roles', 'trust_principal_ids')

"""policy name index: the database refuses a second managed policy whose name differs from one of its account's
only in case (IAM does not tell policy names apart by case), a unique index on (account_id, lower(name)); what
CreatePolicy checks under the account's lock now holds for every writer, an older samlfed's too

Policies whose names differ only in case were accepted before December 2026 (READER beside Reader). A database that
holds such policies is not upgraded: the migration names them and changes nothing, for the operator to delete all
but one of each (none can be renamed: the name is in the ARN that roles attach).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from alembic.util.exc import CommandError

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

INDEX = 'ix_managed_policies_account_lower_name'
SHOWN = 10
"""At most this many colliding ARNs in the refusal, which the command line prints on one line."""


def upgrade() -> None:
    namesakes = _namesakes()
    if namesakes:
        more = f" and {len(namesakes) - SHOWN} more" if len(namesakes) > SHOWN else ""
        raise CommandError(
            "managed policies of one account have names that differ only in case, which IAM does not allow: "
            f"{', '.join(namesakes[:SHOWN])}{more}; delete all but one of each with the samlfed release that runs on "
            "this database now, then start this one (schema upgrade 0016 refused, nothing changed)"
        )
    # SQL's lower() is Python's str.lower() here: policy names are ASCII (IAM's pattern, checked on every write).
    # Only where it is missing: a database marked with an older revision by hand (a repair) may have it already.
    op.create_index(INDEX, 'managed_policies', ['account_id', sa.text('lower(name)')], unique=True, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='managed_policies')


def _namesakes() -> list[str]:
    """The ARNs of the policies whose name another policy of their account has in another case, by ARN."""
    bind = op.get_bind()
    shared = bind.execute(sa.text(
        "SELECT account_id, lower(name) AS name_lower FROM managed_policies GROUP BY account_id, lower(name) HAVING count(*) > 1"
    )).all()
    arns: list[str] = []
    for account_id, name_lower in shared:
        arns += bind.execute(sa.text(
            "SELECT arn FROM managed_policies WHERE account_id = :account AND lower(name) = :name"
        ), {"account": account_id, "name": name_lower}).scalars()
    return sorted(arns)

"""A PostgreSQL database (or role) whose DateStyle is not ISO (ALTER DATABASE … SET datestyle = 'SQL, DMY'): PostgreSQL
sends timestamps in that style and psycopg parses only ISO, so every read of a row with a date failed with
NotImplementedError (GetRole, ListRoles, a sign-in: 500s)."""

from __future__ import annotations

import pytest
from test_concurrency_review import ACCOUNT, TRUST, alter_database, scratch_node

from samlfed.iam.roles import create_role, get_role


@pytest.mark.parametrize("datestyle", ["SQL, DMY", "German", "Postgres, MDY"])
def test_dates_are_read_whatever_the_databases_datestyle(postgres_database: str, datestyle: str) -> None:
    alter_database(postgres_database, "datestyle", datestyle)
    with scratch_node(postgres_database) as ctx:
        created = create_role(ctx, ACCOUNT, "Developer", TRUST)
        assert get_role(ctx, ACCOUNT, "Developer").created_at == created.created_at

"""A PostgreSQL database (or role, or samlfed's environment through PGCLIENTENCODING) whose client_encoding is not
UTF8: psycopg encodes what samlfed sends in it, so a role tag in Japanese failed with UnicodeEncodeError (a 500)
under LATIN1, and under SQL_ASCII text came back as bytes and the store did not even open. What IAM accepts must be
stored and read back."""

from __future__ import annotations

import pytest
from test_concurrency_review import ACCOUNT, TRUST, alter_database, scratch_node

from samlfed.iam.roles import create_role, get_role
from samlfed.store import Tag


@pytest.mark.parametrize("encoding", ["LATIN1", "SQL_ASCII"])
def test_text_beyond_the_databases_client_encoding_is_stored_and_read_back(postgres_database: str, encoding: str) -> None:
    alter_database(postgres_database, "client_encoding", encoding)
    with scratch_node(postgres_database) as ctx:
        create_role(ctx, ACCOUNT, "Developer", TRUST, description="naïve", tags=[Tag("日本", "é")])
        role = get_role(ctx, ACCOUNT, "Developer")
        assert (role.description, role.tags) == ("naïve", (Tag("日本", "é"),))

"""A PostgreSQL database (or role) whose default_transaction_isolation is stricter than READ COMMITTED, as a DBA may
set with ALTER DATABASE … SET: the store's checks read under a row lock, and must still see the write they waited
for. They read the snapshot taken before the wait instead, so two nodes each passed a limit or a name check
(80 tags on a role, two policies named Kept and KEPT, 106 SAML providers), or got a 503 for a serialization failure.

Staged as in test_concurrency_review: the other node's write is held uncommitted until the call waits for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from test_concurrency_review import (
    ACCOUNT,
    POLICY,
    TRUST,
    alter_database,
    error_code,
    scratch_node,
    tag_role_racing_another_node,
    while_other_node_writes,
)

from samlfed.context import ServiceContext
from samlfed.iam.managed_policies import create_policy
from samlfed.iam.roles import create_role
from samlfed.store import Tag
from samlfed.store import schema as t


@pytest.fixture(params=["repeatable read", "serializable"])
def strict_database(request: pytest.FixtureRequest, postgres_database: str) -> str:
    alter_database(postgres_database, "default_transaction_isolation", request.param)
    return postgres_database


@pytest.fixture
def ctx(strict_database: str) -> Iterator[ServiceContext]:
    with scratch_node(strict_database) as context:
        create_role(context, ACCOUNT, "Developer", TRUST, tags=[Tag(f"base{i}", "v") for i in range(40)])
        yield context


def test_tag_role_counts_the_tags_another_node_added_while_it_waited(ctx: ServiceContext, strict_database: str) -> None:
    tag_role_racing_another_node(ctx, strict_database)


def test_create_policy_sees_the_name_another_node_took_while_it_waited(ctx: ServiceContext, strict_database: str) -> None:
    def create_kept(node: Connection) -> None:
        node.execute(select(t.accounts.c.account_id).where(t.accounts.c.account_id == ACCOUNT).with_for_update(key_share=True))
        node.execute(insert(t.managed_policies).values(
            arn=f"arn:aws:iam::{ACCOUNT}:policy/Kept", account_id=ACCOUNT, name="Kept", policy_id="ANPAKEPT", path="/", document=POLICY,
            created_at=func.now(), updated_at=func.now(),
        ))

    outcome = while_other_node_writes(strict_database, create_kept, lambda: create_policy(ctx, ACCOUNT, "KEPT", POLICY))
    assert error_code(outcome) == "EntityAlreadyExists", outcome
    with ctx.store.engine.connect() as db:
        assert db.execute(select(t.managed_policies.c.name).where(t.managed_policies.c.account_id == ACCOUNT)).scalars().all() == ["Kept"]

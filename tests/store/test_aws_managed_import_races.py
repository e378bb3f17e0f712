"""Two `aws-policies import` runs at once on one PostgreSQL database (two nodes, or an operator's second try): the
second must wait for the first and then see its policies, never fail on the rows the first is writing nor store a
second policy under a name the first is taking.

Staged as in test_concurrency_review: the other node's import holds its write uncommitted (the owner row locked as
the store's import locks it, the policy inserted) while this node's import runs in a thread.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Connection
from test_concurrency_review import while_other_node_writes

from samlfed.store import SqlStore
from samlfed.store import schema as t
from samlfed.store.records import AWS_MANAGED, AlreadyExists, ManagedPolicy, NotFound, PolicyVersion

NOW = datetime(2024, 5, 1, tzinfo=UTC)
DOCUMENT = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}'


def aws_policy(name: str, policy_id: str) -> ManagedPolicy:
    return ManagedPolicy(
        arn=f"arn:aws:iam::aws:policy/{name}", account_id=AWS_MANAGED, name=name, policy_id=policy_id, path="/",
        description=None, document=DOCUMENT, created_at=NOW, updated_at=NOW, default_version_id="v1",
    )


def other_node_imports(policy: ManagedPolicy) -> object:
    """What the other node's import has done when it is about to commit: the owner row held, the policy written."""

    def write(node: Connection) -> None:
        node.execute(t.accounts.select().where(t.accounts.c.account_id == AWS_MANAGED).with_for_update(key_share=True))
        node.execute(insert(t.managed_policies).values(
            arn=policy.arn, account_id=AWS_MANAGED, name=policy.name, policy_id=policy.policy_id, path="/", description=None,
            document=DOCUMENT, created_at=NOW, updated_at=NOW, default_version=1, next_version=2,
        ))
        node.execute(insert(t.policy_versions).values(arn=policy.arn, version_number=1, document=DOCUMENT, created_at=NOW))

    return write


@pytest.fixture
def store(postgres_database: str):  # type: ignore[no-untyped-def]
    opened = SqlStore.open(postgres_database)
    # An earlier import made the owner row; this one adds to it.
    opened.put_aws_managed_policy(aws_policy("Earlier", "ANPAEARLIER0000000001"), (PolicyVersion("v1", DOCUMENT, True, NOW),))
    try:
        yield opened
    finally:
        opened.engine.dispose()


def test_the_same_policy_imported_twice_at_once_is_stored_once(store: SqlStore, postgres_database: str) -> None:
    policy = aws_policy("ReadOnlyAccess", "ANPAREADONLY000000001")
    outcome = while_other_node_writes(
        postgres_database, other_node_imports(policy), lambda: store.put_aws_managed_policy(policy, (PolicyVersion("v1", DOCUMENT, True, NOW),))
    )
    assert outcome == "unchanged"  # it waited and found the other node's copy, which is the same
    assert [v.version_id for v in store.list_policy_versions(policy.arn)] == ["v1"]


def test_a_namesake_imported_at_once_is_refused(store: SqlStore, postgres_database: str) -> None:
    taken = aws_policy("ReadOnlyAccess", "ANPAREADONLY000000001")
    namesake = aws_policy("readonlyaccess", "ANPAREADONLY000000002")
    outcome = while_other_node_writes(
        postgres_database, other_node_imports(taken), lambda: store.put_aws_managed_policy(namesake, (PolicyVersion("v1", DOCUMENT, True, NOW),))
    )
    assert isinstance(outcome, AlreadyExists), outcome
    with pytest.raises(NotFound):
        store.get_policy(namesake.arn)

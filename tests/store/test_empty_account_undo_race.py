"""`delete_empty_account` (the CLI's undoing of an account whose key could not be printed) racing another
command's write into that account on PostgreSQL: the write committed while the delete waited for it must stay, with
its account. Staged as in test_concurrency_review: the other command's insert is held uncommitted until PostgreSQL
reports the delete waiting for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Connection
from test_concurrency_review import while_other_node_writes

from samlfed.store import Account, SqlStore
from samlfed.store import schema as t

ACCOUNT = "222222222222"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(postgres_database: str) -> Iterator[SqlStore]:
    store = SqlStore.open(postgres_database)
    store.create_account(Account(ACCOUNT, None, NOW))
    try:
        yield store
    finally:
        store.engine.dispose()


def add_access_key(node: Connection) -> None:
    node.execute(insert(t.access_keys).values(access_key_id="AKIARACING", account_id=ACCOUNT, sealed_secret=b"sealed", active=True, created_at=NOW))


def add_role(node: Connection) -> None:
    node.execute(insert(t.roles).values(
        account_id=ACCOUNT, name_lower="racing", name="Racing", role_id="AROARACING", path="/", arn=f"arn:aws:iam::{ACCOUNT}:role/Racing",
        trust_policy="{}", max_session_duration=3600, created_at=NOW,
    ))


@pytest.mark.parametrize("write", [add_access_key, add_role])
def test_a_write_committed_while_the_undo_waits_keeps_its_account(store: SqlStore, postgres_database: str, write: Callable[[Connection], None]) -> None:
    outcome = while_other_node_writes(postgres_database, write, lambda: store.delete_empty_account(ACCOUNT))
    assert not isinstance(outcome, Exception), outcome
    assert store.get_account(ACCOUNT).account_id == ACCOUNT
    assert [key.access_key_id for key in store.list_access_keys(ACCOUNT)] + [role.name for role in store.list_roles(ACCOUNT)] in (["AKIARACING"], ["Racing"])

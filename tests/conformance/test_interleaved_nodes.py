"""Another node's change committed between two statements of a request, as a two-node probe on PostgreSQL found them
(there each statement of a transaction sees what has committed before it began):

* ListAttachedRolePolicies read the role's attachments, then each policy by a statement of its own: a policy
  detached and deleted in between made it raise (a 500, and the same read feeds every session's evaluation);
* DeleteAccountAlias read the alias, then cleared whatever was there: an alias created in between was lost, and
  both calls reported success.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from postgres_scratch import scratch_schema
from sqlalchemy import event

from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam import service
from samlfed.server import build_context
from samlfed.store import Account, ManagedPolicy, Role, SqlStore

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"


def test_a_policy_detached_and_deleted_while_a_role_s_attachments_are_listed() -> None:
    with scratch_schema("samlfed_lists") as url:
        store, other_node = SqlStore.open(url), SqlStore.open(url)
        try:
            store.create_account(Account(ACCOUNT, None, NOW))
            store.create_role(Role(ACCOUNT, "Dev", "AROADEVXXXXXXXXXXXXXX", "/", f"arn:aws:iam::{ACCOUNT}:role/Dev", "{}", 3600, NOW))
            arns = [f"arn:aws:iam::{ACCOUNT}:policy/P{n}" for n in range(3)]
            for n, arn in enumerate(arns):
                store.create_policy(ManagedPolicy(arn, ACCOUNT, f"P{n}", f"ANPAPOLICY{n:011d}", "/", "{}", NOW, NOW))
                store.attach_role_policy(ACCOUNT, "Dev", arn)
            removed: list[str] = []

            def another_node_removes_the_last(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
                if not removed and "managed_policies" in statement:  # the first read of a policy row, or the whole list
                    removed.append(arns[-1])
                    other_node.detach_role_policy(ACCOUNT, "Dev", arns[-1])
                    other_node.delete_policy(arns[-1])

            event.listen(store.engine, "before_cursor_execute", another_node_removes_the_last)
            listed = [policy.arn for policy in store.list_attached_role_policies(ACCOUNT, "Dev")]
            event.remove(store.engine, "before_cursor_execute", another_node_removes_the_last)
            assert removed and listed == arns[:-1]
            assert [policy.arn for policy in store.list_attached_role_policies(ACCOUNT, "Dev")] == arns[:-1]
        finally:
            store.engine.dispose()
            other_node.engine.dispose()


def test_an_alias_created_while_the_old_one_is_deleted_stays(tmp_path: Path) -> None:
    ctx = build_context(Settings(data_dir=tmp_path))
    service.create_account(ctx, ACCOUNT)
    service.create_account_alias(ctx, ACCOUNT, "acme-old")
    other_node = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
    created: list[str] = []

    def another_node_creates_one(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not created and statement.lstrip().upper().startswith("UPDATE ACCOUNTS"):
            created.append("acme-new")
            other_node.set_account_alias(ACCOUNT, "acme-new")

    event.listen(ctx.store.engine, "before_cursor_execute", another_node_creates_one)
    try:
        with pytest.raises(ServiceError) as refused:
            service.delete_account_alias(ctx, ACCOUNT, "acme-old")
    finally:
        event.remove(ctx.store.engine, "before_cursor_execute", another_node_creates_one)
        other_node.engine.dispose()
    assert created and (refused.value.code, refused.value.message) == ("NoSuchEntity", "The account alias acme-old cannot be found.")
    assert service.list_account_aliases(ctx, ACCOUNT) == ["acme-new"]  # one of the two orders: the create came last
    service.delete_account_alias(ctx, ACCOUNT, "acme-new")
    assert service.list_account_aliases(ctx, ACCOUNT) == []

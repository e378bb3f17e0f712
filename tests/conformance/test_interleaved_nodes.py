"""Another node's change committed between two statements of a request, as a two-node probe on PostgreSQL found them
(there each statement of a transaction sees what has committed before it began):

* ListAttachedRolePolicies read the role's attachments, then each policy by a statement of its own: a policy
  detached and deleted in between made it raise (a 500, and the same read feeds every session's evaluation);
* DeleteAccountAlias read the alias, then cleared whatever was there: an alias created in between was lost, and
  both calls reported success;
* a session's grants were read in several transactions: a role deleted and created again by the same name in between
  passed the session's role-ID check on the old row and lent it the new role's policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from postgres_scratch import scratch_schema
from sqlalchemy import event

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_account
from samlfed.iam.aliases import create_account_alias, delete_account_alias, list_account_aliases
from samlfed.iam.permissions import role_policies
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
    create_account(ctx, ACCOUNT)
    create_account_alias(ctx, ACCOUNT, "acme-old")
    other_node = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
    created: list[str] = []

    def another_node_creates_one(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not created and statement.lstrip().upper().startswith("UPDATE ACCOUNTS"):
            created.append("acme-new")
            other_node.set_account_alias(ACCOUNT, "acme-new")

    event.listen(ctx.store.engine, "before_cursor_execute", another_node_creates_one)
    try:
        with pytest.raises(ServiceError) as refused:
            delete_account_alias(ctx, ACCOUNT, "acme-old")
    finally:
        event.remove(ctx.store.engine, "before_cursor_execute", another_node_creates_one)
        other_node.engine.dispose()
    assert created and (refused.value.code, refused.value.message) == ("NoSuchEntity", "The account alias acme-old cannot be found.")
    assert list_account_aliases(ctx, ACCOUNT) == ["acme-new"]  # one of the two orders: the create came last
    delete_account_alias(ctx, ACCOUNT, "acme-new")
    assert list_account_aliases(ctx, ACCOUNT) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def node_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServiceContext, SqlStore]]:
    """A node's context and another node's store on the same database."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            settings = Settings(data_dir=tmp_path)
        else:
            settings = Settings(data_dir=tmp_path, database_url=stack.enter_context(scratch_schema("samlfed_grants")))
        ctx = build_context(settings)
        stack.callback(ctx.store.engine.dispose)
        other_node = SqlStore.open(str(ctx.store.engine.url))
        stack.callback(other_node.engine.dispose)
        yield ctx, other_node


def test_a_role_deleted_and_created_again_while_a_session_s_grants_are_read(node_pair: tuple[ServiceContext, SqlStore]) -> None:
    """The session's role is checked by ID on the role's row; its policies must come from that same role, not from a
    new role of the same name created in between (which grants more)."""
    ctx, other_node = node_pair
    create_account(ctx, ACCOUNT)
    old_id = "AROAOLDROLEXXXXXXXXXX"
    ctx.store.create_role(Role(ACCOUNT, "Dev", old_id, "/", f"arn:aws:iam::{ACCOUNT}:role/Dev", "{}", 3600, NOW))
    ctx.store.put_role_policy(ACCOUNT, "Dev", "Little", _allow("s3:GetObject"))
    replaced: list[str] = []

    def another_node_replaces_the_role(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not replaced and "FROM roles" in statement:  # right after the role's row was read
            replaced.append("Dev")
            other_node.delete_role_policy(ACCOUNT, "Dev", "Little")
            other_node.delete_role(ACCOUNT, "Dev")
            other_node.create_role(Role(ACCOUNT, "Dev", "AROANEWROLEXXXXXXXXXX", "/", f"arn:aws:iam::{ACCOUNT}:role/Dev", "{}", 3600, NOW))
            other_node.put_role_policy(ACCOUNT, "Dev", "Everything", _allow("*"))

    event.listen(ctx.store.engine, "after_cursor_execute", another_node_replaces_the_role)
    try:
        read = role_policies(ctx, ACCOUNT, "Dev", old_id)
    finally:
        event.remove(ctx.store.engine, "after_cursor_execute", another_node_replaces_the_role)
    assert replaced
    assert [policy.id for policy in read.identity] == ["Little"]  # the old role as it was when the read began
    assert role_policies(ctx, ACCOUNT, "Dev", old_id) == role_policies(ctx, ACCOUNT, "Dev", "AROAOTHERROLEXXXXXXXX")  # both empty now
    assert [policy.id for policy in role_policies(ctx, ACCOUNT, "Dev", "AROANEWROLEXXXXXXXXXX").identity] == ["Everything"]


def _allow(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})

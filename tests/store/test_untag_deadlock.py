"""UntagRole, UntagSAMLProvider and UntagPolicy racing another node's TagX on the same owner (PostgreSQL): both must
succeed. The untag deleted its tag rows without holding the owner, so it could hold one tag row the other node was
about to replace while it waited for another that node had replaced: PostgreSQL broke the deadlock by failing one of
them, a 503 for an ordinary pair of tag changes.

Staged, not hoped for: the other node (a connection of the test's own) locks the owner and replaces tag `b` as TagX
does, the untag of `a` and `b` runs in a thread, and once PostgreSQL reports it waiting the other node replaces `a`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from saml_factory import ENTITY_ID, signer
from sqlalchemy import and_, create_engine, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.schema import Table
from sqlalchemy.sql import ColumnElement
from test_concurrency_review import ACCOUNT, POLICY, POLLS, TRUST

from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_account
from samlfed.iam.managed_policies import create_policy, get_policy, untag_policy
from samlfed.iam.providers import create_saml_provider, get_saml_provider, untag_saml_provider
from samlfed.iam.roles import create_role, get_role, untag_role
from samlfed.masterkey import MasterKey
from samlfed.saml.metadata import build_idp_metadata
from samlfed.store import SqlStore, Tag
from samlfed.store import schema as t

TAGS = [Tag("a", "old"), Tag("b", "old")]


@dataclass(frozen=True)
class Owner:
    """What a tagged thing is to the other node: its row, how its tag rows are keyed, and the untag under test."""

    table: Table
    row: ColumnElement[bool]
    tags: Table
    key: dict[str, str]
    untag: Callable[[list[str]], None]
    read: Callable[[], tuple[Tag, ...]]


@pytest.fixture
def ctx(postgres_database: str) -> Iterator[ServiceContext]:
    store = SqlStore.open(postgres_database)
    context = ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32)), identity_cache_seconds=0)
    create_account(context, ACCOUNT)
    try:
        yield context
    finally:
        store.engine.dispose()


def role(ctx: ServiceContext) -> Owner:
    create_role(ctx, ACCOUNT, "Developer", TRUST, tags=TAGS)
    return Owner(
        t.roles, and_(t.roles.c.account_id == ACCOUNT, t.roles.c.name_lower == "developer"), t.role_tags,
        {"account_id": ACCOUNT, "role_name_lower": "developer"},
        lambda keys: untag_role(ctx, ACCOUNT, "Developer", keys), lambda: get_role(ctx, ACCOUNT, "Developer").tags,
    )


def provider(ctx: ServiceContext) -> Owner:
    arn = create_saml_provider(ctx, ACCOUNT, "IdP", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode(), tags=TAGS).arn
    return Owner(
        t.saml_providers, t.saml_providers.c.arn == arn, t.provider_tags, {"arn": arn},
        lambda keys: untag_saml_provider(ctx, ACCOUNT, arn, keys), lambda: get_saml_provider(ctx, ACCOUNT, arn).tags,
    )


def policy(ctx: ServiceContext) -> Owner:
    arn = create_policy(ctx, ACCOUNT, "Kept", POLICY, tags=TAGS).arn
    return Owner(
        t.managed_policies, t.managed_policies.c.arn == arn, t.policy_tags, {"arn": arn},
        lambda keys: untag_policy(ctx, ACCOUNT, arn, keys), lambda: get_policy(ctx, ACCOUNT, arn).tags,
    )


def replace_tag(node: Connection, owner: Owner, key: str) -> None:
    """What TagX does for one tag: delete the old row, insert the new value."""
    table = owner.tags
    node.execute(delete(table).where(and_(*(table.c[k] == v for k, v in owner.key.items()), table.c.key == key)))
    node.execute(insert(table).values(**owner.key, key_lower=key, key=key, value="new"))


def wait_until_blocked(watcher: Connection, pid: int, worker: threading.Thread) -> None:
    for _ in range(POLLS):
        waiting = watcher.exec_driver_sql(f"SELECT count(*) FROM pg_stat_activity WHERE {pid} = ANY(pg_blocking_pids(pid))").scalar_one()
        watcher.rollback()  # pg_stat_activity is read once per transaction
        if waiting or not worker.is_alive():
            return
        time.sleep(0.01)


@pytest.mark.parametrize("make", [role, provider, policy])
def test_an_untag_racing_a_tag_on_another_node_lets_both_finish(ctx: ServiceContext, postgres_database: str, make: Callable[[ServiceContext], Owner]) -> None:
    owner = make(ctx)
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(owner.untag(["a", "b"]))
        except Exception as exc:  # the outcome under test, whatever it is
            outcome.append(exc)

    engine = create_engine(postgres_database)
    try:
        with engine.connect() as node, engine.connect() as watcher:
            node.begin()
            node.execute(select(owner.table).where(owner.row).with_for_update())
            replace_tag(node, owner, "b")
            worker = threading.Thread(target=run)
            worker.start()
            wait_until_blocked(watcher, node.exec_driver_sql("SELECT pg_backend_pid()").scalar_one(), worker)
            replace_tag(node, owner, "a")  # the deadlock, when the untag holds `a` and waits for `b`
            node.commit()
            worker.join()
    finally:
        engine.dispose()
    assert outcome == [None], outcome
    assert owner.read() == ()

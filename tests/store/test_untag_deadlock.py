"""UntagRole, UntagSAMLProvider and UntagPolicy racing another node's TagX on the same owner (PostgreSQL): both must
succeed. The untag deleted its tag rows without holding the owner, so it could hold one tag row the other node was
about to replace while it waited for another that node had replaced: PostgreSQL broke the deadlock by failing one of
them, a 503 for an ordinary pair of tag changes.

Staged, not hoped for: the other node (a connection of the test's own) locks the owner and replaces tag `b` as TagX
does, the untag of `a` and `b` runs in a thread, and once PostgreSQL reports it waiting the other node replaces `a`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from saml_factory import ENTITY_ID, signer
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.schema import Table
from sqlalchemy.sql import ColumnElement
from test_concurrency_review import ACCOUNT, POLICY, TRUST, scratch_node, while_other_node_writes

from samlfed.context import ServiceContext
from samlfed.iam.managed_policies import create_policy, get_policy, untag_policy
from samlfed.iam.providers import create_saml_provider, get_saml_provider, untag_saml_provider
from samlfed.iam.roles import create_role, get_role, untag_role
from samlfed.saml.metadata import build_idp_metadata
from samlfed.store import Tag
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
    with scratch_node(postgres_database) as context:
        yield context


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


@pytest.mark.parametrize("make", [role, provider, policy])
def test_an_untag_racing_a_tag_on_another_node_lets_both_finish(ctx: ServiceContext, postgres_database: str, make: Callable[[ServiceContext], Owner]) -> None:
    owner = make(ctx)

    def hold_b(node: Connection) -> None:
        node.execute(select(owner.table).where(owner.row).with_for_update())
        replace_tag(node, owner, "b")

    # The deadlock, when the untag holds `a` and waits for `b`: the other node replaces `a` too once the untag waits.
    outcome = while_other_node_writes(postgres_database, hold_b, lambda: owner.untag(["a", "b"]), then=lambda node: replace_tag(node, owner, "a"))
    assert outcome is None, outcome
    assert owner.read() == ()

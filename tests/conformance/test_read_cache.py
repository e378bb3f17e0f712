"""The sign-in read cache over every backend: copies live at most their time, die with this node's own writes,
and a miss is never remembered. "Another node" is a second store on the same database."""

from __future__ import annotations

import pytest
from test_store import ACCOUNT, PROVIDER_ARN, account, provider, role

from samlfed.store import NotFound, SqlStore
from samlfed.store.read_cache import ReadCache
from samlfed.store.sql import create_store_engine

NEW_TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]}'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def other_node(store: SqlStore) -> SqlStore:
    return SqlStore(create_store_engine(store.engine.url.render_as_string(hide_password=False)))


@pytest.fixture
def seeded(store: SqlStore) -> SqlStore:
    account(store)
    store.create_provider(provider())
    store.create_role(role())
    return store


def test_another_nodes_change_shows_after_the_cache_time(seeded: SqlStore) -> None:
    clock = Clock()
    cache = ReadCache(seeded, 1.0, clock)
    assert cache.role(ACCOUNT, "Developer").trust_policy == role().trust_policy
    node_b = other_node(seeded)
    node_b.update_role(ACCOUNT, "Developer", trust_policy=NEW_TRUST)
    node_b.delete_provider(PROVIDER_ARN)
    clock.now += 0.5
    assert cache.role(ACCOUNT, "developer").trust_policy == role().trust_policy  # names are case-insensitive
    clock.now += 0.6
    assert cache.role(ACCOUNT, "Developer").trust_policy == NEW_TRUST
    with pytest.raises(NotFound):
        cache.provider(PROVIDER_ARN)
    node_b.engine.dispose()


def test_this_nodes_own_writes_show_at_once(seeded: SqlStore) -> None:
    cache = ReadCache(seeded, 60.0, Clock())
    assert cache.provider(PROVIDER_ARN).metadata_document == "<md/>"
    cache.role(ACCOUNT, "Developer")
    seeded.update_provider(PROVIDER_ARN, metadata=("<md2/>", None))
    seeded.update_role(ACCOUNT, "Developer", trust_policy=NEW_TRUST)
    assert cache.provider(PROVIDER_ARN).metadata_document == "<md2/>"
    assert cache.role(ACCOUNT, "Developer").trust_policy == NEW_TRUST
    seeded.delete_role(ACCOUNT, "Developer")
    with pytest.raises(NotFound):
        cache.role(ACCOUNT, "Developer")


def test_a_miss_is_not_remembered(seeded: SqlStore) -> None:
    cache = ReadCache(seeded, 60.0, Clock())
    with pytest.raises(NotFound):
        cache.role(ACCOUNT, "Operator")
    node_b = other_node(seeded)
    node_b.create_role(role("Operator"))
    assert cache.role(ACCOUNT, "Operator").name == "Operator"
    node_b.engine.dispose()


def test_zero_seconds_reads_every_time(seeded: SqlStore) -> None:
    cache = ReadCache(seeded, 0.0, Clock())
    cache.role(ACCOUNT, "Developer")
    node_b = other_node(seeded)
    node_b.update_role(ACCOUNT, "Developer", trust_policy=NEW_TRUST)
    assert cache.role(ACCOUNT, "Developer").trust_policy == NEW_TRUST
    node_b.engine.dispose()


def test_the_cache_is_bounded(seeded: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("samlfed.store.read_cache.MAX_ENTRIES", 2)
    seeded.create_role(role("Operator"))
    seeded.create_role(role("Auditor"))
    cache = ReadCache(seeded, 60.0, Clock())
    for name in ("Developer", "Operator", "Auditor"):
        cache.role(ACCOUNT, name)
    assert len(cache._entries) == 1

"""Provider private keys in the store, on every backend: added, listed, removed and the encryption mode set in one
transaction each, with the limit and the Required-needs-a-key rule checked inside it; deleted with their provider."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from test_read_cache import Clock, other_node
from test_store import NOW, PROVIDER_ARN, account, provider

from samlfed.store import Conflict, LimitReached, NoSuchPrivateKey, NotFound, ProviderPrivateKey, SqlStore, schema
from samlfed.store.read_cache import ReadCache

KEY_A = ProviderPrivateKey("A" * 52, NOW, b"sealed-a")
KEY_B = ProviderPrivateKey("B" * 52, NOW + timedelta(seconds=1), b"sealed-b")
KEY_C = ProviderPrivateKey("C" * 52, NOW + timedelta(seconds=2), b"sealed-c")


@pytest.fixture
def seeded(store: SqlStore) -> SqlStore:
    account(store)
    store.create_provider(provider())
    return store


def key_rows(store: SqlStore) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(schema.provider_private_keys)).scalar_one()


def test_keys_are_added_listed_and_removed(seeded: SqlStore) -> None:
    assert seeded.get_provider(PROVIDER_ARN).private_keys == ()
    after = seeded.update_provider(PROVIDER_ARN, add_key=KEY_A, key_limit=2)
    assert after.private_keys == (KEY_A,)
    seeded.update_provider(PROVIDER_ARN, add_key=KEY_B, key_limit=2)
    listed = seeded.get_provider(PROVIDER_ARN).private_keys
    assert [(k.key_id, k.created_at, k.sealed_pem) for k in listed] == [(KEY_A.key_id, NOW, b"sealed-a"), (KEY_B.key_id, KEY_B.created_at, b"sealed-b")]
    assert seeded.get_provider(PROVIDER_ARN).private_keys == (KEY_A, KEY_B)  # every read of the provider names them
    assert "sealed-a" not in repr(seeded.get_provider(PROVIDER_ARN))  # key IDs and times only
    seeded.update_provider(PROVIDER_ARN, remove_key_id=KEY_A.key_id)
    assert seeded.get_provider(PROVIDER_ARN).private_keys == (KEY_B,)
    with pytest.raises(NoSuchPrivateKey):
        seeded.update_provider(PROVIDER_ARN, remove_key_id=KEY_A.key_id)
    with pytest.raises(NotFound):
        seeded.update_provider(PROVIDER_ARN.replace("Corp", "Nobody"), add_key=KEY_A)


def test_the_key_limit_counts_distinct_keys(seeded: SqlStore) -> None:
    seeded.update_provider(PROVIDER_ARN, add_key=KEY_A, key_limit=2)
    seeded.update_provider(PROVIDER_ARN, add_key=KEY_B, key_limit=2)
    with pytest.raises(LimitReached):
        seeded.update_provider(PROVIDER_ARN, add_key=KEY_C, key_limit=2)
    again = seeded.update_provider(PROVIDER_ARN, add_key=replace(KEY_A, created_at=NOW + timedelta(days=1), sealed_pem=b"other"), key_limit=2)
    assert again.private_keys == (KEY_A, KEY_B) and again.private_keys[0].sealed_pem == b"sealed-a"  # held already: unchanged
    assert key_rows(seeded) == 2


def test_required_mode_needs_a_key_checked_in_the_transaction(seeded: SqlStore) -> None:
    with pytest.raises(Conflict):
        seeded.update_provider(PROVIDER_ARN, mode="Required")
    assert seeded.get_provider(PROVIDER_ARN).assertion_encryption_mode == "Allowed"
    seeded.update_provider(PROVIDER_ARN, mode="Required", add_key=KEY_A, key_limit=2)
    assert seeded.get_provider(PROVIDER_ARN).assertion_encryption_mode == "Required"
    with pytest.raises(Conflict):  # the last key of a Required provider
        seeded.update_provider(PROVIDER_ARN, remove_key_id=KEY_A.key_id)
    assert seeded.get_provider(PROVIDER_ARN).private_keys == (KEY_A,)
    seeded.update_provider(PROVIDER_ARN, mode="Allowed", remove_key_id=KEY_A.key_id)
    provider_now = seeded.get_provider(PROVIDER_ARN)
    assert (provider_now.assertion_encryption_mode, provider_now.private_keys) == ("Allowed", ())
    with pytest.raises(ValueError):
        seeded.update_provider(PROVIDER_ARN, mode="Sometimes")


def test_a_refused_change_changes_nothing(seeded: SqlStore) -> None:
    seeded.update_provider(PROVIDER_ARN, add_key=KEY_A)
    with pytest.raises(NoSuchPrivateKey):
        seeded.update_provider(PROVIDER_ARN, metadata=("<md2/>", None), mode="Required", remove_key_id=KEY_B.key_id)
    with pytest.raises(LimitReached):
        seeded.update_provider(PROVIDER_ARN, metadata=("<md2/>", None), add_key=KEY_B, key_limit=1)
    with pytest.raises(NotFound):  # the provider it was meant for (keys are sealed for one provider) is gone
        seeded.update_provider(PROVIDER_ARN, uuid="ANOTHERPROVIDERUUID0000000", metadata=("<md2/>", None), add_key=KEY_B)
    unchanged = seeded.get_provider(PROVIDER_ARN)
    assert (unchanged.metadata_document, unchanged.assertion_encryption_mode, unchanged.private_keys) == ("<md/>", "Allowed", (KEY_A,))
    changed = seeded.update_provider(PROVIDER_ARN, uuid=provider().uuid, metadata=("<md2/>", None), mode="Required", add_key=KEY_B, key_limit=2)
    assert (changed.metadata_document, changed.assertion_encryption_mode, changed.private_keys) == ("<md2/>", "Required", (KEY_A, KEY_B))


def test_keys_come_with_a_created_provider_and_go_with_a_deleted_one(store: SqlStore) -> None:
    account(store)
    store.create_provider(provider(assertion_encryption_mode="Required", private_keys=(KEY_A,)))
    created = store.get_provider(PROVIDER_ARN)
    assert (created.assertion_encryption_mode, created.private_keys) == ("Required", (KEY_A,))
    store.delete_provider(PROVIDER_ARN)
    assert key_rows(store) == 0
    store.create_provider(provider())  # the same name again: none of the old keys
    assert store.get_provider(PROVIDER_ARN).private_keys == ()


def test_sign_ins_see_a_removed_key_gone_at_once_here_and_within_the_cache_time_elsewhere(seeded: SqlStore) -> None:
    seeded.update_provider(PROVIDER_ARN, add_key=KEY_A)
    seeded.update_provider(PROVIDER_ARN, add_key=KEY_B)
    clock = Clock()
    cache = ReadCache(seeded, 1.0, clock)
    assert cache.provider(PROVIDER_ARN).private_keys == (KEY_A, KEY_B)
    seeded.update_provider(PROVIDER_ARN, remove_key_id=KEY_A.key_id)  # this node's own write
    assert cache.provider(PROVIDER_ARN).private_keys == (KEY_B,)
    node_b = other_node(seeded)
    try:
        node_b.update_provider(PROVIDER_ARN, remove_key_id=KEY_B.key_id)
        clock.now += 0.5
        assert cache.provider(PROVIDER_ARN).private_keys == (KEY_B,)
        clock.now += 0.6
        assert cache.provider(PROVIDER_ARN).private_keys == ()
    finally:
        node_b.engine.dispose()

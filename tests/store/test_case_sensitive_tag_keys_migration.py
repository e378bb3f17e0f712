"""Migration 0014 on a database that 0013 left with tagged SAML providers, managed policies and roles: every tag is
kept, a provider's and a policy's keys become case-sensitive (`Team` and `team` two tags, as IAM's tagging rules
say) and a role's stay case-insensitive; the downgrade keeps one of two keys that differ only in case."""

from __future__ import annotations

from schema_revisions import downgrade
from sqlalchemy import create_engine, text
from tagged_owners import ACCOUNT, POLICY, PROVIDER, database_at

from samlfed.store import SqlStore
from samlfed.store.records import Tag


def test_every_tag_is_kept_and_provider_and_policy_keys_become_case_sensitive(store_url: str) -> None:
    database_at(store_url, "0013", (("Team", "a"), ("cost", "1")))
    store = SqlStore.open(store_url)
    try:
        assert store.get_provider(PROVIDER).tags == (Tag("cost", "1"), Tag("Team", "a"))
        assert store.get_policy(POLICY).tags == (Tag("cost", "1"), Tag("Team", "a"))
        store.tag_provider(PROVIDER, [Tag("team", "b")])
        store.tag_policy(POLICY, [Tag("team", "b")])
        store.tag_role(ACCOUNT, "Dev", [Tag("team", "b")])
        assert store.get_provider(PROVIDER).tags == (Tag("cost", "1"), Tag("Team", "a"), Tag("team", "b"))
        assert store.get_policy(POLICY).tags == (Tag("cost", "1"), Tag("Team", "a"), Tag("team", "b"))
        assert store.get_role(ACCOUNT, "Dev").tags == (Tag("team", "b"),)  # a replacement: a role's keys are not
    finally:
        store.engine.dispose()


def test_the_downgrade_keeps_one_of_two_keys_that_differ_only_in_case(store_url: str) -> None:
    database_at(store_url, "0013", (("Team", "a"), ("cost", "1")))
    store = SqlStore.open(store_url)  # to head
    store.tag_provider(PROVIDER, [Tag("team", "b")])
    store.tag_policy(POLICY, [Tag("team", "b")])
    store.engine.dispose()
    engine = create_engine(store_url)
    try:
        downgrade(engine, "0013")
        with engine.connect() as db:
            for table in ("provider_tags", "policy_tags"):
                rows = db.execute(text(f"SELECT key, value FROM {table} ORDER BY key_lower")).all()
                assert [tuple(row) for row in rows] == [("cost", "1"), ("team", "b")]
    finally:
        engine.dispose()

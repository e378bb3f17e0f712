"""Migration 0015 on a database that 0014 left with tags of roles, SAML providers and managed policies: every tag is
kept, and a key whose lower-cased form is longer than 128 characters ('İ' lower-cases to two) can be stored after."""

from __future__ import annotations

from sqlalchemy import text
from tagged_owners import ACCOUNT, POLICY, PROVIDER, database_at

from samlfed.store import SqlStore
from samlfed.store.records import Tag

LONG_KEY = "\u0130" * 128


def test_tags_are_kept_and_longer_lower_cased_keys_fit(store_url: str) -> None:
    database_at(store_url, "0014", (("Team", "a"),))
    store = SqlStore.open(store_url)
    try:
        assert store.get_provider(PROVIDER).tags == (Tag("Team", "a"),)
        assert store.get_policy(POLICY).tags == (Tag("Team", "a"),)
        assert store.get_role(ACCOUNT, "Dev").tags == (Tag("Team", "a"),)
        store.tag_provider(PROVIDER, [Tag(LONG_KEY, "b")])
        store.tag_policy(POLICY, [Tag(LONG_KEY, "b")])
        store.tag_role(ACCOUNT, "Dev", [Tag(LONG_KEY, "b")])
        assert store.get_provider(PROVIDER).tags == (Tag(LONG_KEY, "b"), Tag("Team", "a"))  # by lower-cased key
        assert store.get_policy(POLICY).tags == (Tag(LONG_KEY, "b"), Tag("Team", "a"))  # by lower-cased key
        assert store.get_role(ACCOUNT, "Dev").tags == (Tag(LONG_KEY, "b"), Tag("Team", "a"))  # by lower-cased key
        store.delete_role(ACCOUNT, "Dev")  # the copied table still goes with its role
        with store.engine.connect() as db:
            assert db.execute(text("SELECT count(*) FROM role_tags")).scalar_one() == 0
    finally:
        store.engine.dispose()

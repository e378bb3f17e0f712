"""A tag key whose lower-cased form is longer than the key: 'İ' (U+0130, a letter the tag pattern allows) lower-cases
to two characters, so a key of 128 of them has a lower-cased form of 256. Every backend stores and lists such tags;
PostgreSQL refused them (a 128-character column), SQLite, which does not check lengths, kept them."""

from __future__ import annotations

from datetime import UTC, datetime

from samlfed.store import Account, ManagedPolicy, Role, SamlProvider, SqlStore, Tag

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
LONG_KEY = "\u0130" * 128
OTHER_KEY = "\u0130" * 127 + "x"


def test_a_role_tag_key_that_lower_cases_longer_is_stored_and_removed(store: SqlStore) -> None:
    store.create_account(Account(ACCOUNT, None, NOW))
    role = Role(ACCOUNT, "Developer", "AROAEXAMPLE000000001", "/", f"arn:aws:iam::{ACCOUNT}:role/Developer", "{}", 3600, NOW, tags=(Tag(LONG_KEY, "a"),))
    store.create_role(role)
    store.tag_role(ACCOUNT, "Developer", [Tag(OTHER_KEY, "b")], limit=50)
    assert store.get_role(ACCOUNT, "Developer").tags == (Tag(LONG_KEY, "a"), Tag(OTHER_KEY, "b"))
    store.untag_role(ACCOUNT, "Developer", [LONG_KEY])
    assert store.get_role(ACCOUNT, "Developer").tags == (Tag(OTHER_KEY, "b"),)


def test_a_provider_tag_key_that_lower_cases_longer_is_stored(store: SqlStore) -> None:
    store.create_account(Account(ACCOUNT, None, NOW))
    arn = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"
    store.create_provider(SamlProvider(arn, ACCOUNT, "Corp", "ABCDEFGHIJKLMNOPQRSTUV", "<md/>", None, NOW, tags=(Tag(LONG_KEY, "a"),)))
    store.tag_provider(arn, [Tag(OTHER_KEY, "b")], limit=50)
    assert store.get_provider(arn).tags == (Tag(LONG_KEY, "a"), Tag(OTHER_KEY, "b"))


def test_a_policy_tag_key_that_lower_cases_longer_is_stored(store: SqlStore) -> None:
    store.create_account(Account(ACCOUNT, None, NOW))
    arn = f"arn:aws:iam::{ACCOUNT}:policy/ReadS3"
    store.create_policy(ManagedPolicy(arn, ACCOUNT, "ReadS3", "ANPAEXAMPLE0000000001", "/", "{}", NOW, NOW, tags=(Tag(LONG_KEY, "a"),)))
    store.tag_policy(arn, [Tag(OTHER_KEY, "b")], limit=50)
    assert store.get_policy(arn).tags == (Tag(LONG_KEY, "a"), Tag(OTHER_KEY, "b"))

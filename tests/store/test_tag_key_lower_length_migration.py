"""Migration 0015 on a database that 0014 left with tags of roles, SAML providers and managed policies: every tag is
kept, and a key whose lower-cased form is longer than 128 characters ('İ' lower-cases to two) can be stored after."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text

from samlfed.store import SqlStore
from samlfed.store.migrate import alembic_config
from samlfed.store.records import Tag

ACCOUNT = "111111111111"
CREATED = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/Read"
LONG_KEY = "\u0130" * 128


def _database_at_0014(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as db:
        command.upgrade(alembic_config(db), "0014")
        db.execute(text("INSERT INTO accounts (account_id, created_at) VALUES (:a, :t)"), {"a": ACCOUNT, "t": CREATED})
        db.execute(text(
            "INSERT INTO saml_providers (arn, account_id, name, uuid, metadata_document, assertion_encryption_mode, created_at) "
            "VALUES (:arn, :account, 'Corp', 'ABCDEFGHIJKLMNOPQRSTUV', '<md/>', 'Allowed', :created)"
        ), {"arn": PROVIDER, "account": ACCOUNT, "created": CREATED})
        db.execute(text(
            "INSERT INTO managed_policies (arn, account_id, name, policy_id, path, document, created_at, updated_at) "
            "VALUES (:arn, :account, 'Read', 'ANPAREADXXXXXXXXXXXXX', '/', '{}', :created, :created)"
        ), {"arn": POLICY, "account": ACCOUNT, "created": CREATED})
        db.execute(text(
            "INSERT INTO roles (account_id, name_lower, name, role_id, path, arn, trust_policy, max_session_duration, created_at) "
            "VALUES (:account, 'dev', 'Dev', 'AROADEVXXXXXXXXXXXXXX', '/', :arn, '{}', 3600, :created)"
        ), {"account": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:role/Dev", "created": CREATED})
        for table, owner in (("provider_tags", PROVIDER), ("policy_tags", POLICY)):
            db.execute(text(f"INSERT INTO {table} (arn, key_lower, key, value) VALUES (:arn, 'team', 'Team', 'a')"), {"arn": owner})
        db.execute(text("INSERT INTO role_tags (account_id, role_name_lower, key_lower, key, value) VALUES (:a, 'dev', 'team', 'Team', 'a')"), {"a": ACCOUNT})
    engine.dispose()


def test_tags_are_kept_and_longer_lower_cased_keys_fit(store_url: str) -> None:
    _database_at_0014(store_url)
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

"""Migration 0014 on a database that 0013 left with tagged SAML providers, managed policies and roles: every tag is
kept, a provider's and a policy's keys become case-sensitive (`Team` and `team` two tags, as IAM's tagging rules
say) and a role's stay case-insensitive; the downgrade keeps one of two keys that differ only in case."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from schema_revisions import downgrade
from sqlalchemy import create_engine, text

from samlfed.store import SqlStore
from samlfed.store.migrate import alembic_config
from samlfed.store.records import Tag

ACCOUNT = "111111111111"
CREATED = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/Read"


def _database_at_0013(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as db:
        command.upgrade(alembic_config(db), "0013")
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
            for key, value in (("Team", "a"), ("cost", "1")):
                db.execute(text(f"INSERT INTO {table} (arn, key_lower, key, value) VALUES (:arn, :lower, :key, :value)"),
                           {"arn": owner, "lower": key.lower(), "key": key, "value": value})
        db.execute(text("INSERT INTO role_tags (account_id, role_name_lower, key_lower, key, value) VALUES (:a, 'dev', 'team', 'Team', 'a')"), {"a": ACCOUNT})
    engine.dispose()


def test_every_tag_is_kept_and_provider_and_policy_keys_become_case_sensitive(store_url: str) -> None:
    _database_at_0013(store_url)
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
    _database_at_0013(store_url)
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

"""A database at an older schema revision holding one account with a SAML provider, a managed policy and a role, each
tagged: what the tag migrations must carry over."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text

from samlfed.store.migrate import alembic_config

ACCOUNT = "111111111111"
CREATED = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/Read"
ROLE = "Dev"


def database_at(url: str, revision: str, owner_tags: Sequence[tuple[str, str]]) -> None:
    """The schema at `revision` (0013 or later), the provider and the policy tagged with `owner_tags` (key, value),
    the role with Team=a."""
    engine = create_engine(url)
    with engine.begin() as db:
        command.upgrade(alembic_config(db), revision)
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
            "VALUES (:account, 'dev', :name, 'AROADEVXXXXXXXXXXXXXX', '/', :arn, '{}', 3600, :created)"
        ), {"account": ACCOUNT, "name": ROLE, "arn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", "created": CREATED})
        for table, owner in (("provider_tags", PROVIDER), ("policy_tags", POLICY)):
            for key, value in owner_tags:
                db.execute(text(f"INSERT INTO {table} (arn, key_lower, key, value) VALUES (:arn, :lower, :key, :value)"),
                           {"arn": owner, "lower": key.lower(), "key": key, "value": value})
        db.execute(text("INSERT INTO role_tags (account_id, role_name_lower, key_lower, key, value) VALUES (:a, 'dev', 'team', 'Team', 'a')"), {"a": ACCOUNT})
    engine.dispose()

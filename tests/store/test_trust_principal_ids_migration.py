"""Migration 0013 on a database that 0012 left with trust policies naming roles by ARN: each is bound to the role
that holds the ARN then (an ARN no role holds to none), and its downgrade keeps every role's policies and tags
(found by a review: SQLite's table copy cascaded the drop of the old roles table to them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from schema_revisions import downgrade
from sqlalchemy import create_engine, func, inspect, select, text

from samlfed.store import SqlStore
from samlfed.store import schema as t
from samlfed.store.migrate import alembic_config

ACCOUNT = "111111111111"
CREATED = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
DEV, GONE = f"arn:aws:iam::{ACCOUNT}:role/Dev", f"arn:aws:iam::{ACCOUNT}:role/Gone"


def _trusting(*principals: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
    ]})


def _role(db, name: str, role_id: str, trust_policy: str) -> None:  # type: ignore[no-untyped-def]
    db.execute(text(
        "INSERT INTO roles (account_id, name_lower, name, role_id, path, arn, trust_policy, max_session_duration, created_at) "
        "VALUES (:account, :lower, :name, :id, '/', :arn, :trust, 3600, :created)"
    ), {"account": ACCOUNT, "lower": name.lower(), "name": name, "id": role_id, "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "trust": trust_policy, "created": CREATED})


def _database_at_0012(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as db:
        command.upgrade(alembic_config(db), "0012")
        db.execute(text("INSERT INTO accounts (account_id, created_at) VALUES (:a, :t)"), {"a": ACCOUNT, "t": CREATED})
        _role(db, "Dev", "AROADEVXXXXXXXXXXXXXX", "{}")
        _role(db, "Target", "AROATARGETXXXXXXXXXXX", _trusting(DEV, GONE))
        _role(db, "Broken", "AROABROKENXXXXXXXXXXX", "not a policy")
        db.execute(text("INSERT INTO role_policies (account_id, role_name_lower, policy_name, document) VALUES (:a, 'target', 'p', '{}')"), {"a": ACCOUNT})
        db.execute(text("INSERT INTO role_tags (account_id, role_name_lower, key_lower, key, value) VALUES (:a, 'target', 'team', 'Team', 'x')"), {"a": ACCOUNT})
    engine.dispose()


def test_existing_trust_policies_are_bound_to_the_roles_that_hold_their_arns(store_url: str) -> None:
    _database_at_0012(store_url)
    store = SqlStore.open(store_url)
    try:
        assert store.get_role(ACCOUNT, "Target").trust_principal_ids == ((DEV, "AROADEVXXXXXXXXXXXXXX"), (GONE, ""))
        assert store.get_role(ACCOUNT, "Dev").trust_principal_ids == ()
        assert store.get_role(ACCOUNT, "Broken").trust_principal_ids == ()
    finally:
        store.engine.dispose()


def test_the_downgrade_keeps_every_roles_policies_and_tags(store_url: str) -> None:
    _database_at_0012(store_url)
    SqlStore.open(store_url).engine.dispose()  # to head
    engine = create_engine(store_url)
    try:
        downgrade(engine, "0012")
        with engine.connect() as db:
            counts = {table.name: db.execute(select(func.count()).select_from(table)).scalar_one() for table in (t.roles, t.role_policies, t.role_tags)}
            columns = {column["name"] for column in inspect(db).get_columns("roles")}
        assert counts == {"roles": 3, "role_policies": 1, "role_tags": 1}
        assert "trust_principal_ids" not in columns
    finally:
        engine.dispose()

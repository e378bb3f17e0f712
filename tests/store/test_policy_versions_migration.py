"""Migration 0010 on a database that 0009 left with customer managed policies in use: every policy keeps its
document as v1, its default (created when the policy was), and works as before; new versions follow from v2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import create_engine, text

from samlfed.context import ServiceContext
from samlfed.iam.permissions import role_policies
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore
from samlfed.store.migrate import alembic_config, head_revision
from samlfed.store.records import PolicyVersion

ACCOUNT = "111111111111"
CREATED = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
UPDATED = datetime(2025, 4, 1, 8, 30, tzinfo=UTC)
READ = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
WRITE = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]})


def policy_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{name}"


def database_at_0009(url: str) -> None:
    """What 0009 left: an account, two managed policies (one tagged, one attached to a role)."""
    engine = create_engine(url)
    with engine.begin() as db:
        command.upgrade(alembic_config(db), "0009")
        db.execute(text("INSERT INTO accounts (account_id, created_at) VALUES (:a, :t)"), {"a": ACCOUNT, "t": CREATED})
        for name, document, policy_id in (("Read", READ, "ANPAREADXXXXXXXXXXXXX"), ("Write", WRITE, "ANPAWRITEXXXXXXXXXXXX")):
            db.execute(text(
                "INSERT INTO managed_policies (arn, account_id, name, policy_id, path, document, created_at, updated_at) "
                "VALUES (:arn, :account, :name, :id, '/', :document, :created, :updated)"
            ), {"arn": policy_arn(name), "account": ACCOUNT, "name": name, "id": policy_id, "document": document, "created": CREATED, "updated": UPDATED})
        db.execute(text("INSERT INTO policy_tags (arn, key_lower, key, value) VALUES (:arn, 'team', 'Team', 'a')"), {"arn": policy_arn("Read")})
        db.execute(text(
            "INSERT INTO roles (account_id, name_lower, name, role_id, path, arn, trust_policy, max_session_duration, created_at) "
            "VALUES (:account, 'dev', 'Dev', 'AROADEVXXXXXXXXXXXXX', '/', :arn, '{}', 3600, :created)"
        ), {"account": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:role/Dev", "created": CREATED})
        db.execute(text("INSERT INTO role_policy_attachments (account_id, role_name_lower, policy_arn) VALUES (:a, 'dev', :p)"),
                   {"a": ACCOUNT, "p": policy_arn("Read")})
    engine.dispose()


def test_existing_policies_become_their_own_v1(store_url: str) -> None:
    database_at_0009(store_url)
    store = SqlStore.open(store_url)
    try:
        with store.engine.connect() as db:
            assert db.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
        for name, document in (("Read", READ), ("Write", WRITE)):
            policy = store.get_policy(policy_arn(name))
            assert (policy.default_version_id, policy.document, policy.created_at, policy.updated_at) == ("v1", document, CREATED, UPDATED)
            assert store.list_policy_versions(policy_arn(name)) == [PolicyVersion("v1", document, True, CREATED)]
        read = store.get_policy(policy_arn("Read"))
        assert read.attachment_count == 1 and [t.key for t in read.tags] == ["Team"]

        ctx = ServiceContext(store=store, master=MasterKey(b"m" * 32))
        assert [p.id for p in role_policies(ctx, ACCOUNT, "Dev").identity] == [policy_arn("Read")]
        later = UPDATED + timedelta(days=1)
        assert store.create_policy_version(policy_arn("Read"), WRITE, now=later, set_as_default=True, limit=5).version_id == "v2"
        assert store.get_policy(policy_arn("Read")).document == WRITE
        store.delete_policy_version(policy_arn("Read"), "v1")
        store.detach_role_policy(ACCOUNT, "Dev", policy_arn("Read"))
        store.delete_policy(policy_arn("Read"))
        store.delete_policy(policy_arn("Write"))  # only its v1: deleted with it
    finally:
        store.engine.dispose()

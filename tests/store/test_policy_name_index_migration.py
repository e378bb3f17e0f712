"""Migration 0016 on a database that 0015 left with managed policies: every policy is kept, and the database itself
refuses a second policy of the account whose name differs only in case, as IAM does (a writer that skips
CreatePolicy's check under the account's lock, an older samlfed on the upgraded database, is refused too). A
database holding such policies already is refused, naming them, and left as it was."""

from __future__ import annotations

import pytest
from schema_revisions import downgrade
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import IntegrityError
from tagged_owners import ACCOUNT, CREATED, POLICY, database_at

from samlfed.store import AlreadyExists, ManagedPolicy, SqlStore, StoreUnavailable
from samlfed.store import schema as t

INDEX = "ix_managed_policies_account_lower_name"
NAMESAKE = f"arn:aws:iam::{ACCOUNT}:policy/team/READ"


def namesake_row() -> dict[str, object]:
    """POLICY's name in capitals on another path: a row only a writer that checks no names would insert."""
    return {
        "arn": NAMESAKE, "account_id": ACCOUNT, "name": "READ", "policy_id": "ANPAREADCAPS000000000", "path": "/team/",
        "document": "{}", "created_at": CREATED, "updated_at": CREATED,
    }


def has_index(url: str) -> bool:
    """Whether the database's own catalogue holds INDEX (SQLAlchemy does not reflect an expression index on SQLite)."""
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            query = {
                "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = :index",
                "postgresql": "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :index",
            }[db.dialect.name]
            return db.execute(text(query), {"index": INDEX}).scalar_one() == 1
    finally:
        engine.dispose()


def test_policies_are_kept_and_the_database_refuses_a_name_in_another_case(store_url: str) -> None:
    database_at(store_url, "0015", ())
    store = SqlStore.open(store_url)
    try:
        assert store.get_policy(POLICY).name == "Read"
        with pytest.raises(IntegrityError), store.engine.begin() as db:
            db.execute(insert(t.managed_policies).values(**namesake_row()))
        with pytest.raises(AlreadyExists):
            store.create_policy(ManagedPolicy(NAMESAKE, ACCOUNT, "READ", "ANPAREADCAPS000000000", "/team/", "{}", CREATED, CREATED))
        assert [policy.arn for policy in store.list_policies(ACCOUNT)] == [POLICY]
        other_account = "222222222222"  # the same name in another account is another policy
        with store.engine.begin() as db:
            db.execute(text("INSERT INTO accounts (account_id, created_at) VALUES (:a, :t)"), {"a": other_account, "t": CREATED})
            db.execute(insert(t.managed_policies).values(**{**namesake_row(), "arn": f"arn:aws:iam::{other_account}:policy/READ", "account_id": other_account}))
    finally:
        store.engine.dispose()
    assert has_index(store_url)


def test_a_database_holding_names_that_differ_only_in_case_is_refused_and_left_as_it_was(store_url: str) -> None:
    database_at(store_url, "0015", ())
    engine = create_engine(store_url)
    with engine.begin() as db:  # as a samlfed from before the name check under the account's lock accepted it
        db.execute(insert(t.managed_policies).values(**namesake_row()))
    with pytest.raises(StoreUnavailable) as refused:
        SqlStore.open(store_url)
    message = str(refused.value)
    assert "managed policies of one account have names that differ only in case, which IAM does not allow" in message
    assert f": {POLICY}, {NAMESAKE}; delete all but one of each" in message  # by ARN
    assert "\n" not in message
    try:
        with engine.connect() as db:
            assert db.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0015"
            assert sorted(db.execute(text("SELECT arn FROM managed_policies")).scalars()) == sorted([POLICY, NAMESAKE])
    finally:
        engine.dispose()
    assert not has_index(store_url)


def test_the_downgrade_drops_the_index(store_url: str) -> None:
    database_at(store_url, "0015", ())
    SqlStore.open(store_url).engine.dispose()
    engine = create_engine(store_url)
    try:
        downgrade(engine, "0015")
        with engine.begin() as db:
            db.execute(insert(t.managed_policies).values(**namesake_row()))
    finally:
        engine.dispose()
    assert not has_index(store_url)

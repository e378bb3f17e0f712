"""Managed policy versions in the store, on every backend (SQLite and a real PostgreSQL): numbering that never
reuses an ID, the five-version limit under concurrent creates, the default version as what every evaluation reads
(on another node at once), and what DeletePolicyVersion and DeletePolicy refuse."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from postgres_scratch import fresh_store

from samlfed.context import ServiceContext
from samlfed.iam.permissions import role_policies
from samlfed.masterkey import MasterKey
from samlfed.store import Account, Conflict, LimitReached, ManagedPolicy, NotFound, Role, SqlStore
from samlfed.store.records import NoSuchPolicyVersion, PolicyVersion, PolicyVersionsLeft
from samlfed.store.sql import create_store_engine

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
ACCOUNT = "111111111111"
ARN = f"arn:aws:iam::{ACCOUNT}:policy/P"


def allow(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[SqlStore]:
    with fresh_store(request.param, tmp_path) as store:
        store.create_account(Account(ACCOUNT, None, NOW))
        store.create_policy(ManagedPolicy(ARN, ACCOUNT, "P", "ANPAPXXXXXXXXXXXXXXXX", "/", allow("s3:GetObject"), NOW, NOW))
        yield store


def new_version(store: SqlStore, document: str, *, default: bool = False, now: datetime = LATER) -> str:
    return store.create_policy_version(ARN, document, now=now, set_as_default=default, limit=5).version_id


def test_a_new_policy_has_v1_as_its_default(store: SqlStore) -> None:
    assert store.get_policy(ARN).default_version_id == "v1"
    assert store.list_policy_versions(ARN) == [PolicyVersion("v1", allow("s3:GetObject"), True, NOW)]


def test_versions_are_numbered_listed_newest_first_and_never_renumbered(store: SqlStore) -> None:
    assert [new_version(store, allow(f"s3:Action{n}")) for n in range(2, 6)] == ["v2", "v3", "v4", "v5"]
    assert [v.version_id for v in store.list_policy_versions(ARN)] == ["v5", "v4", "v3", "v2", "v1"]
    store.delete_policy_version(ARN, "v5")
    store.delete_policy_version(ARN, "v3")
    assert new_version(store, allow("s3:Again")) == "v6"  # neither v5 (the highest deleted) nor v3 comes back
    assert [v.version_id for v in store.list_policy_versions(ARN)] == ["v6", "v4", "v2", "v1"]
    assert store.get_policy_version(ARN, "v6") == PolicyVersion("v6", allow("s3:Again"), False, LATER)


def test_a_sixth_version_is_refused_until_one_is_deleted(store: SqlStore) -> None:
    for n in range(2, 6):
        new_version(store, allow(f"s3:Action{n}"))
    with pytest.raises(LimitReached):
        new_version(store, allow("s3:Sixth"), default=True)
    assert store.get_policy(ARN).default_version_id == "v1" and len(store.list_policy_versions(ARN)) == 5
    store.delete_policy_version(ARN, "v2")
    assert new_version(store, allow("s3:Sixth")) == "v6"


def test_the_default_version_is_what_the_policy_holds(store: SqlStore) -> None:
    assert new_version(store, allow("s3:PutObject")) == "v2"
    policy = store.get_policy(ARN)
    assert (policy.default_version_id, policy.document, policy.updated_at) == ("v1", allow("s3:GetObject"), LATER)
    assert new_version(store, allow("s3:DeleteObject"), default=True, now=LATER + timedelta(hours=1)) == "v3"
    assert (store.get_policy(ARN).default_version_id, store.get_policy(ARN).document) == ("v3", allow("s3:DeleteObject"))
    store.set_default_policy_version(ARN, "v2")
    policy = store.get_policy(ARN)
    assert (policy.default_version_id, policy.document) == ("v2", allow("s3:PutObject"))
    assert policy.updated_at == LATER + timedelta(hours=1)  # setting a default creates no version
    assert [(v.version_id, v.is_default) for v in store.list_policy_versions(ARN)] == [("v3", False), ("v2", True), ("v1", False)]
    assert store.get_policy_version(ARN, "v2").is_default and not store.get_policy_version(ARN, "v1").is_default


def test_the_default_version_cannot_be_deleted_and_missing_versions_are_told_apart(store: SqlStore) -> None:
    with pytest.raises(Conflict):
        store.delete_policy_version(ARN, "v1")
    for version_id in ("v2", "v1.draft", "v99999999999999999999"):
        for call in (store.get_policy_version, store.delete_policy_version, store.set_default_policy_version):
            with pytest.raises(NoSuchPolicyVersion):
                call(ARN, version_id)
    missing = ARN + "Missing"
    for call in (store.get_policy_version, store.delete_policy_version, store.set_default_policy_version):
        with pytest.raises(NotFound) as info:
            call(missing, "v1")
        assert not isinstance(info.value, NoSuchPolicyVersion)
    with pytest.raises(NotFound):
        store.list_policy_versions(missing)
    with pytest.raises(NotFound):
        store.create_policy_version(missing, "{}", now=LATER, set_as_default=True, limit=5)


def test_a_policy_with_other_versions_is_not_deleted(store: SqlStore) -> None:
    new_version(store, allow("s3:PutObject"), default=True)
    with pytest.raises(PolicyVersionsLeft):
        store.delete_policy(ARN)
    store.delete_policy_version(ARN, "v1")  # v2 is the default now
    store.delete_policy(ARN)  # its default version goes with it
    with pytest.raises(NotFound):
        store.list_policy_versions(ARN)
    store.create_policy(ManagedPolicy(ARN, ACCOUNT, "P", "ANPAQXXXXXXXXXXXXXXXX", "/", "{}", NOW, NOW))
    assert [v.version_id for v in store.list_policy_versions(ARN)] == ["v1"]  # a new policy: numbering starts again


def test_concurrent_creates_never_pass_the_limit_nor_share_an_id(store: SqlStore) -> None:
    new_version(store, allow("s3:Two"))
    racers = 6
    start = threading.Barrier(racers)
    created: list[str] = []
    refused: list[str] = []

    def create(n: int) -> None:
        start.wait()
        try:
            created.append(store.create_policy_version(ARN, allow(f"s3:Racer{n}"), now=LATER, set_as_default=n % 2 == 0, limit=5).version_id)
        except LimitReached:
            refused.append("limit")

    threads = [threading.Thread(target=create, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == ["v3", "v4", "v5"] and len(refused) == 3
    versions = store.list_policy_versions(ARN)
    assert [v.version_id for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert sum(v.is_default for v in versions) == 1
    default = next(v for v in versions if v.is_default)
    assert store.get_policy(ARN).document == default.document  # the policy holds its default's document


def test_another_node_evaluates_the_new_default_at_once(store: SqlStore) -> None:
    """Two stores on one database, as two nodes: the role's permissions read on the other one follow a change of
    default with no wait (nothing caches managed policies)."""
    store.create_role(Role(
        account_id=ACCOUNT, name="R", role_id="AROARXXXXXXXXXXXXXXXX", path="/", arn=f"arn:aws:iam::{ACCOUNT}:role/R",
        trust_policy="{}", max_session_duration=3600, created_at=NOW, permissions_boundary=ARN,
    ))
    store.attach_role_policy(ACCOUNT, "R", ARN)
    other = SqlStore(create_store_engine(store.engine.url.render_as_string(hide_password=False)))
    node = ServiceContext(store=other, master=MasterKey(b"m" * 32))

    def actions() -> tuple[list[str], list[str]]:
        policies = role_policies(node, ACCOUNT, "R")
        assert policies.boundary is not None
        return [a for p in policies.identity for s in p.document.statements for a in s.actions or ()], list(policies.boundary.document.statements[0].actions or ())

    assert actions() == (["s3:GetObject"], ["s3:GetObject"])
    new_version(store, allow("s3:PutObject"), default=True)
    assert actions() == (["s3:PutObject"], ["s3:PutObject"])
    store.set_default_policy_version(ARN, "v1")
    assert actions() == (["s3:GetObject"], ["s3:GetObject"])
    other.engine.dispose()

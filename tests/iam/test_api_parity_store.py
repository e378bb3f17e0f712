"""Store behaviour behind the IAM API parity fixes, on every backend (SQLite and a real PostgreSQL, as
tests/conformance): the PoliciesPerRole limit under concurrent attaches, exact PathPrefix matching, policy tags, and
why a role cannot be deleted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from postgres_scratch import fresh_store
from sqlalchemy import text

from samlfed.store import Account, Conflict, InlinePoliciesLeft, LimitReached, ManagedPolicy, NotFound, Role, SqlStore, Tag

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[SqlStore]:
    with fresh_store(request.param, tmp_path) as store:
        store.create_account(Account(ACCOUNT, None, NOW))
        yield store


def add_role(store: SqlStore, name: str, path: str = "/") -> None:
    store.create_role(Role(
        account_id=ACCOUNT, name=name, role_id=f"AROA{name.upper():X<17}"[:21], path=path, arn=f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        trust_policy="{}", max_session_duration=3600, created_at=NOW,
    ))


def add_policy(store: SqlStore, name: str, path: str = "/", tags: tuple[Tag, ...] = ()) -> str:
    arn = f"arn:aws:iam::{ACCOUNT}:policy{path}{name}"
    store.create_policy(ManagedPolicy(arn, ACCOUNT, name, f"ANPA{name.upper():X<17}"[:21], path, "{}", NOW, NOW, tags=tags))
    return arn


def test_concurrent_attaches_never_pass_the_limit(store: SqlStore) -> None:
    add_role(store, "R")
    for number in range(9):
        store.attach_role_policy(ACCOUNT, "R", add_policy(store, f"P{number}"), limit=10)
    racers = [add_policy(store, f"Racer{number}") for number in range(6)]
    start = threading.Barrier(len(racers))
    outcomes: list[str] = []

    def attach(arn: str) -> None:
        start.wait()
        try:
            store.attach_role_policy(ACCOUNT, "R", arn, limit=10)
            outcomes.append("attached")
        except LimitReached:
            outcomes.append("limit")

    threads = [threading.Thread(target=attach, args=(arn,)) for arn in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["attached"] + ["limit"] * 5
    assert len(store.list_attached_role_policies(ACCOUNT, "R")) == 10


def test_attaching_an_attached_policy_at_the_limit_changes_nothing(store: SqlStore) -> None:
    add_role(store, "R")
    arns = [add_policy(store, f"P{number}") for number in range(3)]
    for arn in arns[:2]:
        store.attach_role_policy(ACCOUNT, "R", arn, limit=2)
    store.attach_role_policy(ACCOUNT, "R", arns[0], limit=2)
    with pytest.raises(LimitReached):
        store.attach_role_policy(ACCOUNT, "R", arns[2], limit=2)
    with pytest.raises(NotFound):
        store.attach_role_policy(ACCOUNT, "Missing", arns[2], limit=2)


def test_path_prefixes_match_exactly(store: SqlStore) -> None:
    """LIKE is case-insensitive on SQLite and takes % and _ as wildcards; AWS's PathPrefix is a plain prefix."""
    for name, path in (("Upper", "/Team/"), ("Lower", "/team/"), ("Under", "/a_b/"), ("Other", "/axb/"), ("Percent", "/c%d/"), ("Plain", "/cxd/")):
        add_role(store, name, path)
        add_policy(store, name, path)
    for prefix, names in (("/team/", ["Lower"]), ("/Team/", ["Upper"]), ("/a_", ["Under"]), ("/c%", ["Percent"]), ("/", None)):
        expected = names or ["Lower", "Other", "Percent", "Plain", "Under", "Upper"]
        assert sorted(role.name for role in store.list_roles(ACCOUNT, prefix)) == expected
        assert sorted(policy.name for policy in store.list_policies(ACCOUNT, prefix)) == expected


def test_policy_tags_are_kept_changed_and_removed(store: SqlStore) -> None:
    arn = add_policy(store, "Tagged", tags=(Tag("team", "a"), Tag("cost", "1")))
    assert store.get_policy(arn).tags == (Tag("cost", "1"), Tag("team", "a"))
    store.tag_policy(arn, [Tag("team", "b")], limit=2)  # a replacement
    with pytest.raises(LimitReached):  # keys are case-sensitive (IAM's tagging rules): TEAM would be a third tag
        store.tag_policy(arn, [Tag("TEAM", "c")], limit=2)
    store.tag_policy(arn, [Tag("TEAM", "c")], limit=3)
    assert store.get_policy(arn).tags == (Tag("cost", "1"), Tag("TEAM", "c"), Tag("team", "b"))
    store.untag_policy(arn, ["team"])
    assert store.get_policy(arn).tags == (Tag("cost", "1"), Tag("TEAM", "c"))
    with pytest.raises(NotFound):
        store.tag_policy(arn + "x", [Tag("k", "v")])
    store.delete_policy(arn)  # its tags go with it
    add_policy(store, "Tagged")
    assert store.get_policy(arn).tags == ()


def test_a_role_with_inline_policies_is_told_apart(store: SqlStore) -> None:
    add_role(store, "Inline")
    store.put_role_policy(ACCOUNT, "Inline", "p", "{}")
    with pytest.raises(InlinePoliciesLeft):
        store.delete_role(ACCOUNT, "Inline")
    add_role(store, "Attached")
    store.attach_role_policy(ACCOUNT, "Attached", add_policy(store, "P"))
    with pytest.raises(Conflict) as info:
        store.delete_role(ACCOUNT, "Attached")
    assert not isinstance(info.value, InlinePoliciesLeft)


def test_roles_are_paged_by_the_database_in_python_order(store: SqlStore) -> None:
    """ListRoles pages in the database (a page of one loaded and built every role of the account). The order is the
    lower-cased names compared as Python compares them, which PostgreSQL's usual collations do not follow (they
    pass over punctuation): every role comes exactly once, in that order, however small the pages."""
    names = ["a_b", "a-b", "aB", "ab1", "a.b", "A@b", "a+b", "a=b", "a,b", "Zed", "b", "a1"]
    if store.engine.dialect.name == "postgresql":  # as in a database created with an ICU or en_US default collation
        with store.engine.begin() as db:
            db.execute(text('ALTER TABLE roles ALTER COLUMN name_lower TYPE varchar COLLATE "en-US-x-icu"'))
    for name in names:
        add_role(store, name)
    store.tag_role(ACCOUNT, "a_b", [Tag("team", "x")])
    for size in (1, 5, 100):
        seen: list[str] = []
        after = None
        while True:
            page = store.list_roles(ACCOUNT, after=after, limit=size)
            seen += [role.name for role in page]
            if len(page) < size:
                break
            after = page[-1].name.lower()
        assert seen == sorted(names, key=str.lower), size
    assert all(role.tags == () for role in store.list_roles(ACCOUNT))  # ListRoles leaves tags out: none are read


def test_listed_policies_carry_their_attachment_counts(store: SqlStore) -> None:
    add_role(store, "R1")
    add_role(store, "R2")
    used, unused = add_policy(store, "Used", tags=(Tag("k", "v"),)), add_policy(store, "Unused")
    store.attach_role_policy(ACCOUNT, "R1", used)
    store.attach_role_policy(ACCOUNT, "R2", used)
    listed = {policy.arn: policy.attachment_count for policy in store.list_policies(ACCOUNT)}
    assert listed == {used: 2, unused: 0}
    assert store.get_policy(used).attachment_count == 2 and store.get_policy(used).tags == (Tag("k", "v"),)

"""Concurrent writers on one store, on SQLite and PostgreSQL: a write that races another request's write gets the
store's own error (NotFound, Conflict) or succeeds, never a raw IntegrityError (a 500 at the API).

Each race is staged, not hoped for: a second connection holds its write uncommitted while the store call runs in
a thread and reaches the point where it must wait for it; then the second connection commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection

from samlfed.store import (
    Account,
    AlreadyExists,
    AlreadyRedeemed,
    Conflict,
    LimitReached,
    ManagedPolicy,
    NotFound,
    Redemption,
    Role,
    SamlProvider,
    SqlStore,
    Tag,
)
from samlfed.store import schema as t
from samlfed.store.sql import _hold_account, _redemption

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/Reader"
DOCUMENT = '{"Version":"2012-10-17","Statement":[]}'
ROLE_KEY = {"account_id": ACCOUNT, "role_name_lower": "developer"}


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = SqlStore.open(store_url)
    opened.create_account(Account(ACCOUNT, None, NOW))
    opened.create_role(Role(ACCOUNT, "Developer", "AROADEVELOPER00000000", "/", f"arn:aws:iam::{ACCOUNT}:role/Developer", DOCUMENT, 3600, NOW))
    opened.create_policy(ManagedPolicy(POLICY_ARN, ACCOUNT, "Reader", "ANPAREADER0000000000", "/", DOCUMENT, NOW, NOW))
    try:
        yield opened
    finally:
        opened.engine.dispose()


def race(store: SqlStore, other: Callable[[Connection], object], call: Callable[[], object]) -> object:
    """Run `call` while another connection holds `other`'s write uncommitted; commit it once `call` must be waiting.
    Returns what `call` returned, or the exception it raised."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # the outcome under test, whatever it is
            outcome.append(exc)

    with store.engine.connect() as connection:
        connection.begin()
        other(connection)
        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.5)  # long enough for `call` to read, then block on the lock `other` holds
        connection.commit()
        worker.join(10)
    assert outcome, "the store call did not finish"
    return outcome[0]


def delete_role(connection: Connection) -> None:
    connection.execute(delete(t.roles).where(t.roles.c.name_lower == "developer"))


def test_put_role_policy_racing_delete_role_is_not_found(store: SqlStore) -> None:
    outcome = race(store, delete_role, lambda: store.put_role_policy(ACCOUNT, "Developer", "Inline", DOCUMENT))
    assert isinstance(outcome, NotFound)


def test_attach_role_policy_racing_delete_role_is_not_found(store: SqlStore) -> None:
    outcome = race(store, delete_role, lambda: store.attach_role_policy(ACCOUNT, "Developer", POLICY_ARN))
    assert isinstance(outcome, NotFound)
    assert store.get_policy(POLICY_ARN).attachment_count == 0


def test_tag_role_racing_delete_role_is_not_found(store: SqlStore) -> None:
    outcome = race(store, delete_role, lambda: store.tag_role(ACCOUNT, "Developer", [Tag("team", "a")]))
    assert isinstance(outcome, NotFound)


def test_attach_racing_delete_policy_is_not_found(store: SqlStore) -> None:
    def delete_policy(connection: Connection) -> None:
        connection.execute(delete(t.managed_policies).where(t.managed_policies.c.arn == POLICY_ARN))

    outcome = race(store, delete_policy, lambda: store.attach_role_policy(ACCOUNT, "Developer", POLICY_ARN))
    assert isinstance(outcome, NotFound)


def test_delete_policy_racing_attach_is_a_conflict(store: SqlStore) -> None:
    def attach(connection: Connection) -> None:
        connection.execute(insert(t.role_policy_attachments).values(**ROLE_KEY, policy_arn=POLICY_ARN))

    outcome = race(store, attach, lambda: store.delete_policy(POLICY_ARN))
    assert isinstance(outcome, Conflict)
    assert store.get_policy(POLICY_ARN).attachment_count == 1


def test_the_same_attachment_twice_at_once_is_one_attachment(store: SqlStore) -> None:
    def attach(connection: Connection) -> None:
        connection.execute(insert(t.role_policy_attachments).values(**ROLE_KEY, policy_arn=POLICY_ARN))

    assert race(store, attach, lambda: store.attach_role_policy(ACCOUNT, "Developer", POLICY_ARN)) is None
    assert [p.arn for p in store.list_attached_role_policies(ACCOUNT, "Developer")] == [POLICY_ARN]


def test_the_same_inline_policy_twice_at_once_keeps_the_later(store: SqlStore) -> None:
    def put(connection: Connection) -> None:
        connection.execute(insert(t.role_policies).values(**ROLE_KEY, policy_name="Inline", document="{}"))

    assert race(store, put, lambda: store.put_role_policy(ACCOUNT, "Developer", "Inline", DOCUMENT)) is None
    assert store.role_policy_documents(ACCOUNT, "Developer") == [("Inline", DOCUMENT)]


def test_the_same_tag_twice_at_once_keeps_the_later(store: SqlStore) -> None:
    def tag(connection: Connection) -> None:
        connection.execute(insert(t.role_tags).values(**ROLE_KEY, key_lower="team", key="team", value="a"))

    assert race(store, tag, lambda: store.tag_role(ACCOUNT, "Developer", [Tag("Team", "b")])) is None
    assert store.get_role(ACCOUNT, "Developer").tags == (Tag("Team", "b"),)


def test_roles_differing_only_in_case_at_once_one_wins(store: SqlStore) -> None:
    def create(connection: Connection) -> None:
        connection.execute(insert(t.roles).values(
            account_id=ACCOUNT, name_lower="prodrole", name="PRODROLE", role_id="AROAPRODROLE000000000", path="/",
            arn=f"arn:aws:iam::{ACCOUNT}:role/PRODROLE", trust_policy=DOCUMENT, max_session_duration=3600, created_at=NOW,
        ))

    second = Role(ACCOUNT, "prodrole", "AROAPRODROLE000000001", "/", f"arn:aws:iam::{ACCOUNT}:role/prodrole", DOCUMENT, 3600, NOW)
    assert isinstance(race(store, create, lambda: store.create_role(second)), AlreadyExists)
    assert store.get_role(ACCOUNT, "prodrole").name == "PRODROLE"


def test_delete_role_racing_put_role_policy_is_a_conflict(store: SqlStore) -> None:
    """The policy put first must stop the delete (AWS: DeleteConflict), not vanish with the role."""

    def put(connection: Connection) -> None:
        connection.execute(insert(t.role_policies).values(**ROLE_KEY, policy_name="Inline", document=DOCUMENT))

    assert isinstance(race(store, put, lambda: store.delete_role(ACCOUNT, "Developer")), Conflict)
    assert store.role_policy_documents(ACCOUNT, "Developer") == [("Inline", DOCUMENT)]


def test_delete_role_racing_attach_is_a_conflict(store: SqlStore) -> None:
    def attach(connection: Connection) -> None:
        connection.execute(insert(t.role_policy_attachments).values(**ROLE_KEY, policy_arn=POLICY_ARN))

    assert isinstance(race(store, attach, lambda: store.delete_role(ACCOUNT, "Developer")), Conflict)
    assert store.get_policy(POLICY_ARN).attachment_count == 1


def policy(name: str, path: str = "/") -> ManagedPolicy:
    """A policy whose ARN and id are its own: only the name can collide."""
    return ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy{path}{name}", ACCOUNT, name, f"ANPA{path}{name}", path, DOCUMENT, NOW, NOW)


@pytest.mark.parametrize(("name", "path"), [("READER", "/"), ("reader", "/team/"), ("Reader", "/team/")])
def test_policy_names_are_unique_in_the_account_whatever_the_case_or_path(store: SqlStore, name: str, path: str) -> None:
    with pytest.raises(AlreadyExists):
        store.create_policy(policy(name, path))
    assert [p.arn for p in store.list_policies(ACCOUNT)] == [POLICY_ARN]


def test_policies_differing_only_in_case_at_once_one_wins(store: SqlStore) -> None:
    def create(connection: Connection) -> None:  # as another node's create_policy does
        _hold_account(connection, ACCOUNT)
        connection.execute(insert(t.managed_policies).values(
            arn=f"arn:aws:iam::{ACCOUNT}:policy/Writer", account_id=ACCOUNT, name="Writer", policy_id="ANPAWRITER0000000000",
            path="/", document=DOCUMENT, created_at=NOW, updated_at=NOW,
        ))

    assert isinstance(race(store, create, lambda: store.create_policy(policy("WRITER", "/ops/"))), AlreadyExists)
    assert sorted(p.name for p in store.list_policies(ACCOUNT)) == ["Reader", "Writer"]


def test_one_redemption_at_once_on_two_connections(store: SqlStore) -> None:
    """strict_replay across nodes: the second use, waiting on the first's uncommitted record, is refused."""
    later = datetime(2026, 11, 24, 12, 10, tzinfo=UTC)

    def redeem(connection: Connection) -> None:
        connection.execute(insert(t.redeemed_assertions).values(redemption=_redemption("idp", "_a1", "role"), expires_at=later))

    assert race(store, redeem, lambda: store.redeem_once("idp", "_a1", "role", expires_at=later, now=NOW)) is False


def test_two_sessions_redeeming_one_response_at_once_only_one_is_stored(store: SqlStore) -> None:
    """Two posts of the same one-time response (two nodes): the session waiting on the other's uncommitted use of it
    is refused, and not stored."""
    later = datetime(2026, 11, 24, 12, 10, tzinfo=UTC)
    use = Redemption("idp", "_a1", "role", later)

    def first_post(connection: Connection) -> None:
        connection.execute(insert(t.redeemed_assertions).values(redemption=_redemption("idp", "_a1", "role"), expires_at=later))
        connection.execute(insert(t.console_sessions).values(session_hash="a" * 64, sealed_state=b"first", expires_at=later))

    outcome = race(store, first_post, lambda: store.put_console_session("b" * 64, b"second", expires_at=later, now=NOW, redeeming=[use]))
    assert isinstance(outcome, AlreadyRedeemed) and outcome.use == use
    assert store.get_console_session("a" * 64, now=NOW) == b"first" and store.get_console_session("b" * 64, now=NOW) is None


def test_the_same_console_session_put_twice_at_once_keeps_the_later(store: SqlStore) -> None:
    later = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)

    def put(connection: Connection) -> None:
        connection.execute(insert(t.console_sessions).values(session_hash="h" * 64, sealed_state=b"first", expires_at=later))

    assert race(store, put, lambda: store.put_console_session("h" * 64, b"second", expires_at=later, now=NOW)) is None
    assert store.get_console_session("h" * 64, now=NOW) == b"second"


def test_the_same_provider_tag_twice_at_once_keeps_the_later(store: SqlStore) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"
    store.create_provider(SamlProvider(arn, ACCOUNT, "Corp", "ABCDEFGHIJKLMNOPQRSTUV", "<md/>", None, NOW))

    def tag(connection: Connection) -> None:
        connection.execute(insert(t.provider_tags).values(arn=arn, key_lower="team", key="Team", value="a"))

    assert race(store, tag, lambda: store.tag_provider(arn, [Tag("Team", "b")])) is None
    assert store.get_provider(arn).tags == (Tag("Team", "b"),)


def test_a_quota_holds_when_the_last_free_places_are_taken_at_once(store: SqlStore) -> None:
    """The account holds one role and may hold two: of two creates at once, one fits and the other is refused
    (the count is taken in the inserting transaction, under the account's lock, not before it)."""

    def create_under_the_same_lock(connection: Connection) -> None:  # what a racing create_role does
        _hold_account(connection, ACCOUNT)
        connection.execute(insert(t.roles).values(
            account_id=ACCOUNT, name_lower="first", name="First", role_id="AROAFIRST000000000000", path="/",
            arn=f"arn:aws:iam::{ACCOUNT}:role/First", trust_policy=DOCUMENT, max_session_duration=3600, created_at=NOW,
        ))

    second = Role(ACCOUNT, "Second", "AROASECOND00000000000", "/", f"arn:aws:iam::{ACCOUNT}:role/Second", DOCUMENT, 3600, NOW)
    assert isinstance(race(store, create_under_the_same_lock, lambda: store.create_role(second, limit=2)), LimitReached)
    assert sorted(role.name for role in store.list_roles(ACCOUNT)) == ["Developer", "First"]
    third = Role(ACCOUNT, "Third", "AROATHIRD000000000000", "/", f"arn:aws:iam::{ACCOUNT}:role/Third", DOCUMENT, 3600, NOW)
    store.create_role(third, limit=4)  # below its limit, a create goes through

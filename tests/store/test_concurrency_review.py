"""IAM calls racing another node's write on a real PostgreSQL: each must read what it checks under the lock the
other node's write holds, so that the two count and write one after the other.

Each race is staged, not hoped for: a second connection (the other node) holds its write uncommitted while the IAM
call runs in a thread; the second connection commits once PostgreSQL reports the call waiting for its locks, or
once the call has finished without waiting (the bug: it checked and wrote around the other node's write).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from saml_factory import ENTITY_ID, signer
from sqlalchemy import create_engine, delete, insert, make_url, select, update
from sqlalchemy.engine import Connection

from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_account
from samlfed.iam.managed_policies import create_policy, delete_policy, get_policy
from samlfed.iam.provider_options import set_validation_options
from samlfed.iam.providers import create_saml_provider, get_saml_provider, tag_saml_provider
from samlfed.iam.roles import create_role, get_role, list_roles, set_permissions_boundary, tag_role
from samlfed.masterkey import MasterKey
from samlfed.saml.metadata import build_idp_metadata
from samlfed.store import SqlStore, Tag
from samlfed.store import schema as t

ACCOUNT = "111111111111"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/IdP"}, "Action": "sts:AssumeRoleWithSAML"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
ROLE_KEY = {"account_id": ACCOUNT, "role_name_lower": "developer"}
POLLS = 3000
"""At most this many looks (10 ms apart) for the call to wait or finish: a bound, never reached when it works."""


@contextmanager
def scratch_node(url: str) -> Iterator[ServiceContext]:
    """A samlfed node on the scratch database `url`, holding ACCOUNT."""
    store = SqlStore.open(url)
    try:
        context = ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32)), identity_cache_seconds=0)
        create_account(context, ACCOUNT)
        yield context
    finally:
        store.engine.dispose()


def alter_database(url: str, setting: str, value: str) -> None:
    """ALTER DATABASE … SET on the scratch database `url`: what a DBA sets for every later session."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.exec_driver_sql(f"ALTER DATABASE \"{make_url(url).database}\" SET {setting} = '{value}'")
    finally:
        admin.dispose()


@pytest.fixture
def ctx(postgres_database: str) -> Iterator[ServiceContext]:
    with scratch_node(postgres_database) as context:
        create_role(context, ACCOUNT, "Developer", TRUST, tags=[Tag(f"base{i}", "v") for i in range(40)])
        yield context


def while_other_node_writes(
    url: str, other: Callable[[Connection], object], call: Callable[[], object], then: Callable[[Connection], object] = lambda _: None,
) -> object:
    """Run `call` while another connection holds `other`'s write uncommitted, and once the call waits for it (or has
    finished), writes `then` too before it commits; returns what `call` returned or raised."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # the outcome under test, whatever it is
            outcome.append(exc)

    engine = create_engine(url)
    try:
        with engine.connect() as node, engine.connect() as watcher:
            node.begin()
            other(node)
            pid = node.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            worker = threading.Thread(target=run)
            worker.start()
            for _ in range(POLLS):
                waiting = watcher.exec_driver_sql(f"SELECT count(*) FROM pg_stat_activity WHERE {pid} = ANY(pg_blocking_pids(pid))").scalar_one()
                watcher.rollback()  # pg_stat_activity is read once per transaction
                if waiting or not worker.is_alive():
                    break
                time.sleep(0.01)
            then(node)
            node.commit()
            worker.join()
    finally:
        engine.dispose()
    assert outcome, "the call did not finish"
    return outcome[0]


def error_code(outcome: object) -> str | None:
    return outcome.code if isinstance(outcome, ServiceError) else None


def test_tag_role_counts_under_the_lock_another_tag_role_holds(ctx: ServiceContext, postgres_database: str) -> None:
    tag_role_racing_another_node(ctx, postgres_database)


def tag_role_racing_another_node(ctx: ServiceContext, url: str) -> None:
    """TagRole of 10 tags on the role of 40 while another node adds 10: one of the two is over the limit of 50."""
    def tag_ten(node: Connection) -> None:  # what TagRole does: lock the role, count, add
        node.execute(select(t.roles.c.role_id).where(t.roles.c.name_lower == "developer").with_for_update())
        node.execute(insert(t.role_tags), [{**ROLE_KEY, "key_lower": f"n{i}", "key": f"n{i}", "value": "v"} for i in range(10)])

    outcome = while_other_node_writes(url, tag_ten, lambda: tag_role(ctx, ACCOUNT, "Developer", [Tag(f"m{i}", "v") for i in range(10)]))
    assert error_code(outcome) == "LimitExceeded", outcome
    assert len(get_role(ctx, ACCOUNT, "Developer").tags) == 50


def test_tag_saml_provider_counts_under_the_lock_another_tag_holds(ctx: ServiceContext, postgres_database: str) -> None:
    document = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    arn = create_saml_provider(ctx, ACCOUNT, "IdP", document, tags=[Tag(f"base{i}", "v") for i in range(40)]).arn

    def tag_ten(node: Connection) -> None:
        node.execute(select(t.saml_providers.c.arn).where(t.saml_providers.c.arn == arn).with_for_update())
        node.execute(insert(t.provider_tags), [{"arn": arn, "key_lower": f"n{i}", "key": f"n{i}", "value": "v"} for i in range(10)])

    outcome = while_other_node_writes(postgres_database, tag_ten, lambda: tag_saml_provider(ctx, ACCOUNT, arn, [Tag(f"m{i}", "v") for i in range(10)]))
    assert error_code(outcome) == "LimitExceeded", outcome
    assert len(get_saml_provider(ctx, ACCOUNT, arn).tags) == 50


def test_validation_options_changed_at_once_on_two_nodes_both_stay(ctx: ServiceContext, postgres_database: str) -> None:
    document = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    arn = create_saml_provider(ctx, ACCOUNT, "IdP", document).arn
    set_validation_options(ctx, ACCOUNT, arn, {"allow_legacy_algorithms": True})

    def require_bounds(node: Connection) -> None:  # another node turns on require_condition_bounds
        providers = t.saml_providers
        node.execute(select(providers.c.arn).where(providers.c.arn == arn).with_for_update())
        node.execute(update(providers).where(providers.c.arn == arn).values(validation_options={"allow_legacy_algorithms": True, "require_condition_bounds": True}))

    outcome = while_other_node_writes(postgres_database, require_bounds, lambda: set_validation_options(ctx, ACCOUNT, arn, {"allow_legacy_algorithms": False}))
    assert not isinstance(outcome, Exception), outcome
    assert ctx.store.get_provider(arn).validation_options == {"require_condition_bounds": True}


@pytest.fixture
def boundary(ctx: ServiceContext) -> str:
    return create_policy(ctx, ACCOUNT, "Boundary", POLICY).arn


def delete_the_policy(arn: str) -> Callable[[Connection], None]:
    def delete_policy(node: Connection) -> None:  # what DeletePolicy does: lock the policy, see no use, delete
        node.execute(select(t.managed_policies.c.arn).where(t.managed_policies.c.arn == arn).with_for_update())
        node.execute(delete(t.managed_policies).where(t.managed_policies.c.arn == arn))

    return delete_policy


def test_put_boundary_racing_delete_policy_finds_the_policy_gone(ctx: ServiceContext, postgres_database: str, boundary: str) -> None:
    outcome = while_other_node_writes(postgres_database, delete_the_policy(boundary), lambda: set_permissions_boundary(ctx, ACCOUNT, "Developer", boundary))
    assert error_code(outcome) == "NoSuchEntity", outcome
    assert get_role(ctx, ACCOUNT, "Developer").permissions_boundary is None


def test_create_role_with_a_boundary_racing_delete_policy_finds_the_policy_gone(ctx: ServiceContext, postgres_database: str, boundary: str) -> None:
    outcome = while_other_node_writes(postgres_database, delete_the_policy(boundary), lambda: create_role(ctx, ACCOUNT, "Bounded", TRUST, permissions_boundary=boundary))
    assert error_code(outcome) == "NoSuchEntity", outcome
    assert [role.name for role in list_roles(ctx, ACCOUNT)] == ["Developer"]


def test_delete_policy_racing_put_boundary_sees_the_boundary(ctx: ServiceContext, postgres_database: str, boundary: str) -> None:
    def put_boundary(node: Connection) -> None:  # what PutRolePermissionsBoundary does: hold the policy, set it
        node.execute(select(t.managed_policies.c.arn).where(t.managed_policies.c.arn == boundary).with_for_update(read=True))
        node.execute(update(t.roles).where(t.roles.c.name_lower == "developer").values(permissions_boundary=boundary))

    outcome = while_other_node_writes(postgres_database, put_boundary, lambda: delete_policy(ctx, ACCOUNT, boundary))
    assert error_code(outcome) == "DeleteConflict", outcome
    assert get_policy(ctx, ACCOUNT, boundary).arn == boundary


def test_create_policy_racing_a_writer_that_skips_the_name_check_is_refused(ctx: ServiceContext, postgres_database: str) -> None:
    """A node that inserts a policy without CreatePolicy's check under the account's lock (an older samlfed on the
    upgraded database) cannot have WRITER's namesake beside it: the database's index makes CreatePolicy wait for it."""
    def insert_writer(node: Connection) -> None:  # no account lock, no name check: the row alone
        node.execute(insert(t.managed_policies).values(
            arn=f"arn:aws:iam::{ACCOUNT}:policy/Writer", account_id=ACCOUNT, name="Writer", policy_id="ANPAWRITER0000000000",
            path="/", document=POLICY, created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
        ))

    outcome = while_other_node_writes(postgres_database, insert_writer, lambda: create_policy(ctx, ACCOUNT, "WRITER", POLICY, path="/ops/"))
    assert isinstance(outcome, ServiceError), outcome
    assert (outcome.code, outcome.message, outcome.status) == ("EntityAlreadyExists", "A policy called WRITER already exists. Duplicate names are not allowed.", 409)
    with ctx.store.engine.connect() as db:
        assert db.execute(select(t.managed_policies.c.name).where(t.managed_policies.c.account_id == ACCOUNT)).scalars().all() == ["Writer"]

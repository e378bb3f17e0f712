"""Listing and paging cost a fixed number of statements, however many items the account holds (on SQLite and
PostgreSQL): ListSAMLProviders, GetAccountAuthorizationDetails and ListPolicies read a page without a read per item,
ListPolicies builds only the page's policies, and the expiry sweep of a sign-in is bounded. Counted with a
before_cursor_execute listener, never timed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from postgres_scratch import fresh_store
from sql_statements import statements
from sqlalchemy import event, func, insert, select

from samlfed.api.auth import Administrator
from samlfed.api.handlers.policies import list_policies as list_policies_handler
from samlfed.api.protocol import QueryRequest
from samlfed.context import ServiceContext
from samlfed.iam import authorization_details
from samlfed.iam.managed_policies import boundary_uses, list_policies
from samlfed.iam.providers import list_saml_providers
from samlfed.iam.roles import list_roles
from samlfed.masterkey import MasterKey
from samlfed.store import Account, ManagedPolicy, Role, SamlProvider, SqlStore, Tag, schema
from samlfed.store import sql as store_sql

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
OTHER = "222222222222"
TRUST = '{"Version":"2012-10-17","Statement":[]}'
_policy_ids = count()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with fresh_store(request.param, tmp_path) as store:
        store.create_account(Account(ACCOUNT, None, NOW))
        store.create_account(Account(OTHER, None, NOW))
        yield store


def context(store: SqlStore) -> ServiceContext:
    return ServiceContext(store=store, master=MasterKey(b"k" * 32))


def whole_listing(ctx: ServiceContext, account_id: str, filters: list[str]) -> list[Role | ManagedPolicy]:
    """The reference GetAccountAuthorizationDetails paged over before it paged in the database: everything the filter
    selects, read whole."""
    selected: list[Role | ManagedPolicy] = []
    if not filters or "Role" in filters:
        selected += list_roles(ctx, account_id)
    if not filters or "LocalManagedPolicy" in filters:
        selected += list_policies(ctx, account_id)
    return selected


# --- ListSAMLProviders ------------------------------------------------------------------------------


def add_providers(store: SqlStore, first: int, last: int, account_id: str = ACCOUNT) -> None:
    for i in range(first, last):
        store.create_provider(SamlProvider(
            arn=f"arn:aws:iam::{account_id}:saml-provider/IdP{i:03d}", account_id=account_id, name=f"IdP{i:03d}", uuid=f"{account_id}U{i:021d}",
            metadata_document="<md>" + "x" * 20_000 + "</md>", valid_until=NOW + timedelta(days=i) if i % 2 else None, created_at=NOW + timedelta(seconds=i),
            tags=(Tag("team", f"t{i}"), Tag("Env", "prod")),
        ))


def test_list_saml_providers_is_one_statement_that_reads_no_metadata(store: SqlStore) -> None:
    ctx = context(store)
    add_providers(store, 0, 2, OTHER)
    counts = []
    for first, last in ((0, 3), (3, 30)):
        add_providers(store, first, last)
        with statements(store) as seen:
            listed = list_saml_providers(ctx, ACCOUNT)
        assert not any("metadata_document" in statement for statement in seen), seen
        counts.append(len(seen))
        whole = [store.get_provider(p.arn) for p in listed]
        assert [(p.arn, p.valid_until, p.created_at) for p in listed] == [(p.arn, p.valid_until, p.created_at) for p in whole]
        assert [p.arn for p in listed] == sorted(f"arn:aws:iam::{ACCOUNT}:saml-provider/IdP{i:03d}" for i in range(last))
        assert len(listed) == last
    assert counts == [1, 1]


def test_which_of_many_provider_arns_exist_is_one_statement(store: SqlStore) -> None:
    """What a console sign-in asks of the providers its response names (a hundred, most perhaps no provider)."""
    add_providers(store, 0, 3)
    add_providers(store, 0, 1, OTHER)
    named = [f"arn:aws:iam::{ACCOUNT}:saml-provider/IdP{i:03d}" for i in range(100)]
    with statements(store) as seen:
        existing = store.existing_provider_arns(named)
    assert existing == frozenset(named[:3]) and len(seen) == 1
    assert store.existing_provider_arns([]) == frozenset()


def test_list_saml_providers_reads_an_index_not_the_rows_that_hold_the_metadata(store: SqlStore) -> None:
    """Columns stored after a metadata document are read through its pages: the listing must not touch the table."""
    add_providers(store, 0, 3)
    seen: list[tuple[str, object]] = []

    def note(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        store.list_provider_summaries(ACCOUNT)
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    [(statement, parameters)] = seen
    with store.engine.connect() as db:
        if db.dialect.name == "sqlite":
            plan = " / ".join(row[-1] for row in db.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "USING COVERING INDEX ix_saml_providers_listing" in plan and "TEMP B-TREE" not in plan, plan
        else:
            db.exec_driver_sql("SET enable_seqscan = off")  # three rows: the planner would rather read the table
            plan = " / ".join(row[0] for row in db.exec_driver_sql("EXPLAIN " + statement, parameters))
            assert "Index Only Scan using ix_saml_providers_listing" in plan and "Sort" not in plan, plan


# --- GetAccountAuthorizationDetails -----------------------------------------------------------------


def policy_arn(name: str, account_id: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account_id}:policy/{name}"


def add_policy(store: SqlStore, name: str, account_id: str = ACCOUNT, path: str = "/") -> str:
    arn = policy_arn(name, account_id)
    store.create_policy(ManagedPolicy(
        arn=arn, account_id=account_id, name=name, policy_id=f"ANPA{next(_policy_ids):017d}", path=path,
        document='{"Version":"2012-10-17","Statement":[]}', created_at=NOW, updated_at=NOW,
    ))
    return arn


def add_world(store: SqlStore, first: int, last: int) -> None:
    """Roles with tags, two inline policies, two attached policies, a boundary and a last use (every other one), and
    policies with two versions and a tag."""
    for i in range(first, last):
        arn = add_policy(store, f"Pol{i:03d}")
        store.create_policy_version(arn, '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}', now=NOW + timedelta(seconds=i), set_as_default=i % 2 == 0)
        store.tag_policy(arn, [Tag("k", f"v{i}")])
    for i in range(first, last):
        name = f"Role{i:03d}"
        store.create_role(Role(
            account_id=ACCOUNT, name=name, role_id=f"AROA{i:017d}", path="/", arn=f"arn:aws:iam::{ACCOUNT}:role/{name}", trust_policy=TRUST,
            max_session_duration=3600, created_at=NOW, tags=(Tag("b", "2"), Tag("A", "1")),
            permissions_boundary=policy_arn(f"Pol{i:03d}") if i % 3 == 0 else None,
        ))
        for inline in ("zeta", "alpha"):
            store.put_role_policy(ACCOUNT, name, inline, f'{{"Version":"2012-10-17","Statement":[],"Id":"{inline}{i}"}}')
        for j in (i, (i + 1) % last):
            store.attach_role_policy(ACCOUNT, name, policy_arn(f"Pol{j:03d}"))
        if i % 2:
            store.record_role_use(f"AROA{i:017d}", NOW + timedelta(minutes=i), "eu-west-1")


def one_by_one(ctx: ServiceContext, page: list) -> tuple[list, list]:  # type: ignore[type-arg]
    """What the page's details were read as before they were batched: item by item."""
    store, uses = ctx.store, boundary_uses(ctx, ACCOUNT)
    roles, policies = [], []
    for item in page:
        if isinstance(item, Role):
            role = store.get_role(ACCOUNT, item.name)
            attached = sorted(store.list_attached_role_policies(ACCOUNT, item.name), key=lambda p: p.name.lower())
            roles.append(authorization_details.RoleDetail(
                role, store.role_policy_documents(ACCOUNT, item.name), attached, store.get_role_last_used(role.role_id), role.trust_policy,  # names no role
            ))
        else:
            policies.append(authorization_details.PolicyDetail(item, uses[item.arn], store.list_policy_versions(item.arn)))
    return roles, policies


def test_authorization_details_read_a_page_in_a_fixed_number_of_statements(store: SqlStore) -> None:
    ctx = context(store)
    add_policy(store, "Elsewhere", OTHER)
    counts = []
    for first, last in ((0, 3), (3, 30)):
        add_world(store, first, last)
        page = whole_listing(ctx, ACCOUNT, [])
        with statements(store) as seen:
            roles, policies = authorization_details.details(ctx, ACCOUNT, page)
        counts.append(len(seen))
        assert (roles, policies) == one_by_one(ctx, page)
        assert len(roles) == len(policies) == last
        assert roles[1].last_used is not None and roles[0].role.tags and roles[0].attached and roles[0].inline_policies
    assert counts[0] == counts[1] <= 12


def test_authorization_details_leave_out_what_is_gone_and_read_nothing_for_an_empty_page(store: SqlStore) -> None:
    ctx = context(store)
    add_world(store, 0, 4)
    page = whole_listing(ctx, ACCOUNT, [])
    for name in ("Role001", "Role002"):
        for inline in ("zeta", "alpha"):
            store.delete_role_policy(ACCOUNT, name, inline)
        for attached in store.list_attached_role_policies(ACCOUNT, name):
            store.detach_role_policy(ACCOUNT, name, attached.arn)
        store.delete_role(ACCOUNT, name)
    store.create_policy_version(policy_arn("Pol000"), "{}", now=NOW, set_as_default=False)
    roles, policies = authorization_details.details(ctx, ACCOUNT, page)
    assert [r.role.name for r in roles] == ["Role000", "Role003"]
    assert (roles, policies) == one_by_one(ctx, [item for item in page if item.name not in ("Role001", "Role002")])
    assert authorization_details.details(ctx, ACCOUNT, []) == ([], [])


# --- ListPolicies -----------------------------------------------------------------------------------

NAMES = ["alpha", "Beta", "_under", "Zed", "a-b", "A.c", "a+d", "a=e", "a,f", "a@g", "9lives", "Mid_Name", "gamma", "DELTA"]


def list_page(ctx: ServiceContext, **params: str) -> dict:  # type: ignore[type-arg]
    return list_policies_handler(ctx, Administrator(ACCOUNT, "AKIAEXAMPLE"), QueryRequest("ListPolicies", "2010-05-08", params))


def walk(ctx: ServiceContext, **params: str) -> list[str]:
    names, marker = [], None
    while True:
        answer = list_page(ctx, **params, **({"Marker": marker} if marker else {}))
        names += [p["PolicyName"] for p in answer["Policies"]]
        assert (answer["Marker"] is not None) == answer["IsTruncated"]
        if not answer["IsTruncated"]:
            return names
        marker = answer["Marker"]


def test_list_policies_pages_in_the_database_in_lower_cased_name_order(store: SqlStore) -> None:
    ctx = context(store)
    add_policy(store, "aaa", OTHER)
    for name in NAMES:
        add_policy(store, name, path="/team/" if name[0] in "aA" else "/")
    bounded = sorted(NAMES, key=str.lower)[::3]
    attached = sorted(NAMES, key=str.lower)[1::4]
    for i, name in enumerate(bounded + attached):
        role = f"R{i}"
        store.create_role(Role(
            account_id=ACCOUNT, name=role, role_id=f"AROA{i:017d}", path="/", arn=f"arn:aws:iam::{ACCOUNT}:role/{role}", trust_policy=TRUST,
            max_session_duration=3600, created_at=NOW, permissions_boundary=policy_arn(name) if name in bounded and i < len(bounded) else None,
        ))
        if i >= len(bounded):
            store.attach_role_policy(ACCOUNT, role, policy_arn(name))
    by_name = sorted(NAMES, key=str.lower)
    for size in ("1", "2", "5", "100"):
        assert walk(ctx, MaxItems=size) == by_name
        assert walk(ctx, MaxItems=size, OnlyAttached="true") == sorted(attached, key=str.lower)
        assert walk(ctx, MaxItems=size, PolicyUsageFilter="PermissionsPolicy") == sorted(attached, key=str.lower)
        assert walk(ctx, MaxItems=size, PolicyUsageFilter="PermissionsBoundary") == sorted(bounded, key=str.lower)
        assert walk(ctx, MaxItems=size, PathPrefix="/team/") == [n for n in by_name if n[0] in "aA"]
    assert walk(ctx, Scope="AWS") == []
    first = list_page(ctx, MaxItems="3")
    counts = {p["PolicyName"]: (p["AttachmentCount"], p["PermissionsBoundaryUsageCount"]) for p in list_page(ctx, MaxItems="100")["Policies"]}
    assert all(counts[name] == ((name in attached) * 1, (name in bounded) * 1) for name in NAMES)
    assert [p["PolicyName"] for p in first["Policies"]] == by_name[:3] and first["IsTruncated"]


def test_a_list_policies_page_builds_only_its_own_policies(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(store)
    built: list[str] = []
    policy_of = SqlStore._policy_of

    def counting(row, attachment_count, tags):  # type: ignore[no-untyped-def]
        built.append(row.arn)
        return policy_of(row, attachment_count, tags)

    monkeypatch.setattr(SqlStore, "_policy_of", staticmethod(counting))
    runs = []
    for first, last in ((0, 3), (3, 30)):
        for i in range(first, last):
            add_policy(store, f"Pol{i:03d}")
        built.clear()
        with statements(store) as seen:
            answer = list_page(ctx, MaxItems="2")
        runs.append((len(seen), len(built)))
        assert [p["PolicyName"] for p in answer["Policies"]] == ["Pol000", "Pol001"] and answer["IsTruncated"]
    assert runs[0] == runs[1] and runs[1][1] <= 3


# --- the expiry sweep of sign-ins ---------------------------------------------------------------------


def rows(store: SqlStore, table) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(expired, live) rows of `table` at NOW."""
    with store.engine.connect() as db:
        expired = db.execute(select(func.count()).select_from(table).where(table.c.expires_at < NOW)).scalar_one()
        return expired, db.execute(select(func.count()).select_from(table)).scalar_one() - expired


def backlog(store: SqlStore, table, key: str, expired: int, live: int, **extra: object) -> None:  # type: ignore[no-untyped-def]
    with store.engine.begin() as db:
        db.execute(insert(table), [{key: f"{'e' if i < expired else 'l'}{i:063d}", "expires_at": NOW + (timedelta(minutes=5) if i >= expired else -timedelta(seconds=i + 1)), **extra}
                                   for i in range(expired + live)])


def test_a_redemption_sweeps_a_bounded_batch_and_the_backlog_drains(store: SqlStore) -> None:
    table = schema.redeemed_assertions
    backlog(store, table, "redemption", 1_200, 40)
    counts = []
    now = NOW + store_sql.REPLAY_RECORD_MARGIN  # when the backlog's records are no longer kept
    for i, left in enumerate((700, 200, 0, 0)):
        with statements(store) as seen:
            assert store.redeem_once("issuer", f"id{i}", "role", expires_at=NOW + timedelta(minutes=5), now=now)
        counts.append(len(seen))
        assert rows(store, table) == (left, 40 + i + 1)
    assert counts[0] == counts[1] == counts[2] == counts[3] + 1  # a batch to delete: one statement more, never more per row
    assert not store.redeem_once("issuer", "id0", "role", expires_at=NOW + timedelta(minutes=5), now=now)  # live: a replay


def test_an_expired_redemption_never_blocks_one_the_sweep_has_not_reached(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    table = schema.redeemed_assertions
    kept_until = NOW - timedelta(seconds=1)
    assert store.redeem_once("issuer", "id", "role", expires_at=kept_until - store_sql.REPLAY_RECORD_MARGIN, now=NOW - timedelta(minutes=10))
    backlog(store, table, "redemption", 10, 0)
    monkeypatch.setattr(store_sql, "EXPIRED_SWEEP_BATCH", 0)  # the sweep reaches nothing
    assert not store.was_redeemed("issuer", "id", "role", now=NOW)
    assert store.redeem_once("issuer", "id", "role", expires_at=NOW + timedelta(minutes=5), now=NOW)
    assert not store.redeem_once("issuer", "id", "role", expires_at=NOW + timedelta(minutes=5), now=NOW)
    assert rows(store, table) == (10, 1)


def test_a_console_session_sweeps_a_bounded_batch_and_the_backlog_drains(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    table = schema.console_sessions
    backlog(store, table, "session_hash", 1_200, 40, sealed_state=b"s")
    for i, left in enumerate((700, 200, 0)):
        store.put_console_session(f"h{i}", b"state", expires_at=NOW + timedelta(minutes=5), now=NOW)
        assert rows(store, table) == (left, 40 + i + 1)
    store.put_console_session("h0", b"again", expires_at=NOW + timedelta(minutes=5), now=NOW)  # replaced, not added
    assert rows(store, table) == (0, 43) and store.get_console_session("h0", now=NOW) == b"again"
    store.put_console_session("old", b"x", expires_at=NOW - timedelta(seconds=1), now=NOW - timedelta(minutes=1))
    monkeypatch.setattr(store_sql, "EXPIRED_SWEEP_BATCH", 0)
    assert store.get_console_session("old", now=NOW) is None  # expired, not yet swept: never answered
    store.put_console_session("old", b"new", expires_at=NOW + timedelta(minutes=5), now=NOW)
    assert store.get_console_session("old", now=NOW) == b"new"


@pytest.mark.parametrize("filters", [[], ["Role"], ["LocalManagedPolicy"], ["User"], ["Role", "LocalManagedPolicy"]])
def test_authorization_details_pages_as_the_whole_listing_sorted_would(store: SqlStore, filters: list[str]) -> None:
    ctx = context(store)
    add_world(store, 0, 7)
    add_policy(store, "alpha")
    add_policy(store, "Zulu")
    whole = sorted(whole_listing(ctx, ACCOUNT, filters), key=authorization_details.sort_key)
    keys = [authorization_details.sort_key(item) for item in whole]
    for limit in (1, 3, 7, 100):
        walked, after = [], None
        while True:
            page, more = authorization_details.page(ctx, ACCOUNT, filters, after=after, limit=limit)
            walked += page
            assert len(page) <= limit and more == (len(walked) < len(whole))
            if not more:
                break
            after = authorization_details.sort_key(page[-1])
        assert walked == whole
    for after in ("", "0", "1", "1role003", "1zzz", "2", "2pol003", "3"):  # any key a Marker can hold: those after it
        page, more = authorization_details.page(ctx, ACCOUNT, filters, after=after, limit=1000)
        assert (page, more) == ([item for item, key in zip(whole, keys, strict=True) if key > after], False)


def test_an_authorization_details_page_reads_only_as_far_as_it_needs(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(store)
    built: list[str] = []
    role_of, policy_of = SqlStore._role_of, SqlStore._policy_of

    def counting_role(row, tags):  # type: ignore[no-untyped-def]
        built.append(row.arn)
        return role_of(row, tags)

    def counting_policy(row, attachment_count, tags):  # type: ignore[no-untyped-def]
        built.append(row.arn)
        return policy_of(row, attachment_count, tags)

    monkeypatch.setattr(SqlStore, "_role_of", staticmethod(counting_role))
    monkeypatch.setattr(SqlStore, "_policy_of", staticmethod(counting_policy))
    runs = []
    for first, last in ((0, 3), (3, 30)):
        add_world(store, first, last)
        built.clear()
        with statements(store) as seen:
            page, more = authorization_details.page(ctx, ACCOUNT, [], after=None, limit=2)
            authorization_details.details(ctx, ACCOUNT, page)
        runs.append((len(seen), len(built)))
        assert [item.name for item in page] == ["Role000", "Role001"] and more
    assert runs[0] == runs[1]


def test_a_sign_in_with_no_use_to_record_opens_no_transaction(store: SqlStore) -> None:
    """Without OneTimeUse or strict replay (the usual AssumeRoleWithSAML) there is nothing to record: no connection
    is taken from the pool for it, on every request."""
    checkouts: list[object] = []

    def note(*_: object) -> None:
        checkouts.append(1)

    event.listen(store.engine, "checkout", note)
    try:
        store.redeem_all([], now=NOW)
    finally:
        event.remove(store.engine, "checkout", note)
    assert checkouts == []

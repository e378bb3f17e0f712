"""The storage conformance suite: the same behaviour from every backend (see conftest.py for the backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from samlfed.store import (
    AccessKey,
    Account,
    AlreadyExists,
    AlreadyRedeemed,
    Conflict,
    ManagedPolicy,
    NotFound,
    Redemption,
    Role,
    SamlProvider,
    ServerKey,
    SqlStore,
    Tag,
    schema,
)
from samlfed.store.sql import REPLAY_RECORD_MARGIN

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"


def account(store: SqlStore, account_id: str = ACCOUNT, alias: str | None = None) -> None:
    store.create_account(Account(account_id, alias, NOW))


def provider(**changes) -> SamlProvider:
    base = dict(arn=PROVIDER_ARN, account_id=ACCOUNT, name="Corp", uuid="ABCDEFGHIJKLMNOPQRSTUV", metadata_document="<md/>", valid_until=None, created_at=NOW)
    return SamlProvider(**{**base, **changes})


def role(name: str = "Developer", **changes) -> Role:
    base = dict(account_id=ACCOUNT, name=name, role_id=f"AROA{name.upper():<17}"[:21].replace(" ", "X"), path="/", arn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
                trust_policy='{"Version":"2012-10-17","Statement":[]}', max_session_duration=3600, created_at=NOW)
    return Role(**{**base, **changes})


def test_accounts_and_aliases(store: SqlStore) -> None:
    account(store, alias="acme-dev")
    account(store, "222222222222")
    assert store.get_account(ACCOUNT) == Account(ACCOUNT, "acme-dev", NOW)
    assert [a.account_id for a in store.list_accounts()] == [ACCOUNT, "222222222222"]
    with pytest.raises(AlreadyExists):
        account(store)
    with pytest.raises(AlreadyExists):
        store.set_account_alias("222222222222", "acme-dev")
    store.set_account_alias(ACCOUNT, None)
    store.set_account_alias("222222222222", "acme-dev")
    assert store.get_account("222222222222").alias == "acme-dev"
    with pytest.raises(NotFound):
        store.get_account("333333333333")


def test_access_keys(store: SqlStore) -> None:
    account(store)
    key = AccessKey("AKIAEXAMPLEEXAMPLE01", ACCOUNT, b"\x00sealed\xff", True, NOW)
    store.add_access_key(key)
    assert store.get_access_key(key.access_key_id) == key
    assert store.list_access_keys(ACCOUNT) == [key]
    with pytest.raises(AlreadyExists):
        store.add_access_key(AccessKey("AKIAOTHER00000000000", "999999999999", b"x", True, NOW))  # no such account
    store.delete_access_key(key.access_key_id)
    with pytest.raises(NotFound):
        store.get_access_key(key.access_key_id)


def test_providers_and_their_tags(store: SqlStore) -> None:
    account(store)
    store.create_provider(provider(tags=(Tag("team", "platform"),)))
    with pytest.raises(AlreadyExists):
        store.create_provider(provider())
    got = store.get_provider(PROVIDER_ARN)
    assert got.uuid == "ABCDEFGHIJKLMNOPQRSTUV" and got.tags == (Tag("team", "platform"),) and got.assertion_encryption_mode == "Allowed"
    store.tag_provider(PROVIDER_ARN, [Tag("team", "security"), Tag("env", "prod")])  # a replacement and a new tag
    store.tag_provider(PROVIDER_ARN, [Tag("TEAM", "infra")])  # keys are case-sensitive (IAM's tagging rules): a third
    assert store.get_provider(PROVIDER_ARN).tags == (Tag("env", "prod"), Tag("TEAM", "infra"), Tag("team", "security"))
    store.untag_provider(PROVIDER_ARN, ["team", "ENV"])
    assert store.get_provider(PROVIDER_ARN).tags == (Tag("env", "prod"), Tag("TEAM", "infra"))
    until = NOW + timedelta(days=365)
    store.update_provider(PROVIDER_ARN, metadata=("<md2/>", until))
    store.set_attribute_mapping(PROVIDER_ARN, {"email": ["mail"]})
    got = store.get_provider(PROVIDER_ARN)
    assert (got.metadata_document, got.valid_until, got.attribute_mapping) == ("<md2/>", until, {"email": ["mail"]})
    assert [p.arn for p in store.list_provider_summaries(ACCOUNT)] == [PROVIDER_ARN]
    store.delete_provider(PROVIDER_ARN)
    with pytest.raises(NotFound):
        store.get_provider(PROVIDER_ARN)
    with pytest.raises(NotFound):
        store.delete_provider(PROVIDER_ARN)


def test_roles_are_unique_case_insensitively(store: SqlStore) -> None:
    account(store)
    store.create_role(role("ProdRole", tags=(Tag("cost", "1"),)))
    with pytest.raises(AlreadyExists):
        store.create_role(role("PRODROLE", role_id="AROAOTHER000000000000", arn=f"arn:aws:iam::{ACCOUNT}:role/PRODROLE"))
    got = store.get_role(ACCOUNT, "prodrole")
    assert got.name == "ProdRole" and got.tags == (Tag("cost", "1"),)
    store.update_role(ACCOUNT, "ProdRole", description="prod", max_session_duration=43200)
    store.update_role(ACCOUNT, "ProdRole", trust_policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}')
    got = store.get_role(ACCOUNT, "ProdRole")
    assert (got.description, got.max_session_duration) == ("prod", 43200) and "Allow" in got.trust_policy
    with pytest.raises(NotFound):
        store.update_role(ACCOUNT, "Missing", description="x")


def test_permissions_boundary_uses_are_counted_per_policy(store: SqlStore) -> None:
    account(store)
    account(store, "222222222222")
    boundary, other, elsewhere = (f"arn:aws:iam::{owner}:policy/{name}" for owner, name in ((ACCOUNT, "Boundary"), (ACCOUNT, "Other"), ("222222222222", "Boundary")))
    for arn in (boundary, other, elsewhere):
        store.create_policy(ManagedPolicy(arn, arn[13:25], arn.rsplit("/", 1)[1], "ANPA" + arn[13:25] + arn[-5:], "/", "{}", NOW, NOW))
    store.create_role(role("A", permissions_boundary=boundary))
    store.create_role(role("B", permissions_boundary=boundary))
    store.create_role(role("C", permissions_boundary=other))
    store.create_role(role("D"))
    store.create_role(role("E", account_id="222222222222", arn="arn:aws:iam::222222222222:role/E", permissions_boundary=elsewhere))
    assert store.permissions_boundary_uses(ACCOUNT) == {boundary: 2, other: 1}


def test_roles_using_a_policy_by_attachment_boundary_or_either(store: SqlStore) -> None:
    account(store)
    arn, other = (f"arn:aws:iam::{ACCOUNT}:policy/{name}" for name in ("Used", "Other"))
    for policy_arn in (arn, other):
        store.create_policy(ManagedPolicy(policy_arn, ACCOUNT, policy_arn.rsplit("/", 1)[1], "ANPA" + policy_arn[-5:].upper() + "X" * 12, "/", "{}", NOW, NOW))
    for name, boundary in (("beta", arn), ("Alpha", None), ("Gamma", arn), ("Delta", other)):
        store.create_role(role(name, permissions_boundary=boundary))
    for name, policy_arn in (("Alpha", arn), ("Gamma", arn), ("Delta", other), ("beta", other)):
        store.attach_role_policy(ACCOUNT, name, policy_arn)

    def names(**usage: bool) -> list[str]:
        return [r.name for r in store.roles_using_policy(ACCOUNT, arn, **usage)]

    assert names() == ["Alpha", "beta", "Gamma"]  # by lower-cased name, Gamma once though it is both
    assert names(boundary=False) == ["Alpha", "Gamma"]
    assert names(attached=False) == ["beta", "Gamma"]
    assert names(attached=False, boundary=False) == []
    with pytest.raises(NotFound):
        store.roles_using_policy(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:policy/Missing")


def test_a_boundary_must_be_a_policy_of_the_roles_account(store: SqlStore) -> None:
    account(store)
    account(store, "222222222222")
    elsewhere = "arn:aws:iam::222222222222:policy/Boundary"
    store.create_policy(ManagedPolicy(elsewhere, "222222222222", "Boundary", "ANPABOUNDARY22222222", "/", "{}", NOW, NOW))
    with pytest.raises(NotFound):
        store.create_role(role("A", permissions_boundary=elsewhere))
    store.create_role(role("A"))
    with pytest.raises(NotFound):
        store.set_permissions_boundary(ACCOUNT, "A", elsewhere)
    assert store.get_role(ACCOUNT, "A").permissions_boundary is None


def test_role_listing_by_path(store: SqlStore) -> None:
    account(store)
    store.create_role(role("A", path="/eng/"))
    store.create_role(role("B", path="/ops/"))
    store.create_role(role("C", path="/eng_x/"))
    assert [r.name for r in store.list_roles(ACCOUNT, "/eng/")] == ["A"]
    assert [r.name for r in store.list_roles(ACCOUNT)] == ["A", "B", "C"]


def test_inline_policies_and_delete_conflict(store: SqlStore) -> None:
    account(store)
    store.create_role(role())
    store.put_role_policy(ACCOUNT, "Developer", "S3Read", '{"v":1}')
    store.put_role_policy(ACCOUNT, "developer", "S3Read", '{"v":2}')
    assert store.get_role_policy(ACCOUNT, "Developer", "S3Read") == '{"v":2}'
    assert store.list_role_policies(ACCOUNT, "Developer") == ["S3Read"]
    assert store.role_policy_documents(ACCOUNT, "Developer") == [("S3Read", '{"v":2}')]
    with pytest.raises(Conflict):
        store.delete_role(ACCOUNT, "Developer")
    store.delete_role_policy(ACCOUNT, "Developer", "S3Read")
    store.delete_role(ACCOUNT, "Developer")
    with pytest.raises(NotFound):
        store.get_role(ACCOUNT, "Developer")
    with pytest.raises(NotFound):
        store.put_role_policy(ACCOUNT, "Developer", "S3Read", "{}")
    with pytest.raises(NotFound):
        store.role_policy_documents(ACCOUNT, "Developer")


def test_role_tags(store: SqlStore) -> None:
    account(store)
    store.create_role(role())
    store.tag_role(ACCOUNT, "Developer", [Tag("Dept", "eng"), Tag("dept", "ops")])
    assert store.get_role(ACCOUNT, "Developer").tags == (Tag("dept", "ops"),)
    store.untag_role(ACCOUNT, "Developer", ["DEPT"])
    assert store.get_role(ACCOUNT, "Developer").tags == ()


def test_failed_write_leaves_nothing_behind(store: SqlStore) -> None:
    """An error after the role row was written (here: a broken tag) rolls the whole call back."""
    account(store)
    with pytest.raises(AttributeError):
        store.create_role(role(tags=(Tag("ok", "v"), Tag(None, "v"))))  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.get_role(ACCOUNT, "Developer")
    store.create_role(role())  # the name is still free


def test_server_key_ring(store: SqlStore) -> None:
    store.add_server_key(ServerKey("0a0b0c0d", b"k1", True, NOW))
    store.add_server_key(ServerKey("1a1b1c1d", b"k2", True, NOW + timedelta(seconds=1)))
    keys = store.list_server_keys()
    assert [(k.key_id, k.active) for k in keys] == [("0a0b0c0d", False), ("1a1b1c1d", True)]


def test_assertions_redeem_once_until_they_expire(store: SqlStore) -> None:
    later = NOW + timedelta(minutes=5)
    assert store.redeem_once("idp", "_a1", "arn:role/A", expires_at=later, now=NOW)
    assert not store.redeem_once("idp", "_a1", "arn:role/A", expires_at=later, now=NOW)
    assert store.redeem_once("idp", "_a1", "arn:role/B", expires_at=later, now=NOW)  # another role: allowed
    kept_until = later + REPLAY_RECORD_MARGIN  # another node's clock may run behind: the use stays refused until then
    assert not store.redeem_once("idp", "_a1", "arn:role/A", expires_at=kept_until, now=kept_until)
    assert store.redeem_once("idp", "_a1", "arn:role/A", expires_at=kept_until + timedelta(minutes=5), now=kept_until + timedelta(seconds=1))


def test_a_node_whose_clock_runs_ahead_does_not_sweep_a_use_another_node_still_refuses(store: SqlStore) -> None:
    """Expiry is each node's own clock: a node four minutes ahead swept the record of an assertion that a node on
    time still accepted, and the assertion could be used there again."""
    expires = NOW + timedelta(minutes=10)
    assert store.redeem_once("idp", "_a1", "arn:role/A", expires_at=expires, now=NOW)
    on_time = expires - timedelta(seconds=30)
    ahead = on_time + timedelta(minutes=4)
    assert store.redeem_once("idp", "_b1", "arn:role/A", expires_at=ahead + timedelta(minutes=10), now=ahead)  # its sweep
    assert not store.redeem_once("idp", "_a1", "arn:role/A", expires_at=expires, now=on_time)
    assert store.was_redeemed("idp", "_a1", "arn:role/A", now=ahead)


def test_uses_redeemed_together_are_all_recorded_or_none(store: SqlStore) -> None:
    later = NOW + timedelta(minutes=5)
    whole, per_role = Redemption("idp", "_a1", "", later), Redemption("idp", "_a1", "arn:role/A", later)
    assert store.redeem_once("idp", "_a1", "arn:role/A", expires_at=later, now=NOW)
    with pytest.raises(AlreadyRedeemed) as refused:
        store.redeem_all([whole, per_role], now=NOW)
    assert refused.value.use == per_role
    assert not store.was_redeemed("idp", "_a1", "", now=NOW)  # the first of the two was not kept
    store.redeem_all([whole, Redemption("idp", "_a1", "arn:role/B", later)], now=NOW)
    assert store.was_redeemed("idp", "_a1", "", now=NOW) and store.was_redeemed("idp", "_a1", "arn:role/B", now=NOW)


def test_state_survives_reopening(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = SqlStore.open(url)
    first.create_account(Account(ACCOUNT, "acme", NOW))
    first.engine.dispose()
    assert SqlStore.open(url).get_account(ACCOUNT).alias == "acme"


def test_managed_policies_and_attachments(store: SqlStore) -> None:
    from samlfed.store import ManagedPolicy

    account(store)
    store.create_role(role())
    arn = f"arn:aws:iam::{ACCOUNT}:policy/ReadS3"
    store.create_policy(ManagedPolicy(arn, ACCOUNT, "ReadS3", "ANPAEXAMPLE0000000001", "/", '{"v":1}', NOW, NOW))
    with pytest.raises(AlreadyExists):
        store.create_policy(ManagedPolicy(arn, ACCOUNT, "ReadS3", "ANPAEXAMPLE0000000002", "/", "{}", NOW, NOW))
    store.attach_role_policy(ACCOUNT, "developer", arn)
    store.attach_role_policy(ACCOUNT, "Developer", arn)  # attaching twice is one attachment
    assert store.get_policy(arn).attachment_count == 1
    assert [p.arn for p in store.list_attached_role_policies(ACCOUNT, "Developer")] == [arn]
    with pytest.raises(Conflict):
        store.delete_policy(arn)
    with pytest.raises(Conflict):
        store.delete_role(ACCOUNT, "Developer")
    store.detach_role_policy(ACCOUNT, "Developer", arn)
    with pytest.raises(NotFound):
        store.detach_role_policy(ACCOUNT, "Developer", arn)
    store.delete_policy(arn)
    assert store.list_policies(ACCOUNT) == []
    with pytest.raises(NotFound):
        store.attach_role_policy(ACCOUNT, "Developer", arn)


def test_aws_managed_policies_are_shared_and_counted_per_account(store: SqlStore) -> None:
    from samlfed.store import AWS_MANAGED, ManagedPolicy, PolicyVersion

    other = "210987654321"
    account(store)
    store.create_account(Account(other, None, NOW))
    store.create_role(role())
    store.create_role(role(account_id=other, role_id="AROAOTHERDEVELOPER000", arn=f"arn:aws:iam::{other}:role/Developer"))
    arn = "arn:aws:iam::aws:policy/ReadS3"
    first, second = '{"v":1}', '{"v":2}'
    policy = ManagedPolicy(arn, AWS_MANAGED, "ReadS3", "ANPAAWSMANAGED0000001", "/", second, NOW, NOW, default_version_id="v2")
    versions = (PolicyVersion("v1", first, False, NOW), PolicyVersion("v2", second, True, NOW))
    assert store.put_aws_managed_policy(policy, versions) == "created"
    assert store.put_aws_managed_policy(policy, versions) == "unchanged"  # stored so already
    assert [a.account_id for a in store.list_accounts()] == sorted([ACCOUNT, other])  # the owner is never listed
    store.attach_role_policy(ACCOUNT, "Developer", arn)
    store.set_permissions_boundary(other, "Developer", arn)
    assert (store.get_policy(arn, viewer=ACCOUNT).attachment_count, store.get_policy(arn, viewer=other).attachment_count) == (1, 0)
    assert [r.account_id for r in store.roles_using_policy(ACCOUNT, arn)] == [ACCOUNT]
    assert [r.account_id for r in store.roles_using_policy(other, arn)] == [other]
    assert [p.arn for p in store.list_policies(ACCOUNT, scope="AWS", attached=True)] == [arn]
    assert store.list_policies(other, scope="AWS", attached=True) == []
    assert store.list_policies(ACCOUNT, scope="Local") == []
    # Replaced by a newer catalogue: one version now, still attached, evaluated with its new default.
    newer = ManagedPolicy(arn, AWS_MANAGED, "ReadS3", "ANPAAWSMANAGED0000001", "/", '{"v":3}', NOW, NOW, default_version_id="v3")
    assert store.put_aws_managed_policy(newer, (PolicyVersion("v3", '{"v":3}', True, NOW),)) == "updated"
    assert [v.version_id for v in store.list_policy_versions(arn)] == ["v3"]
    assert store.role_grants(ACCOUNT, "Developer").attached == ((arn, '{"v":3}'),)
    assert store.role_grants(other, "Developer").boundary_document == '{"v":3}'
    clash = ManagedPolicy("arn:aws:iam::aws:policy/Other", AWS_MANAGED, "Other", "ANPAAWSMANAGED0000001", "/", "{}", NOW, NOW)
    with pytest.raises(AlreadyExists):  # another policy's ID
        store.put_aws_managed_policy(clash, (PolicyVersion("v1", "{}", True, NOW),))
    namesake = ManagedPolicy("arn:aws:iam::aws:policy/x/READS3", AWS_MANAGED, "READS3", "ANPAAWSMANAGED0000002", "/x/", "{}", NOW, NOW)
    with pytest.raises(AlreadyExists):  # another AWS managed policy's name, in another case on another path
        store.put_aws_managed_policy(namesake, (PolicyVersion("v1", "{}", True, NOW),))
    with pytest.raises(ValueError):
        store.put_aws_managed_policy(policy, (PolicyVersion("v1", first, True, NOW), PolicyVersion("v1", second, False, NOW)))
    # Deleted by the operator once no role of any account uses it, with its versions.
    store.detach_role_policy(ACCOUNT, "Developer", arn)
    with pytest.raises(Conflict):  # still the other account's boundary
        store.delete_aws_managed_policy(arn)
    store.set_permissions_boundary(other, "Developer", None)
    store.delete_aws_managed_policy(arn)
    with pytest.raises(NotFound):
        store.list_policy_versions(arn)
    with pytest.raises(NotFound):
        store.delete_aws_managed_policy(arn)
    store.create_policy(ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/Mine", ACCOUNT, "Mine", "ANPAMINEMINEMINEMINE1", "/", "{}", NOW, NOW))
    with pytest.raises(NotFound):  # an account's own policy is no AWS managed one
        store.delete_aws_managed_policy(f"arn:aws:iam::{ACCOUNT}:policy/Mine")


def test_was_redeemed_looks_without_using(store: SqlStore) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    later = now + timedelta(minutes=5)
    assert not store.was_redeemed("issuer", "id-1", "", now=now)
    assert store.redeem_once("issuer", "id-1", "", expires_at=later, now=now)
    assert store.was_redeemed("issuer", "id-1", "", now=now)
    assert not store.was_redeemed("issuer", "id-1", "other scope", now=now)
    assert store.was_redeemed("issuer", "id-1", "", now=later + timedelta(seconds=1))  # kept for nodes whose clocks run behind
    assert not store.was_redeemed("issuer", "id-1", "", now=later + REPLAY_RECORD_MARGIN + timedelta(seconds=1))


def test_console_sessions_expire_replace_and_delete(store: SqlStore) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    store.put_console_session("a" * 64, b"state-a", expires_at=now + timedelta(hours=1), now=now)
    store.put_console_session("b" * 64, b"state-b", expires_at=now + timedelta(minutes=1), now=now)
    assert store.get_console_session("a" * 64, now=now) == b"state-a"
    assert store.get_console_session("b" * 64, now=now + timedelta(minutes=2)) is None  # expired
    store.put_console_session("a" * 64, b"state-a2", expires_at=now + timedelta(hours=1), now=now)
    assert store.get_console_session("a" * 64, now=now) == b"state-a2"
    store.put_console_session("c" * 64, b"state-c", expires_at=now + timedelta(hours=1), now=now + timedelta(minutes=2))
    assert store.get_console_session("b" * 64, now=now) is None  # swept when c was stored
    store.delete_console_session("a" * 64)
    assert store.get_console_session("a" * 64, now=now) is None
    assert store.get_console_session("c" * 64, now=now) == b"state-c"


def test_a_database_error_does_not_quote_the_values_it_was_given(store: SqlStore) -> None:
    """Errors reach logs: the values bound to the failing statement (sealed secrets, hashes) must not be in them."""
    account(store)
    with pytest.raises(IntegrityError) as info, store.engine.begin() as db:
        db.execute(insert(schema.accounts).values(account_id=ACCOUNT, alias="secret-looking-value", created_at=NOW))
    assert "secret-looking-value" not in str(info.value)
    assert "parameters hidden" in str(info.value)


def test_a_trust_policys_principal_role_ids_are_kept_with_it(store: SqlStore) -> None:
    """The role ID of each role a trust policy names, as resolved when it was written; None for a policy written
    before samlfed kept them (a role row from an older release)."""
    account(store)
    named = (("arn:aws:iam::111111111111:role/A", "AROAAAAAAAAAAAAAAAAAA"), ("arn:aws:iam::222222222222:role/B", "AROABBBBBBBBBBBBBBBBB"))
    store.create_role(role("Target", trust_principal_ids=named))
    store.create_role(role("Older"))
    assert store.get_role(ACCOUNT, "Target").trust_principal_ids == named
    assert store.get_role(ACCOUNT, "Older").trust_principal_ids is None
    store.update_role(ACCOUNT, "Target", trust_policy='{"Version":"2012-10-17","Statement":[]}', trust_principal_ids=())
    assert store.get_role(ACCOUNT, "Target").trust_principal_ids == ()
    store.update_role(ACCOUNT, "Older", trust_principal_ids=named[:1])
    assert store.get_role(ACCOUNT, "Older").trust_principal_ids == named[:1]


def test_which_role_ids_a_role_holds_now(store: SqlStore) -> None:
    """More IDs than one IN (…) list binds (the store asks in chunks): a ListRoles page of 1,000 roles may name
    thousands of roles in its trust policies."""
    account(store)
    names = [f"R{index:04}" for index in range(1203)]
    for name in names:
        store.create_role(role(name))
    store.delete_role(ACCOUNT, "R0007")
    store.delete_role(ACCOUNT, "R1202")
    ids = {role(name).role_id for name in names}
    assert store.live_role_ids(ids | {"AROANEVERANYROLESIDX1"}) == ids - {role("R0007").role_id, role("R1202").role_id}
    assert store.live_role_ids(set()) == frozenset()

"""A sign-in answered with the retryable 503 leaves the assertion usable: its retry must not be refused as a replay.
The first sign-in on a new store makes the session key ring; when that waits past lock_timeout (another process
holds the ring's lock), the assertion had already been recorded as used, so the retry was refused with
'The SAML assertion has already been used'."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import pytest
from lxml import etree
from postgres_scratch import holding, scratch_schema
from saml_factory import DEV_ROLE, ENTITY_ID, NOW, PROVIDER_ARN, encode, response_b64, response_tree
from service_world import developer_world

from samlfed.config import Settings
from samlfed.console.signin import make_offer, sign_in
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.store import DatabaseUnavailable
from samlfed.store.locking import RING_LOCK_KEY
from samlfed.store.sql import _redemption
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


@pytest.fixture
def strict_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ServiceContext, str]]:
    """A new store on PostgreSQL with strict replay and no key ring yet (its first sign-in makes it), and its URL."""
    monkeypatch.setenv("SAMLFED_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    with scratch_schema("samlfed_redeem") as url:
        ctx = developer_world(Settings(database_url=url + "%20-c%20lock_timeout%3D300ms", strict_replay=True))
        ctx.clock = lambda: NOW
        try:
            yield ctx, url
        finally:
            ctx.store.engine.dispose()


def test_a_sign_in_that_cannot_make_the_first_ring_does_not_use_up_its_assertion(strict_world: tuple[ServiceContext, str]) -> None:
    ctx, url = strict_world
    request = AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, response_b64())
    with holding(url, f"SELECT pg_advisory_xact_lock({RING_LOCK_KEY})"), pytest.raises(DatabaseUnavailable):
        assume_role_with_saml(ctx, request)
    assert assume_role_with_saml(ctx, request).credentials.claims.role_arn == DEV_ROLE  # the client's retry


def test_a_console_sign_in_that_cannot_make_the_first_ring_does_not_use_up_its_assertion(strict_world: tuple[ServiceContext, str]) -> None:
    ctx, url = strict_world
    offer = make_offer(ctx, response_b64(), NOW)
    with holding(url, f"SELECT pg_advisory_xact_lock({RING_LOCK_KEY})"), pytest.raises(DatabaseUnavailable):
        sign_in(ctx, offer, DEV_ROLE, NOW)
    assert sign_in(ctx, offer, DEV_ROLE, NOW).credentials.claims.role_arn == DEV_ROLE  # the user's retry


SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def _one_time_use(root: etree._Element) -> None:
    etree.SubElement(root.find(f".//{{{SAML}}}Conditions"), f"{{{SAML}}}OneTimeUse")


def test_a_one_time_assertion_whose_role_record_cannot_be_written_stays_unused(strict_world: tuple[ServiceContext, str]) -> None:
    """OneTimeUse with strict replay records two uses: the assertion's, then the role's. Another node's transaction
    holds an uncommitted record of the role's past lock_timeout, so the second write fails (503): the first must
    not stay behind, or the client's retry is refused as a replay once that transaction has rolled back."""
    ctx, url = strict_world
    tree = response_tree(before_sign=_one_time_use)
    assertion_id = tree.find(f"{{{SAML}}}Assertion").get("ID")
    request = AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, encode(tree))
    ctx.key_ring()  # made beforehand: only the records are in question here
    role_use = _redemption(ENTITY_ID, assertion_id, DEV_ROLE)
    other_node = f"INSERT INTO redeemed_assertions (redemption, expires_at) VALUES ('{role_use}', now() + interval '1 hour')"
    with holding(url, other_node), pytest.raises(DatabaseUnavailable):
        assume_role_with_saml(ctx, request)
    assert assume_role_with_saml(ctx, request).credentials.claims.role_arn == DEV_ROLE  # the client's retry
    with pytest.raises(ServiceError, match="already been used"):
        assume_role_with_saml(ctx, request)

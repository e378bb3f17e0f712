"""Credentials last whole seconds, bounded by the IdP session (contract §3.7): a SessionNotOnOrAfter less than a
second away leaves none, and is refused as an ended session is, not answered with credentials already expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from saml_factory import DEV_ROLE, NOW, PROVIDER_ARN, response_b64, trust
from service_world import developer_world

from samlfed.config import Settings
from samlfed.console.signin import SignInRefused, make_offer
from samlfed.context import ServiceContext
from samlfed.doctor import TrustChoice, diagnose
from samlfed.errors import ServiceError
from samlfed.saml import RolePair, ValidationSettings
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    context = developer_world(Settings(data_dir=tmp_path, strict_replay=True))
    context.clock = lambda: NOW
    return context


def _assume(ctx: ServiceContext, assertion: str):  # type: ignore[no-untyped-def]
    return assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, assertion))


@pytest.mark.parametrize("remaining", [timedelta(milliseconds=1), timedelta(milliseconds=999)])
def test_an_idp_session_ending_within_the_second_is_refused(ctx: ServiceContext, remaining: timedelta) -> None:
    assertion = response_b64(session_not_on_or_after=NOW + remaining)
    with pytest.raises(ServiceError) as refused:
        _assume(ctx, assertion)
    assert (refused.value.code, refused.value.message, refused.value.status) == ("ExpiredTokenException", "Response has expired", 400)
    with pytest.raises(SignInRefused) as console:  # the console and the doctor agree (the differential probe: they took it)
        make_offer(ctx, assertion, NOW)
    assert (console.value.message, console.value.status) == ("Response has expired", 400)
    diagnosis = diagnose(assertion, TrustChoice(trust(), (), ()), now=NOW, settings=ValidationSettings(), requested_role=RolePair(DEV_ROLE, PROVIDER_ARN))
    assert diagnosis.error is not None and diagnosis.error.check_id == "session.not_on_or_after"
    ctx.clock = lambda: NOW - timedelta(seconds=1)  # the refusal did not use up the one-time assertion
    assert _assume(ctx, assertion).credentials.claims.expires_at == int((NOW - timedelta(seconds=1)).timestamp()) + 1


@pytest.mark.parametrize(("remaining", "seconds"), [(timedelta(seconds=1), 1), (timedelta(milliseconds=1999), 1), (timedelta(seconds=2), 2)])
def test_a_shorter_idp_session_gives_whole_seconds_that_end_within_it(ctx: ServiceContext, remaining: timedelta, seconds: int) -> None:
    claims = _assume(ctx, response_b64(session_not_on_or_after=NOW + remaining)).credentials.claims
    assert claims.expiration == NOW + timedelta(seconds=seconds) <= NOW + remaining

"""STS answers in AWS's words where public text quotes real AWS answering the same situation (a probe of quoted
error messages). Each test names its source."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chain_setup import TARGET, chain_world, developer_session
from lxml import etree
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64

from samlfed.api.sigv4 import SignatureClaim, check_scope
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.roles import create_role
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from samlfed.sts.chain import AssumeRoleRequest, assume_role

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
ONE_HOUR_CHAINED = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
OVER_ROLE_MAX = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
NO_CONFIRMATION_DATA = "Responses must contain SubjectConfirmatonData with a Recipient and NotOnOrAfter"


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    return chain_world(tmp_path)


def refusal(ctx: ServiceContext, assertion: str, principal_arn: str = PROVIDER_ARN) -> tuple[str, str, int]:
    with pytest.raises(ServiceError) as info:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, principal_arn, assertion))
    return info.value.code, info.value.message, info.value.status


def test_a_provider_that_does_not_exist_is_named_without_a_final_period(ctx: ServiceContext) -> None:
    # Real STS, from techservicesillinois/awscli-login's integration tests (src/integration_tests/tests/
    # docker-idp-login.bats: a local IdP, STS at sts.amazonaws.com): "An error occurred (InvalidIdentityToken) when
    # calling the AssumeRoleWithSAML operation: Specified provider doesn't exist (Service: AWSOpenIdDiscoveryService;
    # ...)". The User Guide's heading adds the period.
    missing = f"arn:aws:iam::{ACCOUNT}:saml-provider/Missing"
    assert refusal(ctx, response_b64(issue_instant=datetime.now(UTC)), missing) == ("InvalidIdentityToken", "Specified provider doesn't exist", 400)


def _without(attribute: str | None):  # type: ignore[no-untyped-def]
    def strip(root: etree._Element) -> None:
        for data in root.iter(f"{{{SAML}}}SubjectConfirmationData"):
            if attribute is None:
                data.getparent().remove(data)
            else:
                data.attrib.pop(attribute)
    return strip


@pytest.mark.parametrize("attribute", ["Recipient", "NotOnOrAfter", None], ids=["no-recipient", "no-not-on-or-after", "no-data"])
def test_confirmation_data_without_recipient_or_not_on_or_after_gets_awss_words(ctx: ServiceContext, attribute: str | None) -> None:
    # The AWS CLI against real STS with an ADFS WS-Trust assertion whose SubjectConfirmationData had no Recipient
    # ("ADFS2 is not always SAML 2.0 standards compliant", Tech Debug, 2015): "A client error (InvalidIdentityToken)
    # occurred when calling the AssumeRoleWithSAML operation: Responses must contain SubjectConfirmatonData with a
    # Recipient and NotOnOrAfter" (AWS's spelling).
    assertion = response_b64(issue_instant=datetime.now(UTC), before_sign=_without(attribute))
    assert refusal(ctx, assertion) == ("InvalidIdentityToken", NO_CONFIRMATION_DATA, 400)


def test_a_recipient_that_is_not_accepted_keeps_samlfeds_message(ctx: ServiceContext) -> None:
    assertion = response_b64(issue_instant=datetime.now(UTC), recipient="https://sp.evil.example/saml", destination=None)
    assert refusal(ctx, assertion) == ("InvalidIdentityToken", "Response does not contain a valid SubjectConfirmation for this endpoint", 400)


@pytest.mark.parametrize("assertion", ["PHNhbWxwOlJlc3BvbnNl%3D", "not base64!"])
def test_an_assertion_that_is_not_base64_is_told_so(ctx: ServiceContext, assertion: str) -> None:
    # The AWS CLI against real STS with a URL-encoded SAMLResponse (a public note on Keycloak federation with AWS):
    # "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithSAML operation: Invalid base64
    # SAMLResponse (Service: AWSOpenIdDiscoveryService; Status Code: 400; Error Code: AuthSamlInvalidSamlResponseException".
    assert refusal(ctx, assertion) == ("InvalidIdentityToken", "Invalid base64 SAMLResponse", 400)


def test_chaining_past_the_roles_own_maximum_names_the_maximum_first(ctx: ServiceContext) -> None:
    # A live-AWS probe (Argmin's design notes "Stateless STS And In-Memory IAM Foundations", role-chaining slice):
    # chained 3601 s against a role left at 3600 s "receives the configured-role MaxSessionDuration error rather than
    # the role-chaining error"; against a 43200 s role, the 1 hour message. Target keeps the default 3600 s.
    caller = developer_session(ctx)
    for duration in (3601, 7200):
        with pytest.raises(ServiceError) as info:
            assume_role(ctx, caller, AssumeRoleRequest(TARGET, "chain", duration_seconds=duration))
        assert (info.value.code, info.value.message) == ("ValidationError", OVER_ROLE_MAX)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sts:AssumeRole"}]}
    create_role(ctx, ACCOUNT, "Long", json.dumps(trust), max_session_duration=43200)
    with pytest.raises(ServiceError) as info:
        assume_role(ctx, caller, AssumeRoleRequest(f"arn:aws:iam::{ACCOUNT}:role/Long", "chain", duration_seconds=3601))
    assert (info.value.code, info.value.message) == ("ValidationError", ONE_HOUR_CHAINED)


def test_a_credential_scoped_to_another_service_is_told_with_awss_trailing_space() -> None:
    # Argmin's STS signing-scope goldens against AWS: "Credential should be scoped to correct service: 'sts'. ", the
    # trailing space included (AWS joins several scope complaints with it).
    claim = SignatureClaim(
        access_key_id="AKIAEXAMPLE", date="20260101", region="us-east-1", service="s3", signed_headers=("host",),
        signature="0" * 64, amz_date=datetime(2026, 1, 1, tzinfo=UTC), session_token=None, presigned_expires=None,
    )
    with pytest.raises(ServiceError) as info:
        check_scope(claim, "sts")
    assert (info.value.code, info.value.message, info.value.status) == ("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. ", 403)

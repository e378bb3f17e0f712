"""GetSessionToken and GetFederationToken over HTTP with boto3: temporary credentials get AWS's refusal word for
word (aws-saml-contract.md §3.11); an administrator key is told samlfed does not offer them; both need a signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from iam.iam_http import error_of, serving
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64

from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

ONE_ATTEMPT = {"retries": {"total_max_attempts": 1}}


def sts(url: str, **credentials: Any) -> Any:
    return boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(**ONE_ATTEMPT), **credentials)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with serving(tmp_path_factory, "session-token") as (ctx, url, admin):
        fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
        issued = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials
        session = sts(url, aws_access_key_id=issued.access_key_id, aws_secret_access_key=issued.secret_access_key, aws_session_token=issued.session_token)
        administrator = sts(url, aws_access_key_id=admin.access_key_id, aws_secret_access_key=admin.secret_access_key)
        yield url, session, administrator


def test_session_credentials_cannot_get_a_session_token(world: Any) -> None:
    _, session, _ = world
    assert error_of(lambda: session.get_session_token(DurationSeconds=900)) == (403, "AccessDenied", "Cannot call GetSessionToken with session credentials")


def test_session_credentials_cannot_get_a_federation_token(world: Any) -> None:
    _, session, _ = world
    assert error_of(lambda: session.get_federation_token(Name="bob")) == (403, "AccessDenied", "Cannot call GetFederationToken with session credentials")


def test_an_administrator_key_is_told_samlfed_does_not_offer_them(world: Any) -> None:
    _, _, administrator = world
    status, code, message = error_of(lambda: administrator.get_session_token())
    assert (status, code) == (400, "InvalidAction") and "samlfed does not implement GetSessionToken" in message
    status, code, message = error_of(lambda: administrator.get_federation_token(Name="bob"))
    assert (status, code) == (400, "InvalidAction") and "samlfed does not implement GetFederationToken" in message


def test_both_need_a_signature(world: Any) -> None:
    url, _, _ = world
    unsigned = boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(signature_version=UNSIGNED, **ONE_ATTEMPT))
    expected = (403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    assert error_of(lambda: unsigned.get_session_token()) == expected
    assert error_of(lambda: unsigned.get_federation_token(Name="bob")) == expected

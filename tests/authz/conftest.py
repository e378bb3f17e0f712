"""A SAML session of the developer world's Developer role, as the authorization API's callers hold one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.credentials import Credentials
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


@pytest.fixture
def session(tmp_path) -> tuple[ServiceContext, Credentials]:
    """The service and the credentials of a fresh sign-in (botocore signs with the real clock, so the assertion is
    issued just now)."""
    ctx = developer_world(Settings(data_dir=tmp_path))
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
    issued = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials
    return ctx, Credentials(issued.access_key_id, issued.secret_access_key, issued.session_token)

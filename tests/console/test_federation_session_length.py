"""/federation's SessionDuration is the length of the console session, which begins at the login, not at getSigninToken."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.config import Settings
from samlfed.console import federation
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


def test_session_duration_counts_from_the_login_and_without_it_the_session_ends_with_the_credentials(tmp_path: Path) -> None:
    """A token redeemed 10 minutes after it was asked for with SessionDuration=900 opened a 5-minute session (a login
    after 14:59 one of a second): the end was reckoned when the token was made. The session lasts the 900 s asked."""
    ctx = developer_world(Settings(data_dir=tmp_path))
    issued_at = datetime.now(UTC)
    credentials = assume_role_with_saml(
        ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, response_b64(issue_instant=issued_at - timedelta(seconds=5))),
    ).credentials
    session = json.dumps({"sessionId": credentials.access_key_id, "sessionKey": credentials.secret_access_key, "sessionToken": credentials.session_token})
    login_at = issued_at + timedelta(minutes=10)  # within the token's 15 minutes and the credentials' hour

    with_duration = federation.get_signin_token(ctx, session, "900", issued_at)
    assert federation.open_signin_token(ctx, with_duration, login_at).console_expires_at == int(login_at.timestamp()) + 900

    without = federation.get_signin_token(ctx, session, None, issued_at)
    assert federation.open_signin_token(ctx, without, login_at).console_expires_at == credentials.claims.expires_at

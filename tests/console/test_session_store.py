"""Console sessions as stored: a row whose sealed state this release cannot read is no session, and says so."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from samlfed.console import sessions
from samlfed.context import ServiceContext
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore


def test_a_console_session_stored_by_another_release_ends_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Stored state with a field this release does not know (ConsoleState lost `region` in an upgrade): the user signs
    in again, and the log says why sessions ended, once."""
    store = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
    now = datetime.now(UTC)
    try:
        ctx = ServiceContext(store=store, master=MasterKey(b"m" * 32))
        state = sessions.ConsoleState.new(access_key_id="ASIAEXAMPLE", session_token="t", expires_at=int(now.timestamp()) + 600, name_id=None)
        cookie = sessions.create_session(ctx, state)
        assert sessions.load_session(ctx, cookie) == state
        older = json.dumps({**asdict(state), "region": "us-east-1"}).encode()
        sealed = ctx.master.seal(older, context=sessions._sealing_context(sessions._hash(cookie)))
        store.put_console_session(sessions._hash(cookie), sealed, expires_at=now + timedelta(minutes=10), now=now)
        with caplog.at_level("INFO", logger="samlfed.console"):
            assert [sessions.load_session(ctx, cookie) for _ in range(3)] == [None] * 3
        said = [r.getMessage() for r in caplog.records if r.name == "samlfed.console"]
        assert said == ["A console session could not be read (TypeError); its user must sign in again"]  # once, not per request
    finally:
        store.engine.dispose()


def test_a_sessions_state_copied_into_another_row_does_not_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Found by a cryptography review: the state was sealed for every row alike, so whoever could write the database
    (without the master key) could move a victim's session, and the credentials it holds, behind a cookie of theirs.
    Now the row's name is part of the sealing, as docs/security.md says of every sealed value."""
    store = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
    now = datetime.now(UTC)
    try:
        ctx = ServiceContext(store=store, master=MasterKey(b"m" * 32))
        until = int(now.timestamp()) + 600
        victim = sessions.create_session(ctx, sessions.ConsoleState.new(access_key_id="ASIAVICTIM", session_token="v", expires_at=until, name_id="victim"))
        mine = sessions.create_session(ctx, sessions.ConsoleState.new(access_key_id="ASIAMINE", session_token="m", expires_at=until, name_id="me"))
        assert sessions.load_session(ctx, mine).access_key_id == "ASIAMINE"
        victims_state = store.get_console_session(sessions._hash(victim), now=now)
        store.put_console_session(sessions._hash(mine), victims_state, expires_at=now + timedelta(minutes=10), now=now)
        with caplog.at_level("INFO", logger="samlfed.console"):
            assert sessions.load_session(ctx, mine) is None
        assert "(MasterKeyError)" in caplog.text
        assert sessions.load_session(ctx, victim).access_key_id == "ASIAVICTIM"
    finally:
        store.engine.dispose()


def test_a_sign_in_tokens_credentials_copied_into_another_tokens_row_do_not_open(tmp_path: Path) -> None:
    """The same for /federation's pending sign-ins: a token of one's own must not redeem another's credentials."""
    from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
    from service_world import developer_world

    from samlfed.config import Settings
    from samlfed.console import federation
    from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

    ctx = developer_world(Settings(data_dir=tmp_path))
    now = datetime.now(UTC)

    def token_for() -> tuple[str, str]:
        issued = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, response_b64(issue_instant=now - timedelta(seconds=5)))).credentials
        session = json.dumps({"sessionId": issued.access_key_id, "sessionKey": issued.secret_access_key, "sessionToken": issued.session_token})
        return federation.get_signin_token(ctx, session, None, now), issued.access_key_id

    victims_token, victims_key = token_for()
    my_token, _ = token_for()
    victims_row = ctx.store.get_console_session(federation._pending(victims_token), now=now)
    ctx.store.put_console_session(federation._pending(my_token), victims_row, expires_at=now + timedelta(minutes=10), now=now)
    with pytest.raises(federation.FederationError):
        federation.open_signin_token(ctx, my_token, now)
    assert federation.open_signin_token(ctx, victims_token, now).access_key_id == victims_key


def test_the_console_reads_the_sessions_permissions_once_whatever_the_number_of_policies(tmp_path: Path) -> None:
    """Found by the diff review: each policy's read decision read the session's role and policies again (8 statements
    a policy). A policy now costs only its own resource's read, for its condition keys (its tags)."""
    from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
    from service_world import developer_world
    from sql_statements import statements

    from samlfed.api.auth import Session
    from samlfed.config import Settings
    from samlfed.console.web import _readable_role_policies
    from samlfed.iam.attached_policies import attach_role_policy
    from samlfed.iam.managed_policies import create_policy
    from samlfed.iam.role_policies import put_role_policy
    from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

    ctx = developer_world(Settings(data_dir=tmp_path))
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}]})
    put_role_policy(ctx, ACCOUNT, "Developer", "reads", allow)
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
    claims = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials.claims
    session = Session(claims, "ASIAEXAMPLE", "us-east-1")

    def page() -> tuple[int, list[str | None]]:
        with statements(ctx.store) as seen:
            shown = _readable_role_policies(ctx, session, "Developer", {"source_ip": None, "secure_transport": True})
        return len(seen), [policy["document"] is not None for policy in shown["policies"]]

    one, shown = page()
    assert shown == [True]
    for n in range(4):
        attach_role_policy(ctx, ACCOUNT, "Developer", create_policy(ctx, ACCOUNT, f"Managed{n}", allow).arn)
    five, shown = page()
    assert shown == [True] * 5
    assert five - one <= 4 * 3, (one, five)  # each managed policy: the reads of the policy itself, for its tags

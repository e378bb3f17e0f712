"""Authentication of temporary credentials: expiry and tampering, with botocore-signed requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from samlfed.api.auth import authenticate
from samlfed.api.sigv4 import HttpRequest
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore
from samlfed.sts.credentials import SessionClaims, issue


def signed(access_key: str, secret: str, token: str | None) -> HttpRequest:
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(access_key, secret, token), "sts", "us-east-1").add_auth(request)
    prepared = request.prepare()
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", urlsplit(prepared.url).netloc)
    return HttpRequest("POST", "/", "", headers, prepared.body)


@pytest.fixture
def context(tmp_path) -> ServiceContext:
    return ServiceContext(store=SqlStore.open(f"sqlite:///{tmp_path / 'db'}"), master=MasterKey(b"m" * 32))


def session(context: ServiceContext, lifetime: int = 900):  # type: ignore[no-untyped-def]
    now = int(datetime.now(UTC).timestamp())
    claims = SessionClaims("111111111111", "arn:aws:iam::111111111111:role/Dev", "AROAEXAMPLE0000000000", "alice", now, now + lifetime)
    return issue(context.key_ring(), claims)


def test_live_session_authenticates(context: ServiceContext) -> None:
    credentials = session(context)
    caller = authenticate(context, signed(credentials.access_key_id, credentials.secret_access_key, credentials.session_token))
    assert caller.claims.session_name == "alice"


def test_expired_session(context: ServiceContext) -> None:
    credentials = session(context)
    context.clock = lambda: datetime.now(UTC) + timedelta(seconds=901)
    with pytest.raises(ServiceError) as info:
        authenticate(context, signed(credentials.access_key_id, credentials.secret_access_key, credentials.session_token))
    assert (info.value.code, info.value.message, info.value.status) == ("ExpiredToken", "The security token included in the request is expired", 403)


def test_a_session_expires_at_its_expiration_second(context: ServiceContext) -> None:
    """Valid before `expires_at`, expired from it on (the Expiration the client was given)."""
    credentials = session(context)
    expires = datetime.fromtimestamp(credentials.claims.expires_at, UTC)
    request = signed(credentials.access_key_id, credentials.secret_access_key, credentials.session_token)
    context.clock = lambda: expires - timedelta(milliseconds=1)  # the signature is at most 15 minutes old: no skew error
    assert authenticate(context, request).claims.session_name == "alice"
    context.clock = lambda: expires
    with pytest.raises(ServiceError) as info:
        authenticate(context, request)
    assert info.value.code == "ExpiredToken"


@pytest.mark.parametrize("case", ["no-token", "other-token", "wrong-secret"])
def test_bad_temporary_credentials(context: ServiceContext, case: str) -> None:
    credentials, other = session(context), session(context)
    token = {"no-token": None, "other-token": other.session_token}.get(case, credentials.session_token)
    secret = "x" * 40 if case == "wrong-secret" else credentials.secret_access_key
    with pytest.raises(ServiceError) as info:
        authenticate(context, signed(credentials.access_key_id, secret, token))
    expected = "SignatureDoesNotMatch" if case == "wrong-secret" else "InvalidClientTokenId"
    assert info.value.code == expected

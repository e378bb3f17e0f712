"""The authorization client never follows a redirect: urllib would send the Bearer key on to wherever the redirect
points (another host included) and read that place's answer to a GET as the decision. A redirect is an
AuthorizationError, so the gateway fails closed."""

from __future__ import annotations

import urllib.request
from email.message import Message
from io import BytesIO
from urllib.response import addinfourl

import pytest

from samlfed.authz.client import AuthorizationClient, AuthorizationError


def test_a_redirect_is_an_error_and_the_key_stays_home(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str, str | None]] = []

    def sites(handler: urllib.request.HTTPHandler, request: urllib.request.Request) -> addinfourl:
        """samlfed.test answers every request with a redirect to elsewhere.test, which says "allowed" to anyone."""
        asked.append((request.get_method(), request.full_url, request.get_header("Authorization")))
        headers = Message()
        if request.full_url.startswith("http://samlfed.test/"):
            headers["Location"] = "http://elsewhere.test/collect"
            answer = addinfourl(BytesIO(b""), headers, request.full_url, 302)
        else:
            headers["Content-Type"] = "application/json"
            answer = addinfourl(BytesIO(b'{"allowed": true, "decision": "allowed"}'), headers, request.full_url, 200)
        answer.msg = "Found" if answer.status == 302 else "OK"
        return answer

    monkeypatch.setattr(urllib.request.HTTPHandler, "http_open", sites)
    client = AuthorizationClient("http://samlfed.test", "sfk_0123456789abcdef_secret")
    with pytest.raises(AuthorizationError, match=r"samlfed refused the authorization request \(302\)"):
        client.authorize("GET", "/b/k", "", {"host": "s3.example"}, None, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    assert asked == [("POST", "http://samlfed.test/authz/v1/authorize", "Bearer sfk_0123456789abcdef_secret")]

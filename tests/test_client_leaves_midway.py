"""A client that closes the connection halfway through a form body, on every page that reads one: the request ends
as a refused form (nothing can be delivered), never as an application error whose traceback fills the log."""

from __future__ import annotations

import logging

import pytest
from asgi_driver import asgi_call

from samlfed.config import Settings
from samlfed.server import build_server_app

FORM_POSTS = [
    "/saml",
    "/saml/acs/4b6f1d1e-6c6b-4a43-9a46-2f5d8a4b1c11",
    "/federation",
    "/console/switch",
    "/console/signout",
    "/idp/login",
    "/idp/sso",
    "/idp/ecp",
    "/idp/logout",
    "/idp/launch/aws",
    "/authz/v1/authorize",
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):  # type: ignore[no-untyped-def]
    return build_server_app(Settings(data_dir=tmp_path_factory.mktemp("data"), with_idp=True))


@pytest.mark.parametrize("path", FORM_POSTS)
def test_a_client_leaving_mid_body_is_no_application_error(app, path: str, caplog: pytest.LogCaptureFixture) -> None:
    headers = [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"100")]
    with caplog.at_level(logging.WARNING):
        sent = asgi_call(app, "POST", path, [b"SAMLResponse=abc", None], headers)  # then the client disconnects
    statuses = [message["status"] for message in sent if message["type"] == "http.response.start"]
    assert all(status < 500 for status in statuses), statuses
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info], caplog.text

"""Lone surrogates in an authorization body: a 400 BadRequest with a JSON body, never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from asgi_driver import asgi_call
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.authz.keys import create_authz_key
from samlfed.authz.web import AsciiJSONResponse
from samlfed.config import Settings
from samlfed.server import build_server_app
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


@pytest.fixture(scope="module")
def surrogate_world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    settings = Settings(data_dir=tmp_path_factory.mktemp("authz-surrogates"))
    ctx = developer_world(settings)
    credentials = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, response_b64(issue_instant=datetime.now(UTC)))).credentials
    request = AWSRequest(method="GET", url="https://s3.example.test/b/k", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    signed = {"method": "GET", "path": urlsplit(prepared.url).path, "query": "", "headers": {**dict(prepared.headers), "host": "s3.example.test"}}
    return {"app": build_server_app(settings, ctx), "key": create_authz_key(ctx, "surrogates").key, "signed": signed}


def _post(world: dict, body: bytes) -> tuple[int, bytes]:
    headers = [(b"authorization", f"Bearer {world['key']}".encode()), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    sent = asgi_call(world["app"], "POST", "/authz/v1/authorize", [body], headers)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("where", ["authorization", "action", "key"])
def test_a_lone_surrogate_is_a_bad_request(surrogate_world: dict, where: str) -> None:
    signed = surrogate_world["signed"]
    body: dict = {"request": signed, "action": "s3:GetObject", "resource": "*"}
    if where == "authorization":
        body["request"] = {**signed, "headers": {**signed["headers"], "Authorization": "\ud800"}}
    elif where == "action":
        body["action"] = "s3:\udfffGetObject"
    else:
        body["context"] = {"\ud800": "x"}
    status, answer = _post(surrogate_world, json.dumps(body).encode())  # ensure_ascii: sent as \ud800 escapes
    assert status == 400, answer[:300]
    assert json.loads(answer)["error"]["code"] == "BadRequest"


def test_answers_render_whatever_text_they_carry() -> None:
    rendered = AsciiJSONResponse({"error": {"message": "key \ud800 é"}}).body
    assert json.loads(rendered) == {"error": {"message": "key \ud800 é"}}

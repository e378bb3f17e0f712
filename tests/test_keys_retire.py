"""`samlfed keys list` and `samlfed keys retire`: what a retired key sealed stops working, on every node."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from postgres_scratch import fresh_store
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread
from service_world import developer_world
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.masterkey import MasterKey
from samlfed.server import build_context, build_server_app
from samlfed.store import Conflict, NotFound, SqlStore
from samlfed.sts.credentials import InvalidSessionToken, KeyRing, SessionClaims, issue
from samlfed.sts.ring_keys import retire_ring_key

GRACE = timedelta(hours=24, seconds=60)
"""12 hours of credentials, 12 more of a /federation console session made from them, and a minute in which other
nodes may still seal with the replaced key (ring_refresh_seconds)."""
runner = CliRunner()


def keys(*args: str, data_dir: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["keys", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def listed(data_dir: Path) -> list[dict]:
    code, output = keys("list", "--json", data_dir=data_dir)
    assert code == 0, output
    return json.loads(output)["Keys"]


def ring_made_at(ctx: ServiceContext, *moments: datetime) -> list[str]:
    """Start the ring at the first moment and rotate at each later one, through the context's own clock."""
    ids = []
    for index, moment in enumerate(moments):
        ctx.clock = lambda moment=moment: moment
        ids.append((ctx.key_ring() if index == 0 else ctx.rotate_key_ring()).active)
    return ids


def ring_read_long_ago(ctx: ServiceContext) -> None:
    """As if ring_refresh_seconds had passed on this node since it last read the ring."""
    ctx._ring_loaded -= ctx.ring_refresh_seconds + 1


def test_keys_list_json_shows_every_key_without_its_material(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ctx = build_context(Settings(data_dir=tmp_path))
    first, second, third = ring_made_at(ctx, now - timedelta(days=3), now - timedelta(days=2), now - timedelta(hours=1))
    code, text_output = keys("list", data_dir=tmp_path)
    json_output = runner.invoke(app, ["keys", "list", "--json", "--data-dir", str(tmp_path)]).output
    assert json.loads(json_output) == {"Keys": [
        {"KeyId": first, "CreatedAt": _iso(now - timedelta(days=3)), "Active": False,
         "SupersededAt": _iso(now - timedelta(days=2)), "RetirableAt": _iso(now - timedelta(days=2) + GRACE)},
        {"KeyId": second, "CreatedAt": _iso(now - timedelta(days=2)), "Active": False,
         "SupersededAt": _iso(now - timedelta(hours=1)), "RetirableAt": _iso(now - timedelta(hours=1) + GRACE)},
        {"KeyId": third, "CreatedAt": _iso(now - timedelta(hours=1)), "Active": True, "SupersededAt": None, "RetirableAt": None},
    ]}
    assert code == 0 and text_output.splitlines()[-1] == f"{third}  created {_iso(now - timedelta(hours=1))}  active"
    stored = ctx.store.list_server_keys()
    for material in [*ctx.key_ring().keys.values(), *(k.sealed_key for k in stored)]:
        for shown in (material.hex(), base64.b64encode(material).decode(), base64.urlsafe_b64encode(material).decode()):
            assert shown not in json_output and shown not in text_output


def test_keys_list_of_a_store_without_a_ring(tmp_path: Path) -> None:
    build_context(Settings(data_dir=tmp_path))
    assert listed(tmp_path) == []


def test_retire_refuses_the_active_key_an_unknown_id_and_a_recently_replaced_key(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old, recent, active = ring_made_at(build_context(Settings(data_dir=tmp_path)), now - timedelta(days=3), now - timedelta(days=2), now - timedelta(hours=1))
    code, output = keys("retire", active, "--force", data_dir=tmp_path)
    assert code == 2 and f"{active} is the active key; run samlfed keys rotate first" in output
    for unknown in ("0badc0de", "not-a-key-id", ""):
        code, output = keys("retire", unknown, "--force", data_dir=tmp_path)
        assert code == 2 and f"no key {unknown} in the ring" in output
    code, output = keys("retire", recent, data_dir=tmp_path)
    assert code == 2 and "Traceback" not in output
    assert f"credentials and console sessions sealed with {recent} may be valid until {_iso(now - timedelta(hours=1) + GRACE)}" in output
    assert "--force" in output
    assert [k["KeyId"] for k in listed(tmp_path)] == [old, recent, active]
    code, output = keys("retire", old, data_dir=tmp_path)  # replaced two days ago: nothing it sealed is valid now
    assert code == 0 and output.startswith(f"retired key {old}; every node stops accepting it by ") and "forced" not in output
    assert [k["KeyId"] for k in listed(tmp_path)] == [recent, active]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sts(url: str, credentials: dict | None = None):  # type: ignore[no-untyped-def]
    if credentials is None:
        return boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    return boto3.client(
        "sts", endpoint_url=url, region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )


def _assume(url: str) -> dict:
    assertion = response_b64(issue_instant=datetime.now(UTC))
    return _sts(url).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]


def _console_cookie(url: str, credentials: dict) -> str:
    """A console session made through /federation from `credentials`: the cookie that names it."""
    session = json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})
    token = httpx.post(f"{url}/federation", data={"Action": "getSigninToken", "Session": session, "SessionDuration": "43200"}).json()["SigninToken"]
    login = httpx.get(f"{url}/federation", params={"Action": "login", "SigninToken": token, "Destination": "/console"})
    assert login.status_code == 302, login.text
    return login.cookies["samlfed_console"]


def _signin_token_answer(url: str, credentials: dict) -> httpx.Response:
    session = json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})
    return httpx.post(f"{url}/federation", data={"Action": "getSigninToken", "Session": session})


def test_forced_retire_breaks_what_the_key_sealed_on_a_running_server(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    ctx = developer_world(settings)
    with app_in_thread(build_server_app(settings, ctx)) as url:
        old = _assume(url)
        old_console = _console_cookie(url, old)
        [retiring] = [k["KeyId"] for k in listed(tmp_path)]
        assert keys("rotate", data_dir=tmp_path)[0] == 0
        ring_read_long_ago(ctx)
        new = _assume(url)
        assert ctx.key_ring().active != retiring
        code, output = keys("retire", retiring, data_dir=tmp_path)
        assert code == 2 and "may be valid until" in output
        assert _sts(url, old).get_caller_identity()["Arn"].endswith(":assumed-role/Developer/alice@example.com")

        code, output = keys("retire", retiring, "--force", "--json", data_dir=tmp_path)
        assert code == 0, output
        answer = json.loads(output)
        assert answer["KeyId"] == retiring and answer["Retired"] is True and answer["BreaksSessionsValidUntil"] is not None
        ring_read_long_ago(ctx)  # the server's next periodic ring read
        with pytest.raises(ClientError) as refused:
            _sts(url, old).get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert refused.value.response["Error"]["Message"] == "The security token included in the request is invalid"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        answer = _signin_token_answer(url, old)
        assert (answer.status_code, answer.text) == (403, "The security token included in the request is invalid.")
        assert httpx.get(f"{url}/console", cookies={"samlfed_console": old_console}).status_code == 401  # signed out

        assert _sts(url, new).get_caller_identity()["Arn"].endswith(":assumed-role/Developer/alice@example.com")
        assert _signin_token_answer(url, new).status_code == 200
        assert "Developer" in httpx.get(f"{url}/console", cookies={"samlfed_console": _console_cookie(url, new)}).text


def test_forced_retire_says_what_it_breaks(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old, _ = ring_made_at(build_context(Settings(data_dir=tmp_path)), now - timedelta(hours=2), now - timedelta(hours=1))
    code, output = keys("retire", old, "--force", data_dir=tmp_path)
    assert code == 0
    assert f"forced: credentials sealed with it (which may be valid until {_iso(now - timedelta(hours=1) + GRACE)})" in output
    assert "console sessions and sign-in tokens made from them and the sessions chained from them stop working now" in output


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with fresh_store(request.param, tmp_path) as store:
        yield store


def test_a_retired_key_stops_opening_on_another_node_at_its_next_ring_read(store: SqlStore) -> None:
    now = datetime.now(UTC)
    master = MasterKey(secrets.token_bytes(32))
    claims = SessionClaims(account_id="111111111111", role_arn="arn:aws:iam::111111111111:role/R", role_id="AROAEXAMPLE", session_name="s", issued_at=1, expires_at=2)
    sealing = ServiceContext(store=store, master=master)
    old_key, _ = ring_made_at(sealing, now - timedelta(days=3), now - timedelta(days=2))
    old = issue(ring_while_sealing_with(sealing, old_key), claims)
    new = issue(sealing.key_ring(), claims)
    other = ServiceContext(store=store, master=master)  # another node, its ring read before the retirement
    assert other.open_session(old.access_key_id, old.session_token).claims == claims

    retire_ring_key(ServiceContext(store=store, master=master), old_key, force=False, now=now)
    ring_read_long_ago(other)
    with pytest.raises(InvalidSessionToken):
        other.open_session(old.access_key_id, old.session_token)
    assert other.open_session(new.access_key_id, new.session_token).secret_access_key == new.secret_access_key
    assert [k.key_id for k in store.list_server_keys()] == [sealing.key_ring().active]


def ring_while_sealing_with(ctx: ServiceContext, key_id: str) -> KeyRing:
    """The context's ring as it was while `key_id` was the active key."""
    return KeyRing(ctx.key_ring().keys, key_id)


def test_the_store_never_deletes_the_active_key(store: SqlStore) -> None:
    ctx = ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32)))
    active = ctx.key_ring().active
    with pytest.raises(Conflict):
        store.delete_server_key(active)
    with pytest.raises(NotFound):
        store.delete_server_key("0badc0de")
    assert [k.key_id for k in store.list_server_keys()] == [active]

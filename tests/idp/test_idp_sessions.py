"""IdP sessions end server-side (sign-out, credential change) on every worker; a TOTP code signs in once; log
lines cannot be forged through a request; https deployments send HSTS."""

from __future__ import annotations

import base64
import logging
import stat
import subprocess
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyotp
import pytest
from demo_stack import forms, login
from servers import SAMLFED, app_in_thread
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from samlfed.config import Settings
from samlfed.forwarding import ForwardingWatch
from samlfed.idp.directory import hash_password, load_users, read_yaml, write_yaml
from samlfed.idp.service import IdentityProvider
from samlfed.idp.state import STATE_FILE
from samlfed.idp.web import IdpApp
from samlfed.server import build_context, build_server_app


def _another_worker(demo: dict) -> Starlette:
    """The IdP as a second worker process builds it: its own objects over the same IdP directory."""
    idp = demo["idp"]
    app = IdpApp(IdentityProvider(idp.config_path, idp.keys.directory, idp.base_url), ForwardingWatch(())).app()
    return Starlette(routes=[Route("/healthz", lambda _: PlainTextResponse("ok")), Mount("/idp", app=app)])


def _portal_status(url: str, cookie: str) -> int:
    with httpx.Client(cookies={"samlfed_idp": cookie}) as replay:
        return replay.get(f"{url}/idp/").status_code


def test_sign_out_ends_the_session_even_for_a_copy_of_the_cookie_on_any_worker(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        portal = browser.get(f"{demo['url']}/idp/")
        cookie = browser.cookies["samlfed_idp"]
        with httpx.Client() as elsewhere:  # the same user in another browser
            login(demo, elsewhere, "alice")
            other_cookie = elsewhere.cookies["samlfed_idp"]
        with app_in_thread(_another_worker(demo)) as worker:
            assert _portal_status(demo["url"], cookie) == 200 and _portal_status(worker, cookie) == 200
            logout = next(f for f in forms(portal) if (f["action"] or "").endswith("/logout"))
            browser.post(logout["action"], data=logout["fields"])
            assert _portal_status(worker, cookie) == 303
    assert _portal_status(demo["url"], cookie) == 303
    assert _portal_status(demo["url"], other_cookie) == 303  # sign-out ends every session of the user
    with httpx.Client() as browser:  # signing in again works
        login(demo, browser, "alice")
        assert browser.get(f"{demo['url']}/idp/").status_code == 200


def test_a_password_change_ends_the_sessions_made_with_the_old_one(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "bob")
        cookie = browser.cookies["samlfed_idp"]
    assert _portal_status(demo["url"], cookie) == 200
    config = read_yaml(demo["idp"].config_path)
    config["users"]["bob"]["password_hash"] = hash_password(demo["passwords"]["bob"])  # `idp users passwd` (same text, new hash)
    write_yaml(demo["idp"].config_path, config)
    assert _portal_status(demo["url"], cookie) == 303


def _set_disabled(demo: dict, username: str, disabled: bool) -> None:
    """Disable or re-enable a user as an operator does: by editing idp.yaml."""
    config = read_yaml(demo["idp"].config_path)
    config["users"][username]["disabled"] = disabled
    write_yaml(demo["idp"].config_path, config)


def test_re_enabling_a_disabled_user_does_not_bring_back_the_sessions_it_had(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "bob")
        cookie = browser.cookies["samlfed_idp"]
    with app_in_thread(_another_worker(demo)) as worker:
        assert _portal_status(worker, cookie) == 200
        _set_disabled(demo, "bob", True)
        try:
            assert _portal_status(demo["url"], cookie) == 303
        finally:
            _set_disabled(demo, "bob", False)
        assert _portal_status(demo["url"], cookie) == 303
        assert _portal_status(worker, cookie) == 303  # a worker that never read the file while bob was disabled
    with httpx.Client() as browser:  # signing in again works
        login(demo, browser, "bob")
        assert browser.get(f"{demo['url']}/idp/").status_code == 200


def test_disabling_on_the_command_line_ends_the_sessions_though_no_request_came_before_the_enabling(demo: dict) -> None:
    """`idp users disable` then `enable`, with no request in between: the serving IdP never reads a file that disables
    the user, so the command ends the sessions itself."""
    with httpx.Client() as browser:
        login(demo, browser, "bob")
        cookie = browser.cookies["samlfed_idp"]
    assert _portal_status(demo["url"], cookie) == 200
    idp_dir = str(demo["idp"].config_path.parent)
    said = []
    for command in ("disable", "enable"):
        done = subprocess.run([SAMLFED, "idp", "users", command, "bob", "--idp-dir", idp_dir], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        said.append(done.stdout)
    assert said == ["disabled bob; their IdP sessions have ended\n", "enabled bob\n"]
    assert "disabled" not in read_yaml(demo["idp"].config_path)["users"]["bob"]
    assert _portal_status(demo["url"], cookie) == 303
    with httpx.Client() as browser:
        login(demo, browser, "bob")
        assert browser.get(f"{demo['url']}/idp/").status_code == 200
    missing = subprocess.run([SAMLFED, "idp", "users", "disable", "nobody", "--idp-dir", idp_dir], capture_output=True, text=True, timeout=60)
    assert (missing.returncode, missing.stderr) == (2, "samlfed: no user 'nobody'\n")


def test_a_disable_and_enable_by_hand_with_no_request_in_between_ends_the_sessions(demo: dict) -> None:
    """The IdP reads only the final file, in which bob's entry is as it was, as alice's is: what happened in
    between cannot be known, so an edit not made by samlfed ends every session, on every worker. samlfed's own
    commands say what they changed, and end only the sessions their change ends."""
    cookies = {}
    for name in ("alice", "bob"):
        with httpx.Client() as browser:
            login(demo, browser, name)
            cookies[name] = browser.cookies["samlfed_idp"]
    path = demo["idp"].config_path
    original = read_yaml(path)["users"]["bob"]
    with app_in_thread(_another_worker(demo)) as worker:
        assert _portal_status(worker, cookies["bob"]) == 200  # this worker read the file before the edits
        _set_disabled(demo, "bob", True)
        config = read_yaml(path)
        del config["users"]["bob"]["disabled"]  # enabled again as an editor does it: the entry as it was
        write_yaml(path, config)
        assert read_yaml(path)["users"]["bob"] == original
        assert _portal_status(worker, cookies["bob"]) == 303
        assert _portal_status(demo["url"], cookies["bob"]) == 303
        assert _portal_status(demo["url"], cookies["alice"]) == 303  # no one can tell her entry from bob's
        with httpx.Client() as browser:
            login(demo, browser, "alice")
            cookies["alice"] = browser.cookies["samlfed_idp"]
        idp_dir = str(path.parent)
        for command in (["add", "carol", "--password-stdin"], ["disable", "bob"], ["enable", "bob"]):
            done = subprocess.run([SAMLFED, "idp", "users", *command, "--idp-dir", idp_dir], input="carol's password\n",
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        assert _portal_status(demo["url"], cookies["alice"]) == 200 and _portal_status(worker, cookies["alice"]) == 200
        config = read_yaml(path)
        del config["users"]["carol"]
        write_yaml(path, config)
        assert _portal_status(worker, cookies["alice"]) == 303


@pytest.mark.parametrize("made_anew", ["removed", "replaced by an empty file"])
def test_a_state_file_made_anew_ends_the_sessions_of_the_old_one_from_the_first_request_of_every_worker(demo: dict, made_anew: str) -> None:
    """Its generations start again at 0: a session a sign-out had ended would otherwise be valid again, so its first
    epoch, a random one, ends them all. Each worker made the tables of the file it opened first and finds them gone
    on its own: it makes them again and answers the request, with no 503 in between."""
    path = demo["idp"].config_path.parent / STATE_FILE

    def make_anew() -> None:
        path.unlink()
        if made_anew == "replaced by an empty file":
            path.write_bytes(b"")

    with httpx.Client() as browser:
        login(demo, browser, "alice")
        cookie = browser.cookies["samlfed_idp"]
    with app_in_thread(_another_worker(demo)) as worker:
        assert _portal_status(demo["url"], cookie) == 200 and _portal_status(worker, cookie) == 200  # both made the tables
        for url in (demo["url"], worker):
            make_anew()
            assert _portal_status(url, cookie) == 303
    if made_anew == "removed":  # made by the IdP: owner-only, as the first one
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    make_anew()
    with httpx.Client() as browser:  # a sign-in as the first request: the throttle counts it in the new file
        assert login(demo, browser, "alice").status_code == 303
        assert browser.get(f"{demo['url']}/idp/").status_code == 200


def test_a_totp_code_signs_in_once_on_the_web_on_ecp_and_on_another_worker(demo: dict) -> None:
    secret, password = demo["totp"]["admin"], demo["passwords"]["admin"]
    code = pyotp.TOTP(secret).now()
    with httpx.Client() as browser:
        assert login(demo, browser, "admin", otp=code).status_code == 303
    with httpx.Client() as thief:
        assert login(demo, thief, "admin", otp=code).status_code == 401
    envelope = (b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
                b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
                b'ID="_ecp-totp" Version="2.0" IssueInstant="' + f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}".encode() + b'" '
                b'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:PAOS"><saml:Issuer>urn:amazon:webservices</saml:Issuer>'
                b"</samlp:AuthnRequest></S:Body></S:Envelope>")
    ecp = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("admin", password), headers={"X-Samlfed-OTP": code})
    assert ecp.status_code == 401
    worker = demo["idp"].__class__(demo["idp"].config_path, demo["idp"].keys.directory, demo["idp"].base_url)
    assert worker.config.directory.authenticate("admin", password, code) is None


def test_a_directory_outside_the_server_refuses_reuse_and_takes_a_later_code() -> None:
    secret = pyotp.random_base32()
    directory = load_users({"grace": {"password_hash": hash_password("grace's password"), "totp_secret": secret}})
    now = pyotp.TOTP(secret).now()
    assert directory.authenticate("grace", "grace's password", now) is not None
    assert directory.authenticate("grace", "grace's password", now) is None
    later = pyotp.TOTP(secret).at(time.time() + 30)
    assert directory.authenticate("grace", "grace's password", later) is not None
    assert directory.authenticate("grace", "grace's password", now) is None  # never one before the last accepted


def test_request_text_cannot_forge_a_log_line(demo: dict, caplog) -> None:  # type: ignore[no-untyped-def]
    forged = "https://evil.example/sp\n2030-01-01 00:00:00,000 INFO samlfed.idp login user=admin address='10.0.0.1'"
    xml = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
           f'ID="_forge" Version="2.0" IssueInstant="{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"><saml:Issuer>{forged}</saml:Issuer></samlp:AuthnRequest>').encode()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    query = urlencode({"SAMLRequest": base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()})
    with caplog.at_level(logging.INFO, logger="samlfed.idp"):
        assert httpx.get(f"{demo['url']}/idp/sso?{query}").status_code == 400
        deadline = time.monotonic() + 5
        while not [r for r in caplog.records if "AuthnRequest refused" in r.getMessage()] and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records if "AuthnRequest refused" in r.getMessage()]
    assert lines and all("\n" not in line and "\r" not in line for line in lines), lines
    assert "evil.example" in lines[0]


def test_idp_pages_send_hsts_behind_https(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://idp.example.test", with_idp=True)
    with app_in_thread(build_server_app(settings, build_context(settings))) as url:
        answers = [httpx.get(f"{url}/idp/login"), httpx.get(f"{url}/idp/sso")]
    for answer in answers:
        assert answer.headers["strict-transport-security"] == "max-age=31536000"

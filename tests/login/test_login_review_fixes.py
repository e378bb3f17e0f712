"""Findings of a black-box review of `samlfed login`: the role an unattended refresh picks, credentials shorter than
asked, ECP options with a browser sign-in, and a piped password with remember_password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from demo_stack import demo_server
from login_setup import samlfed, write_profile
from saml_factory import response_b64
from servers import app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from samlfed.cli_login import _shortened
from samlfed.iam.arns import role_arn
from samlfed.iam.roles import create_role
from samlfed.idp.demo import provider_arn
from samlfed.idp.directory import read_yaml, write_yaml
from samlfed.login.credentials_file import AwsCredentials
from samlfed.login.ecp import ecp_login
from samlfed.login.roles import RoleOption, roles_in
from samlfed.saml.constants import BINDING_HTTP_REDIRECT
from samlfed.saml.metadata import SsoEndpoint, build_idp_metadata
from samlfed.saml.signing import IdpSigner

DEV, PROD = "111111111111", "222222222222"


@pytest.fixture(scope="module")
def role_offered_in_one_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The demo with an Auditor role in the first account only, and alice's response naming Auditor in both: samlfed
    offers her only the one that exists, so the name alone is unique among the roles offered, not those named."""

    def prepare(ctx, idp, url: str) -> None:  # type: ignore[no-untyped-def]
        trust = {"Effect": "Allow", "Principal": {"Federated": provider_arn(DEV)},
                 "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
                 "Condition": {"StringEquals": {"SAML:aud": f"{url}/saml"}}}
        create_role(ctx, DEV, "Auditor", json.dumps({"Version": "2012-10-17", "Statement": [trust]}), max_session_duration=3600, description=None)
        config = read_yaml(idp.config_path)  # the file the serving IdP reads
        config["users"]["alice"]["groups"] += [f"AWS-{DEV}-Auditor", f"AWS-{PROD}-Auditor"]
        write_yaml(idp.config_path, config)

    with demo_server(tmp_path_factory.mktemp("offered"), prepare=prepare) as stack:
        yield stack


def test_a_refresh_looks_a_role_name_up_among_the_roles_offered_as_login_does(role_offered_in_one_account: dict, tmp_path: Path) -> None:
    demo = role_offered_in_one_account
    response = ecp_login(f"{demo['url']}/idp/ecp", sp_entity_id="urn:amazon:webservices", acs_url=f"{demo['url']}/saml", username="alice",
                         password=demo["passwords"]["alice"])
    assert role_arn(PROD, "Auditor") in [option.role_arn for option in roles_in(response)]  # named, but not offered
    write_profile(tmp_path, demo["url"], username="alice", role="Auditor", remember_password=True)
    login = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--print", "json", stdin=demo["passwords"]["alice"] + "\n")
    assert login.returncode == 0, login.stderr
    (tmp_path / ".cache" / "samlfed" / "credentials" / "demo.json").unlink()  # nothing cached: credential-process signs in
    refreshed = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert refreshed.returncode == 0, refreshed.stderr
    cached = json.loads((tmp_path / ".cache" / "samlfed" / "credentials" / "demo.json").read_text())
    assert cached["role"] == role_arn(DEV, "Auditor") and role_arn(PROD, "Auditor") not in cached["offered"]


def test_login_says_when_the_session_duration_attribute_shortens_the_credentials(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice")  # the demo IdP sends SessionDuration 3600
    asked = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(DEV, "Developer"), "--duration", "7200",
                    "--print", "json", stdin=demo["passwords"]["alice"] + "\n")
    assert asked.returncode == 0, asked.stderr
    assert ("note: Developer: the credentials last about 60 minutes, less than the 7200 seconds asked: "
            "the identity provider's SessionDuration attribute (3600 seconds) limits them") in asked.stderr
    exact = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(DEV, "Developer"), "--duration", "3600",
                    "--print", "json", stdin=demo["passwords"]["alice"] + "\n")
    assert exact.returncode == 0 and "note:" not in exact.stderr, exact.stderr


@pytest.fixture
def browser_only_idp() -> Iterator[str]:
    """IdP metadata that offers no ECP endpoint: `login` falls back to the browser."""
    signer = IdpSigner.generate("browser-only IdP")
    metadata = build_idp_metadata("https://idp.test/metadata", [signer.certificate],
                                  sso_endpoints=[SsoEndpoint(BINDING_HTTP_REDIRECT, "https://idp.test/sso")])

    async def serve(_: Request) -> Response:
        return Response(metadata, media_type="application/samlmetadata+xml")

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    with app_in_thread(Starlette(routes=[Route("/healthz", healthz), Route("/idp/metadata", serve)])) as url:
        yield url


@pytest.mark.parametrize("option", [["--password-stdin"], ["--username", "alice"], ["--otp", "123456"]])
def test_ecp_options_with_a_browser_sign_in_are_a_usage_error(browser_only_idp: str, tmp_path: Path, option: list[str]) -> None:
    write_profile(tmp_path, browser_only_idp)
    fallback = samlfed(tmp_path, "login", "--profile", "demo", *option, stdin="s3cret-pass\n")
    assert fallback.returncode == 2, fallback.stderr
    assert option[0] in fallback.stderr and "the IdP metadata names no ECP endpoint" in fallback.stderr
    assert "Sign in in your browser" not in fallback.stderr
    chosen = samlfed(tmp_path, "login", "--profile", "demo", "--method", "browser", *option, stdin="s3cret-pass\n")
    assert chosen.returncode == 2 and "only for ECP sign-in, but --method browser signs in in the browser" in chosen.stderr


def test_a_piped_password_is_kept_only_after_the_idp_took_it(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    wrong = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="not-her-password\n")
    assert wrong.returncode == 1
    assert not (tmp_path / "keyring.json").exists()
    right = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin=demo["passwords"]["alice"] + "\n")
    assert right.returncode == 0, right.stderr
    assert json.loads((tmp_path / "keyring.json").read_text()) == {"samlfed\x00demo:alice": demo["passwords"]["alice"]}



def test_the_note_names_what_shortened_the_credentials() -> None:
    now = datetime.now(UTC)
    option = RoleOption(role_arn(DEV, "Developer"), f"arn:aws:iam::{DEV}:saml-provider/P")

    def lasting(seconds: int) -> AwsCredentials:
        return AwsCredentials("ASIA", "s", "t", now + timedelta(seconds=seconds))

    ends = (now + timedelta(minutes=30)).replace(microsecond=0)
    by_session = _shortened(option, response_b64(session_duration=None, session_not_on_or_after=ends), 3600, lasting(1800), now)
    assert by_session is not None and "the identity provider's session ends at" in by_session and "(SessionNotOnOrAfter)" in by_session
    unexplained = _shortened(option, response_b64(session_duration=None), 7200, lasting(3600), now)
    assert unexplained == "Developer: the credentials last about 60 minutes, less than the 7200 seconds asked: the server did not say why"
    assert _shortened(option, response_b64(session_duration=None), 3600, lasting(3600), now) is None
    assert _shortened(option, response_b64(), None, lasting(900), now) is None  # nothing asked, nothing to compare
    # Found by probing: this computer's clock 4 minutes fast, an IdP session ending 100 s after the full 3600 s
    fast = now + timedelta(minutes=4)
    later = (now + timedelta(seconds=3700)).replace(microsecond=0)
    assert _shortened(option, response_b64(session_duration=None, session_not_on_or_after=later), 3600, lasting(3600), fast) is None

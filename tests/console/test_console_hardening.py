"""Console edge cases: HEAD on /federation, the per-provider ACS chooser, over-long RelayState, HSTS, and text
that is not Unicode in the federation Session."""

from __future__ import annotations

import json

import boto3
import httpx
from botocore import UNSIGNED
from botocore.config import Config
from console_setup import FACTORY_ACCOUNT, FACTORY_PROVIDER, VIEWER, add_factory_account, factory_response
from demo_stack import forms
from servers import app_in_thread

from samlfed.config import Settings
from samlfed.server import build_context, build_server_app


def _session_json(demo: dict) -> str:
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    credentials = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response())["Credentials"]
    return json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})


def test_head_does_not_redeem_the_sign_in_token(demo: dict) -> None:
    url = f"{demo['url']}/federation"
    token = httpx.get(url, params={"Action": "getSigninToken", "Session": _session_json(demo)}).json()["SigninToken"]
    params = {"Action": "login", "Destination": "/console", "SigninToken": token}
    head = httpx.head(url, params=params)  # a link checker or chat preview looking at the URL
    assert head.status_code == 405 and "set-cookie" not in head.headers
    assert httpx.get(url, params=params).status_code == 302  # the user's click still signs in


def test_the_chooser_of_a_provider_acs_posts_back_to_that_acs(demo: dict) -> None:
    uuid = demo["ctx"].store.get_provider(FACTORY_PROVIDER).uuid
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml/acs/{uuid}", data={"SAMLResponse": factory_response()})
        form = forms(page)[0]
        assert form["action"] == f"/saml/acs/{uuid}"
        # Its token does not open the unrestricted /saml.
        assert browser.post(f"{demo['url']}/saml", data={**form["fields"], "roleIndex": VIEWER}).status_code == 403
        answer = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": VIEWER})
    assert answer.status_code == 303 and answer.headers["location"] == "/console"


def test_an_over_long_relay_state_lands_on_the_console_home(demo: dict) -> None:
    relay_state = "/console?region=us-west-2&pad=" + "a" * 3000  # cut at 2048, it would still be a console page
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response(), "RelayState": relay_state})
        form = forms(page)[0]
        assert form["fields"]["RelayState"] == ""
        answer = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": VIEWER})
    assert answer.headers["location"] == "/console"


def test_a_lone_surrogate_in_the_session_is_a_400(demo: dict) -> None:
    for key in ("sessionKey", "sessionId", "sessionToken"):
        session = json.loads(_session_json(demo))
        session[key] = "\ud800"
        answer = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "Session": json.dumps(session)})
        assert answer.status_code == 400, key


def test_hsts_only_when_the_public_url_is_https(demo: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert "strict-transport-security" not in httpx.get(f"{demo['url']}/console").headers
    settings = Settings(data_dir=tmp_path, public_url="https://console.example.test")
    ctx = build_context(settings)
    add_factory_account(ctx)
    with app_in_thread(build_server_app(settings, ctx)) as url:
        pages = [httpx.get(f"{url}/console"), httpx.post(f"{url}/saml", data={"SAMLResponse": factory_response()}),
                 httpx.post(f"{url}/saml", data={"SAMLResponse": "not base64"})]
    for page in pages:
        assert page.headers["strict-transport-security"] == "max-age=31536000", page.status_code
    assert FACTORY_ACCOUNT in pages[1].text

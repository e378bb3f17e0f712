"""Console sign-in, from an audit: account boundaries on the ACS, switch role with a large response, form size
refusals, the federation endpoint (SessionDuration, tokens of large sessions, ended sessions, concurrent use) and
`samlfed console-url`."""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import httpx
from botocore import UNSIGNED
from botocore.config import Config
from console_setup import FACTORY_PROVIDER, VIEWER, factory_response
from demo_stack import forms
from servers import SAMLFED, app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from samlfed.iam.roles import create_role
from samlfed.sts.credentials import SessionClaims, issue

DEV = "111111111111"


def _session_json(demo: dict) -> str:
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    credentials = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response())["Credentials"]
    return json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})


def test_a_role_outside_the_providers_account_is_not_offered(demo: dict) -> None:
    # A role of account DEV whose trust policy names the factory provider of account 333333333333: AssumeRoleWithSAML
    # refuses the pair ("Principal exists outside the account of the Role being assumed."), so the console must too.
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": FACTORY_PROVIDER}, "Action": "sts:AssumeRoleWithSAML"}]}
    foreign = create_role(demo["ctx"], DEV, "TrustsAnotherAccount", json.dumps(trust)).arn
    saml_response = factory_response(roles=[f"{foreign},{FACTORY_PROVIDER}", f"{VIEWER},{FACTORY_PROVIDER}"])
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": saml_response})
        assert page.status_code == 200 and VIEWER in page.text
        assert foreign not in page.text and DEV not in page.text
        form = forms(page)[0]
        answer = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": foreign})
        assert answer.status_code == 403 and "samlfed_console" not in answer.headers.get("set-cookie", "")
    alone = httpx.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response(roles=[f"{foreign},{FACTORY_PROVIDER}"])})
    assert alone.status_code == 403 and "Not authorized to perform sts:AssumeRoleWithSAML" in alone.text
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    try:
        sts.assume_role_with_saml(RoleArn=foreign, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=saml_response)
        raise AssertionError("the API assumed a role outside the provider's account")
    except sts.exceptions.ClientError as error:
        assert error.response["Error"]["Message"] == "Principal exists outside the account of the Role being assumed."


def test_a_session_duration_of_thousands_of_digits_is_a_400(demo: dict) -> None:
    session = _session_json(demo)
    for duration in ("1" * 5000, "0" * 5000 + "900"):  # int() refuses over 4,300 digits with a ValueError
        for method in ("GET", "POST"):
            params = {"Action": "getSigninToken", "Session": session, "SessionDuration": duration}
            answer = httpx.request(method, f"{demo['url']}/federation", **({"params": params} if method == "GET" else {"data": params}))
            assert answer.status_code == 400 and "SessionDuration must be an integer from 900 to 43200." in answer.text, method


def test_switch_role_works_with_a_response_of_over_16_kb(demo: dict) -> None:
    # IdPs that send a long group list make responses of tens of KB; the switch chooser posts the response back.
    groups = {"https://aws.amazon.com/SAML/Attributes/groups": [f"group-{i:04d}-platform-engineering" for i in range(150)]}
    saml_response = factory_response(attributes=groups)
    assert len(saml_response) > 20_000
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": saml_response})
        form = forms(page)[0]
        assert browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": VIEWER}).status_code == 303
        switch = next(f for f in forms(browser.get(f"{demo['url']}/console")) if f["action"] == "/console/switch")
        chooser = forms(browser.post(f"{demo['url']}/console/switch", data=switch["fields"]))[0]
        answer = browser.post(f"{demo['url']}{chooser['action']}", data={**chooser["fields"], "roleIndex": VIEWER})
    assert answer.status_code == 303 and answer.headers["location"] == "/console"


def test_a_form_over_the_size_limit_is_refused_as_too_large(demo: dict) -> None:
    page = httpx.post(f"{demo['url']}/console/signout", data={"csrf": "x" * 20_000})
    assert page.status_code == 400 and "the request is too large" in page.text
    answer = httpx.post(f"{demo['url']}/federation", data={"Action": "getSigninToken", "Session": "x" * 300_000})
    assert answer.status_code == 400 and answer.text == "the request is too large"


def test_a_token_whose_console_session_has_already_ended_signs_nobody_in(demo: dict) -> None:
    # Without SessionDuration the console session lasts as long as the credentials: once they expire, the
    # still-unexpired token must not set a cookie for a session that is already over.
    ctx, now = demo["ctx"], int(datetime.now(UTC).timestamp())
    short = issue(ctx.key_ring(), SessionClaims(
        account_id="333333333333", role_arn=VIEWER, role_id="AROAEXAMPLE", session_name="short", issued_at=now, expires_at=now + 2,
    ))
    session = json.dumps({"sessionId": short.access_key_id, "sessionKey": short.secret_access_key, "sessionToken": short.session_token})
    url = f"{demo['url']}/federation"
    token = httpx.get(url, params={"Action": "getSigninToken", "Session": session}).json()["SigninToken"]
    time.sleep(3)
    answer = httpx.get(url, params={"Action": "login", "Destination": "/console", "SigninToken": token})
    assert answer.status_code == 400 and "location" not in answer.headers and "set-cookie" not in answer.headers


def test_console_url_works_when_the_endpoint_is_spelled_unlike_the_public_url(demo: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    credentials = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response())["Credentials"]
    env = {
        **os.environ, "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"], "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    endpoint = demo["url"].replace("127.0.0.1", "localhost")  # the public URL says 127.0.0.1
    done = subprocess.run([SAMLFED, "console-url", "--endpoint-url", endpoint], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = httpx.get(done.stdout.strip())
    assert answer.status_code == 302 and answer.headers["location"] == "/console"


def test_credentials_with_many_session_tags_sign_in_to_the_console(demo: dict) -> None:
    # 20 tags of 256 non-ASCII letters: AssumeRoleWithSAML takes them (packed size well under 100 %) and the API takes
    # the resulting session token of over 40 KB; the federation endpoint refused any Session over 8 KB.
    tags = {f"team{i:02d}": "\u00e9" * 256 for i in range(20)}
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    credentials = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response(principal_tags=tags))["Credentials"]
    assert len(credentials["SessionToken"]) > 40_000
    session = json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})
    got = httpx.post(f"{demo['url']}/federation", data={"Action": "getSigninToken", "Session": session})
    assert got.status_code == 200, got.text
    token = got.json()["SigninToken"]
    assert len(token) <= 100  # a login URL browsers and servers take (it was the sealed session token, longer still)
    with httpx.Client() as browser:
        answer = browser.get(f"{demo['url']}/federation", params={"Action": "login", "Destination": "/console", "SigninToken": token})
        assert answer.status_code == 302
        console = browser.get(f"{demo['url']}/console")
    assert console.status_code == 200 and "\u00e9" * 256 in console.text


def test_a_sign_in_token_redeemed_at_once_by_many_signs_in_one(demo: dict) -> None:
    token = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "Session": _session_json(demo)}).json()["SigninToken"]
    params = {"Action": "login", "Destination": "/console", "SigninToken": token}
    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(lambda _: httpx.get(f"{demo['url']}/federation", params=params).status_code, range(6)))
    assert statuses == [302, 400, 400, 400, 400, 400]


def test_console_url_reports_an_endpoint_that_answers_json_but_not_an_object(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def federation(_: Request) -> JSONResponse:
        return JSONResponse(["not", "samlfed"])

    routes = [Route("/healthz", lambda _: PlainTextResponse("ok")), Route("/federation", federation, methods=["POST"])]
    env = {
        **os.environ, "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    with app_in_thread(Starlette(routes=routes)) as url:
        done = subprocess.run([SAMLFED, "console-url", "--endpoint-url", url], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr and f"cannot reach {url}/federation" in done.stderr

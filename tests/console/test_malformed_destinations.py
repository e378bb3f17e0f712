"""A RelayState or federation Destination that urlsplit cannot read (an unbalanced IPv6 bracket) is a place we do not
send the browser, not a 500: the ACS lands on the console home, the federation login refuses it without using the token."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from console_setup import FACTORY_PROVIDER, VIEWER, factory_response
from demo_stack import forms

from samlfed.console.destinations import console_destination

UNREADABLE = ("https://[", "//[x", "http://[::1/console", "https://[v]/console")


@pytest.mark.parametrize("value", UNREADABLE)
def test_an_unreadable_url_is_no_console_page(value: str) -> None:
    assert console_destination(value, "https://samlfed.example.com") is None


def test_an_unreadable_relay_state_lands_on_the_console_home(demo: dict) -> None:
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response(), "RelayState": "https://["})
        assert page.status_code == 200
        form = forms(page)[0]
        answer = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": VIEWER})
    assert answer.status_code == 303 and answer.headers["location"] == "/console"


def test_an_unreadable_destination_is_refused_and_leaves_the_token_usable(demo: dict) -> None:
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    credentials = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response())["Credentials"]
    session = json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})
    url = f"{demo['url']}/federation"
    token = httpx.get(url, params={"Action": "getSigninToken", "Session": session}).json()["SigninToken"]
    refused = httpx.get(url, params={"Action": "login", "Destination": "https://[", "SigninToken": token})
    assert refused.status_code == 400 and "location" not in refused.headers
    answer = httpx.get(url, params={"Action": "login", "Destination": "/console", "SigninToken": token})
    assert answer.status_code == 302 and answer.headers["location"] == "/console"

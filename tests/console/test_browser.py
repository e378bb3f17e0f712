"""The console in a real browser: Debian's Chromium driven by Playwright, against the demo on 127.0.0.1.

Screenshots of the chooser and the console land in $SAMLFED_TEST_ARTIFACTS (default: test-artifacts/).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import boto3
import httpx
import pyotp
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from chromium import launch_chromium
from console_setup import FACTORY_PROVIDER, VIEWER, factory_response
from playwright.sync_api import Browser, Page, expect

from samlfed.iam.arns import role_arn

DEV, PROD = "111111111111", "222222222222"
ARTIFACTS = Path(os.environ.get("SAMLFED_TEST_ARTIFACTS", "test-artifacts"))


PLAIN_HTTP_NAME = "console.test"
"""A name the browser maps to 127.0.0.1: a page served there over http is no secure context, as on a plain-http deployment."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium([f"--host-resolver-rules=MAP {PLAIN_HTTP_NAME} 127.0.0.1"]) as browser:
        yield browser


def _idp_login(page: Page, demo: dict, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", demo["passwords"][username])
    if username in demo["totp"]:
        page.fill("input[name=otp]", pyotp.TOTP(demo["totp"][username]).now())
    page.click("button[type=submit]")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_idp_portal_to_chooser_to_console_then_switch_role_and_sign_out(browser: Browser, demo: dict) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{demo['url']}/idp/login")
    _idp_login(page, demo, "alice")
    page.click("form[action$='/launch/aws'] button")
    page.wait_for_url(f"{demo['url']}/saml")
    expect(page.locator("div.saml-account-name")).to_have_text([f"Account: acme-dev ({DEV})", f"Account: acme-prod ({PROD})"])
    _shot(page, "role-chooser.png")

    page.check(f"input[id='{role_arn(PROD, 'ReadOnly')}']")
    page.click("#signin_button")
    page.wait_for_url(f"{demo['url']}/console")
    expect(page.locator("#assumed-role-arn")).to_have_text(f"arn:aws:sts::{PROD}:assumed-role/ReadOnly/alice@acme.example")
    countdown = page.locator("#countdown")
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first or "", timeout=3000)  # the countdown ticks
    assert (countdown.text_content() or "").startswith("0:59:")
    _shot(page, "console.png")

    page.click("#switch-role")
    expect(page.locator("div.saml-account-name")).to_have_count(2)
    page.check(f"input[id='{role_arn(DEV, 'Developer')}']")
    page.click("#signin_button")
    page.wait_for_url(f"{demo['url']}/console")
    expect(page.locator("#assumed-role-arn")).to_have_text(f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example")

    page.click("#sign-out")
    expect(page.locator("h1")).to_have_text("You have signed out")
    assert not [c for c in context.cookies() if c["name"] == "samlfed_console"]
    assert not [e for e in errors if "Content Security Policy" in e], errors  # nothing the page needs is blocked
    context.close()


def test_sp_initiated_from_the_console_page(browser: Browser, demo: dict) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{demo['url']}/console")
    page.wait_for_url(f"{demo['url']}/idp/login")  # the console sent an AuthnRequest; the IdP asks who we are
    _idp_login(page, demo, "bob")
    # bob has one role: the chooser submits itself and the console opens.
    page.wait_for_url(f"{demo['url']}/console")
    expect(page.locator("#assumed-role-arn")).to_have_text(f"arn:aws:sts::{DEV}:assumed-role/ReadOnly/bob@acme.example")
    context.close()


def test_the_chooser_works_from_the_keyboard_without_javascript(browser: Browser, demo: dict) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{demo['url']}/idp/login")
    _idp_login(page, demo, "bob")
    page.click("form[action$='/launch/aws'] button")
    page.click("#saml-form button")  # no script: the IdP's auto-post page waits for its button
    page.wait_for_url(f"{demo['url']}/saml")
    radio = page.locator("input.saml-radio")
    radio.focus()
    page.keyboard.press("Space")
    expect(radio).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#signin_button")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{demo['url']}/console")
    expect(page.locator("#assumed-role-arn")).to_have_text(f"arn:aws:sts::{DEV}:assumed-role/ReadOnly/bob@acme.example")
    context.close()


def test_the_copy_buttons_select_the_credentials_where_the_browser_has_no_clipboard(browser: Browser, demo: dict) -> None:
    """On plain http at a name other than localhost the page is no secure context and has no navigator.clipboard:
    Copy threw a TypeError and did nothing. It now selects the block for the user to copy."""
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    credentials = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response())["Credentials"]
    session = json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})
    token = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "Session": session}).json()["SigninToken"]
    plain_http = demo["url"].replace("127.0.0.1", PLAIN_HTTP_NAME)
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{plain_http}/federation?" + urlencode({"Action": "login", "Destination": "/console", "SigninToken": token}))
    page.wait_for_url(f"{plain_http}/console")
    assert page.evaluate("window.isSecureContext") is False
    page.click("button[data-target=cred-shell]")
    expect(page.locator("button[data-target=cred-shell]")).to_have_text("Selected: copy it")
    selected = page.evaluate("window.getSelection().toString()")
    assert selected == page.locator("#cred-shell").text_content() and credentials["SessionToken"] in selected
    assert errors == []
    context.close()

"""The command-line hand-off (`/saml/cli`): the page waits for the user's consent, shows the code the CLI prints,
and takes only the RelayState its AuthnRequest was made for."""

from __future__ import annotations

import re

import httpx
from demo_stack import forms, login, saml_response_of
from lxml import html as lxml_html

from samlfed.console.handoff import verification_code

STATE = "S" * 20 + "-state_1"


def _cli_response(demo: dict, browser: httpx.Client, port: int = 45683, state: str = STATE, start: str | None = None) -> tuple[str, dict]:
    """Signed in at the IdP, start at /saml/cli (or `start`); the ACS URL and fields of the IdP's auto-post."""
    begin = browser.get(start or f"{demo['url']}/saml/cli", params=None if start else {"port": port, "state": state})
    assert begin.status_code == 303
    acs, _, fields = saml_response_of(browser.get(begin.headers["location"]))
    return acs, fields


def test_the_verification_code_is_eight_base32_characters_of_the_state_digest() -> None:
    # SHA-256("abc") = ba7816bf 8f01cfea...: 10111 01001 11100 00001 01101 01111 11100 01111 = XJ4B NP4P
    assert verification_code("abc") == "XJ4B-NP4P"
    assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}", verification_code(STATE))
    assert verification_code(STATE) != verification_code(STATE + "x")


def test_the_handoff_page_waits_for_the_button_and_shows_the_port_and_code(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        acs, fields = _cli_response(demo, browser)
        page = browser.post(acs, data=fields)
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    assert not doc.xpath("//script") and not doc.xpath("//meta[@http-equiv]")  # nothing submits the form by itself
    assert "onload" not in page.text and "autofocus" not in page.text
    assert doc.get_element_by_id("verification-code").text_content() == verification_code(STATE)
    assert doc.get_element_by_id("handoff-port").text_content() == "45683"
    form = forms(page)[0]
    assert form["action"] == "http://127.0.0.1:45683/" and form["fields"]["state"] == STATE
    assert doc.xpath("//form[@id='handoff']//button[@type='submit']/text()") == ["Send"]
    assert "form-action http://127.0.0.1:45683/" in page.headers["content-security-policy"]


def test_the_relay_state_must_be_the_one_the_request_was_made_for(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        acs, fields = _cli_response(demo, browser)
        swapped = browser.post(acs, data={**fields, "RelayState": f"samlfed-cli:45684:{'A' * 20}"})
        dropped = browser.post(acs, data={**fields, "RelayState": "/console"})
        # A response to an ordinary console request never goes to a listener.
        console_acs, console_fields = _cli_response(demo, browser, start=f"{demo['url']}/console")
        redirected = browser.post(console_acs, data={**console_fields, "RelayState": f"samlfed-cli:45683:{STATE}"})
        honest = browser.post(acs, data=fields)  # the refusals did not use the request up
    for page in (swapped, dropped, redirected):
        assert page.status_code == 400 and "127.0.0.1" not in page.text and "samlfed login" in page.text
    assert honest.status_code == 200 and forms(honest)[0]["action"] == "http://127.0.0.1:45683/"

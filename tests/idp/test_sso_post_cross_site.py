"""SP-initiated sign-in by the HTTP-POST binding in Chromium: the SP's page posts the AuthnRequest from another site,
so the IdP's SameSite=Lax session cookie does not come with it (the IdP posts it again from its own page)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
from chromium import launch_chromium
from demo_stack import forms
from lxml import etree
from playwright.sync_api import BrowserContext, Page, Route

SP_PAGE = "http://sp.example/start"
"""Another site than the IdP's 127.0.0.1: Playwright serves it (and the ACS) without a server."""
ACS = "https://signin.aws.amazon.com/saml"


def _authn_request(request_id: str) -> str:
    xml = (
        f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}" AssertionConsumerServiceURL="{ACS}">'
        "<saml:Issuer>urn:amazon:webservices</saml:Issuer></samlp:AuthnRequest>"
    )
    return base64.b64encode(xml.encode()).decode()


def _sp(context: BrowserContext, idp_url: str, request_id: str) -> list[dict[str, list[str]]]:
    """The SP's page auto-posting an AuthnRequest to the IdP, and its ACS; returns the list the ACS's posts go to."""
    page = (
        f'<form method="post" action="{idp_url}/idp/sso" id="f"><input type="hidden" name="SAMLRequest" value="{_authn_request(request_id)}">'
        '<input type="hidden" name="RelayState" value="state-1"></form><script>document.getElementById("f").submit()</script>'
    )
    posted: list[dict[str, list[str]]] = []

    def acs(route: Route) -> None:
        posted.append(parse_qs(route.request.post_data or ""))
        route.fulfill(status=200, content_type="text/plain", body="signed in")

    context.route(SP_PAGE, lambda route: route.fulfill(status=200, content_type="text/html", body=page))
    context.route(ACS, acs)
    return posted


def _sign_in(page: Page, demo: dict, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", demo["passwords"][username])
    page.click("button[type=submit]")


def _in_response_to(posted: dict[str, list[str]]) -> str | None:
    return etree.fromstring(base64.b64decode(posted["SAMLResponse"][0])).get("InResponseTo")


def test_a_signed_in_user_is_answered_and_stays_signed_in(demo: dict) -> None:
    """The cross-site post came without the session cookie: the signed-in user got the sign-in page, and the pending
    request's new cookie replaced their session."""
    with launch_chromium() as browser:
        context = browser.new_context()
        posted = _sp(context, demo["url"], "_cross-site-1")
        page = context.new_page()
        page.goto(f"{demo['url']}/idp/login")
        _sign_in(page, demo, "bob")
        page.wait_for_url(f"{demo['url']}/idp/")
        page.goto(SP_PAGE)
        page.wait_for_url(ACS)
        assert len(posted) == 1 and posted[0]["RelayState"] == ["state-1"]
        assert _in_response_to(posted[0]) == "_cross-site-1"
        page.goto(f"{demo['url']}/idp/")
        assert page.url == f"{demo['url']}/idp/"  # still signed in: the portal, not the sign-in page


def test_a_user_not_signed_in_signs_in_and_is_answered(demo: dict) -> None:
    with launch_chromium() as browser:
        context = browser.new_context()
        posted = _sp(context, demo["url"], "_cross-site-2")
        page = context.new_page()
        page.goto(SP_PAGE)
        page.wait_for_url(f"{demo['url']}/idp/login")
        assert "AWS (samlfed)" in page.text_content("body")  # the request waits for this sign-in
        _sign_in(page, demo, "bob")
        page.wait_for_url(ACS)
        assert len(posted) == 1 and posted[0]["RelayState"] == ["state-1"]
        assert _in_response_to(posted[0]) == "_cross-site-2"


def test_the_re_post_is_made_once(demo: dict) -> None:
    """Posted again without a session cookie (no session in this browser), the request waits for a sign-in."""
    with httpx.Client() as client:
        first = client.post(f"{demo['url']}/idp/sso", data={"SAMLRequest": _authn_request("_once"), "RelayState": "r"})
        again = next(form for form in forms(first) if "bounced" in form["fields"])
        assert again["action"] == f"{demo['url']}/idp/sso" and again["fields"]["RelayState"] == "r"
        second = client.post(again["action"], data=again["fields"])
    assert second.status_code == 303 and second.headers["location"] == "/idp/login"

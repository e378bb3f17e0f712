"""The built-in IdP over HTTP: IdP- and SP-initiated web SSO, ECP, refusals and throttling."""

from __future__ import annotations

import asyncio
import base64
import zlib
from datetime import UTC, datetime
from urllib.parse import urlencode

import boto3
import httpx
import pyotp
from botocore import UNSIGNED
from botocore.config import Config
from demo_stack import forms, login, saml_response_of
from lxml import etree

from samlfed.iam.arns import role_arn
from samlfed.idp.demo import provider_arn
from samlfed.idp.directory import Directory, read_yaml, write_yaml
from samlfed.saml import ProviderTrust, RolePair, ValidationSettings, validate
from samlfed.saml.metadata import parse_metadata

DEV = "111111111111"


def _trust(demo: dict) -> ProviderTrust:
    metadata = parse_metadata(httpx.get(f"{demo['url']}/idp/metadata").content)
    return metadata.trust()


def _settings(demo: dict) -> ValidationSettings:
    return ValidationSettings().accepting(acs_urls=[f"{demo['url']}/saml"])


def _authn_request(issuer: str, acs: str | None, request_id: str = "_req-1", binding: str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST") -> bytes:
    acs_attribute = f' AssertionConsumerServiceURL="{acs}"' if acs else ""
    return (
        f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}" ProtocolBinding="{binding}"{acs_attribute}>'
        f"<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
    ).encode()


def _redirect_query(xml: bytes, relay_state: str | None = None) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(xml) + compressor.flush()
    params = {"SAMLRequest": base64.b64encode(deflated).decode()}
    if relay_state:
        params["RelayState"] = relay_state
    return urlencode(params)


def test_idp_initiated_sign_in_gives_an_assertion_sts_accepts(demo: dict) -> None:
    with httpx.Client() as browser:
        answer = login(demo, browser, "alice")
        assert answer.status_code == 303 and answer.headers["location"] == "/idp/"
        portal = browser.get(f"{demo['url']}/idp/")
        assert "Applications for Alice Doe" in portal.text
        launch = next(f for f in forms(portal) if "/launch/aws" in (f["action"] or ""))
        page = browser.post(launch["action"], data=launch["fields"])
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    acs, saml_response, _ = saml_response_of(page)
    assert acs == f"{demo['url']}/saml"
    verified = validate(saml_response, _trust(demo), now=datetime.now(UTC), settings=_settings(demo))
    assert RolePair(role_arn(DEV, "Developer"), provider_arn(DEV)) in verified.claims.roles
    assert verified.claims.principal_tags == {"department": "Engineering"}
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    result = sts.assume_role_with_saml(RoleArn=role_arn(DEV, "Developer"), PrincipalArn=provider_arn(DEV), SAMLAssertion=saml_response)
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
    assert result["SourceIdentity"] == "alice"


def test_the_portal_launches_an_application_whatever_its_key(demo: dict) -> None:
    """The key of an application in idp.yaml was put into the launch form's URL as it is: `/`, `?`, `#` or a space
    in it sent the form elsewhere (a 404, a query, a fragment)."""
    key, path = "team a/b?c=d#e", demo["idp"].config_path
    config = read_yaml(path)
    config["service_providers"][key] = {**config["service_providers"]["aws"], "display_name": "Odd key"}
    write_yaml(path, config)
    try:
        with httpx.Client() as browser:
            login(demo, browser, "alice")
            launch = next(f for f in forms(browser.get(f"{demo['url']}/idp/")) if f["fields"].get("app") == key)
            page = browser.post(launch["action"], data=launch["fields"])
    finally:
        config["service_providers"].pop(key)
        write_yaml(path, config)
    assert page.status_code == 200 and "Odd key" in page.text
    acs, saml_response, _ = saml_response_of(page)
    assert acs == f"{demo['url']}/saml"
    assert validate(saml_response, _trust(demo), now=datetime.now(UTC), settings=_settings(demo)).claims.roles


def test_admin_needs_a_totp_code_and_gets_the_admin_role(demo: dict) -> None:
    with httpx.Client() as browser:
        assert login(demo, browser, "admin", otp="000000").status_code == 401
    with httpx.Client() as browser:
        assert login(demo, browser, "admin", otp=pyotp.TOTP(demo["totp"]["admin"]).now()).status_code == 303
        portal = browser.get(f"{demo['url']}/idp/")
        launch = next(f for f in forms(portal) if "/launch/aws" in (f["action"] or ""))
        _, saml_response, _ = saml_response_of(browser.post(launch["action"], data=launch["fields"]))
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    result = sts.assume_role_with_saml(RoleArn=role_arn("222222222222", "Admin"), PrincipalArn=provider_arn("222222222222"), SAMLAssertion=saml_response)
    assert result["Subject"] == "admin"


def test_sp_initiated_redirect_binding_answers_in_response_to_with_relay_state(demo: dict) -> None:
    query = _redirect_query(_authn_request("urn:amazon:webservices", f"{demo['url']}/saml", "_redirect-1"), relay_state="https://console.example/home")
    with httpx.Client() as browser:
        first = browser.get(f"{demo['url']}/idp/sso?{query}")
        assert first.status_code == 303 and first.headers["location"] == "/idp/login"
        login_page = browser.get(f"{demo['url']}/idp/login")
        assert "to continue to" in login_page.text and "AWS (samlfed)" in login_page.text
        mistyped = login(demo, browser, "alice", password="not her password")
        assert mistyped.status_code == 401 and "to continue to" in mistyped.text  # the request still waits: still said
        page = login(demo, browser, "alice")
        acs, saml_response, fields = saml_response_of(page)
        assert fields["RelayState"] == "https://console.example/home"
        # Signed in already: the next request is answered at once.
        again = browser.get(f"{demo['url']}/idp/sso?{_redirect_query(_authn_request('urn:amazon:webservices', None, '_redirect-2'))}")
        assert saml_response_of(again)[0] == f"{demo['url']}/saml"  # no ACS URL in the request: the SP's first
    verified = validate(saml_response, _trust(demo), now=datetime.now(UTC), settings=_settings(demo))
    assert verified.response.in_response_to == "_redirect-1"
    root = etree.fromstring(base64.b64decode(saml_response))
    assert root.find(".//{*}SubjectConfirmationData").get("InResponseTo") == "_redirect-1"


def test_sp_initiated_post_binding(demo: dict) -> None:
    request = base64.b64encode(_authn_request("urn:amazon:webservices", "https://signin.aws.amazon.com/saml", "_post-1")).decode()
    with httpx.Client() as browser:
        assert login(demo, browser, "bob").status_code == 303
        page = browser.post(f"{demo['url']}/idp/sso", data={"SAMLRequest": request})
    acs, saml_response, _ = saml_response_of(page)
    assert acs == "https://signin.aws.amazon.com/saml"
    verified = validate(saml_response, _trust(demo), now=datetime.now(UTC), settings=_settings(demo))
    assert verified.response.in_response_to == "_post-1" and verified.claims.role_session_name == "bob@acme.example"


def test_unknown_service_providers_and_unlisted_acs_urls_are_refused_not_redirected(demo: dict) -> None:
    cases = [
        (_redirect_query(_authn_request("https://evil.example/sp", "https://evil.example/acs")), "is not known to this identity provider"),
        (_redirect_query(_authn_request("urn:amazon:webservices", "https://evil.example/acs")), "is not a registered ACS URL"),
        (_redirect_query(_authn_request("urn:amazon:webservices", None).replace(b" ProtocolBinding", b' AssertionConsumerServiceIndex="\xc2\xb2" ProtocolBinding')),
         "has no ACS URL with index"),  # "²" passes str.isdigit() but not int()
        (_redirect_query(_authn_request("urn:amazon:webservices", None).replace(b" ProtocolBinding", b' AssertionConsumerServiceIndex="%s" ProtocolBinding' % (b"9" * 5000))),
         "has no ACS URL with index"),  # int() raises on over 4,300 digits
        (_redirect_query(b'<!DOCTYPE x [<!ENTITY a "b">]><x/>'), "not acceptable XML"),
        ("SAMLRequest=%%%", "not base64"),
        (_redirect_query(_authn_request("urn:amazon:webservices", None, binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact")), "can only be sent with"),
    ]
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        for query, message in cases:
            page = browser.get(f"{demo['url']}/idp/sso?{query}")
            assert page.status_code == 400 and "location" not in page.headers, query
            assert message in page.text and "SAMLResponse" not in page.text


def test_launch_and_logout_need_the_csrf_token(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        assert browser.post(f"{demo['url']}/idp/launch/aws", data={"csrf": "forged"}).status_code == 403
        portal = browser.get(f"{demo['url']}/idp/")
        logout = next(f for f in forms(portal) if (f["action"] or "").endswith("/logout"))
        browser.post(logout["action"], data=logout["fields"])
        assert browser.get(f"{demo['url']}/idp/").headers["location"] == "/idp/login"


def _ecp_envelope(request: bytes) -> bytes:
    return (
        b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>' + request + b"</S:Body></S:Envelope>"
    )


def test_ecp_login(demo: dict) -> None:
    envelope = _ecp_envelope(_authn_request("urn:amazon:webservices", "https://signin.aws.amazon.com/saml", "_ecp-1", "urn:oasis:names:tc:SAML:2.0:bindings:PAOS"))
    answer = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("alice", demo["passwords"]["alice"]), headers={"Content-Type": "text/xml"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"  # it carries an assertion
    soap = etree.fromstring(answer.content)
    header = soap.find("{http://schemas.xmlsoap.org/soap/envelope/}Header/{urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp}Response")
    assert header.get("AssertionConsumerServiceURL") == "https://signin.aws.amazon.com/saml"
    response = soap.find("{http://schemas.xmlsoap.org/soap/envelope/}Body/{urn:oasis:names:tc:SAML:2.0:protocol}Response")
    saml_response = base64.b64encode(etree.tostring(response)).decode()
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    result = sts.assume_role_with_saml(RoleArn=role_arn("222222222222", "ReadOnly"), PrincipalArn=provider_arn("222222222222"), SAMLAssertion=saml_response)
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")

    wrong = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("alice", "not her password"))
    assert wrong.status_code == 401 and b"Fault" in wrong.content and wrong.headers["www-authenticate"].startswith("Basic")
    nobody = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("nobody", "not her password"))
    assert etree.fromstring(nobody.content).findtext(".//faultstring") == etree.fromstring(wrong.content).findtext(".//faultstring")
    not_soap = httpx.post(f"{demo['url']}/idp/ecp", content=b"<x/>", auth=("alice", demo["passwords"]["alice"]))
    assert not_soap.status_code == 400
    # Found by probing: a Basic header holding non-ASCII bytes was a 500 with a traceback, not a refusal
    for garbage in (b"Basic \xe9\xe9\xe9\xe9", b"Basic \xff", b"basic !!!!"):
        odd = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, headers={"Authorization": garbage, "Content-Type": "text/xml"})
        assert odd.status_code == 401 and b"Fault" in odd.content, (garbage, odd.status_code)


def test_password_checks_run_off_the_event_loop(demo: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """argon2 takes tens of milliseconds by design: run on the event loop, every guess would stall the worker's other
    requests (the sign-in form and ECP both check passwords)."""
    on_event_loop: list[bool] = []
    sign_in = Directory.sign_in

    def recording(self, *args):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
            on_event_loop.append(True)
        except RuntimeError:  # no loop runs in this thread
            on_event_loop.append(False)
        return sign_in(self, *args)

    monkeypatch.setattr(Directory, "sign_in", recording)
    with httpx.Client() as browser:
        assert login(demo, browser, "alice").status_code == 303
    envelope = _ecp_envelope(_authn_request("urn:amazon:webservices", "https://signin.aws.amazon.com/saml", "_ecp-2", "urn:oasis:names:tc:SAML:2.0:bindings:PAOS"))
    assert httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("alice", demo["passwords"]["alice"]), headers={"Content-Type": "text/xml"}).status_code == 200
    assert on_event_loop == [False, False]


def test_every_login_failure_looks_the_same_and_repeats_are_throttled(demo: dict) -> None:
    texts = set()
    with httpx.Client() as browser:
        for username, password in (("bob", "wrong password"), ("nobody-here", "whatever-pass"), ("admin", demo["passwords"]["admin"])):
            answer = login(demo, browser, username, password=password, otp="123456" if username == "admin" else None)
            assert answer.status_code == 401
            texts.add(answer.text.split('id="error">')[1].split("<")[0])
    assert len(texts) == 1
    with httpx.Client() as browser:
        statuses = [login(demo, browser, "bob", password=f"wrong-{n}").status_code for n in range(5)]
        assert statuses == [401, 401, 401, 401, 429]  # bob had one failure above: the fifth in the window is refused
        assert login(demo, browser, "bob").status_code == 429  # even the right password, while throttled


def test_bad_requests_get_a_clear_answer_never_a_500(demo: dict) -> None:
    url = demo["url"]
    big = b"username=" + b"a" * 300_000
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [
        httpx.post(f"{url}/idp/login", content=big, headers=form),
        httpx.post(f"{url}/idp/login", content=b"username=alice", headers={"Content-Type": "application/json"}),
        httpx.post(f"{url}/idp/login", content=b"u=%ff%fe", headers=form),
        httpx.post(f"{url}/idp/sso", content=big, headers=form),
        httpx.post(f"{url}/idp/ecp", content=b"<x>" + b"a" * 300_000 + b"</x>", auth=("alice", "x")),
        httpx.post(f"{url}/idp/ecp", content=b"\x00\xff", auth=("alice", "x")),
        httpx.get(f"{url}/idp/sso"),
        httpx.post(f"{url}/idp/launch/aws", content=b"csrf=x", headers=form),
    ]
    for answer in answers:
        assert 300 <= answer.status_code < 500, (answer.request.url, answer.status_code)
        assert b"Traceback" not in answer.content


def test_a_login_post_without_the_form_s_token_is_refused(demo: dict) -> None:
    """Login CSRF: a fresh session has no token, and an empty one must not match it."""
    with httpx.Client() as browser:
        answer = browser.post(f"{demo['url']}/idp/login", data={"csrf": "", "username": "alice", "password": demo["passwords"]["alice"]})
    assert answer.status_code == 403 and "samlfed_idp" not in answer.headers.get("set-cookie", "")

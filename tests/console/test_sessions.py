"""SP-initiated sign-in from /console, switch role, sign-out and the federation endpoint, over HTTP."""

from __future__ import annotations

import base64
import copy
import json
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote_plus, urlsplit

import boto3
import httpx
from botocore import UNSIGNED
from botocore.config import Config
from console_setup import FACTORY_PROVIDER, VIEWER, add_factory_account, factory_response
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from demo_stack import forms, login, saml_response_of
from lxml import etree
from lxml import html as lxml_html
from servers import app_in_thread

from samlfed.config import Settings
from samlfed.console.signin import SignInRefused, make_offer
from samlfed.console.sp import new_request_id, request_issued_at
from samlfed.iam.arns import role_arn
from samlfed.server import build_context, build_server_app
from samlfed.sts.credentials import SessionClaims, issue

DEV, PROD = "111111111111", "222222222222"


def _arn_on(console: httpx.Response) -> str:
    return lxml_html.fromstring(console.text).get_element_by_id("assumed-role-arn").text_content()


def _sp_initiated(demo: dict, browser: httpx.Client, path: str = "/console") -> tuple[httpx.Response, dict]:
    """GET a console page without a session, follow the AuthnRequest to the signed-in IdP; returns its auto-post."""
    start = browser.get(f"{demo['url']}{path}")
    assert start.status_code == 303
    location = start.headers["location"]
    assert location.startswith(f"{demo['url']}/idp/sso?")
    query = parse_qs(urlsplit(location).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15))
    autopost = browser.get(location)
    return autopost, {"request": request, "relay": query.get("RelayState", [None])[0]}


def _choose(demo: dict, browser: httpx.Client, page: httpx.Response, role: str) -> httpx.Response:
    form = forms(page)[0]
    return browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": role})


def test_sp_initiated_sign_in_answers_our_request_once(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        autopost, sent = _sp_initiated(demo, browser, "/console?region=eu-central-1")
        request = sent["request"]
        assert request.get("AssertionConsumerServiceURL") == f"{demo['url']}/saml"
        assert request.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer") == "urn:amazon:webservices"
        assert request_issued_at(demo["ctx"].master, request.get("ID")) is not None
        acs, saml_response, fields = saml_response_of(autopost)
        assert acs == f"{demo['url']}/saml" and fields["RelayState"] == "/console?region=eu-central-1"
        chooser = browser.post(acs, data=fields)
        answer = _choose(demo, browser, chooser, role_arn(DEV, "Developer"))
        assert answer.status_code == 303 and answer.headers["location"] == "/console?region=eu-central-1"
        console = browser.get(f"{demo['url']}/console?region=eu-central-1")
        assert _arn_on(console) == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
        assert lxml_html.fromstring(console.text).get_element_by_id("region").text_content() == "eu-central-1"
    with httpx.Client() as thief:  # the same response, replayed after it was used
        replay = thief.post(acs, data=fields)
    assert replay.status_code == 400 and "already used" in replay.text


def test_authn_requests_are_signed_with_the_key_our_metadata_publishes(demo: dict) -> None:
    metadata = etree.fromstring(httpx.get(f"{demo['url']}/saml/metadata").content)
    ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}
    assert metadata.find("md:SPSSODescriptor", ns).get("AuthnRequestsSigned") == "true"
    der = base64.b64decode(metadata.findtext(".//md:KeyDescriptor[@use='signing']//ds:X509Certificate", namespaces=ns))
    public_key = x509.load_der_x509_certificate(der).public_key()
    with httpx.Client() as browser:
        location = browser.get(f"{demo['url']}/console").headers["location"]
        query = urlsplit(location).query
        signed, _, signature = query.rpartition("&Signature=")
        public_key.verify(base64.b64decode(unquote_plus(signature)), signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        login(demo, browser, "alice")
        tampered = location.replace("&SigAlg=", "&RelayState=%2Fconsole%2Fx&SigAlg=")
        refused = browser.get(tampered)  # the IdP requires signed requests from us and checks this one
        assert refused.status_code == 400 and "signature does not verify" in refused.text
        assert "SAMLResponse" in browser.get(location).text


def test_a_response_to_an_expired_or_unknown_request_is_refused(demo: dict) -> None:
    ctx = demo["ctx"]
    stale = new_request_id(ctx.master, datetime.now(UTC) - timedelta(minutes=6))
    page = httpx.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response(in_response_to=stale)})
    assert page.status_code == 400 and "expired or was already used" in page.text
    # An InResponseTo that we never issued is treated as unsolicited (AWS parity: accepted by default).
    foreign = httpx.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response(in_response_to="_someone-elses-request")})
    assert foreign.status_code == 200 and VIEWER in foreign.text


def test_require_sp_initiated_refuses_unsolicited_responses(demo: dict) -> None:
    ctx, now = demo["ctx"], datetime.now(UTC)
    try:
        make_offer(ctx, factory_response(), now, require_sp_initiated=True)
        raise AssertionError("an unsolicited response was accepted")
    except SignInRefused as refused:
        assert "only responses to its own sign-in requests" in refused.message
    nonce = "N" * 43
    answer = factory_response(in_response_to=new_request_id(ctx.master, now, browser_nonce=nonce))
    solicited = make_offer(ctx, answer, now, require_sp_initiated=True, browser_nonce=nonce)
    assert [choice.role_arn for choice in solicited.choices] == [VIEWER]
    for other in (None, "M" * 43):  # posted by another browser (test_signin_binding.py drives it over HTTP)
        try:
            make_offer(ctx, answer, now, require_sp_initiated=True, browser_nonce=other)
            raise AssertionError("an answer was accepted from another browser")
        except SignInRefused as refused:
            assert "not started in this browser" in refused.message


def test_switch_role_uses_the_same_assertion_and_sign_out_ends_the_session(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        autopost, _ = _sp_initiated(demo, browser)
        acs, _, fields = saml_response_of(autopost)
        _choose(demo, browser, browser.post(acs, data=fields), role_arn(DEV, "Developer"))
        console = browser.get(f"{demo['url']}/console")
        switch = next(f for f in forms(console) if f["action"] == "/console/switch")
        chooser = browser.post(f"{demo['url']}/console/switch", data=switch["fields"])
        assert chooser.status_code == 200 and forms(chooser)[0]["action"] == "/console/switch"
        old_cookie = browser.cookies["samlfed_console"]
        answer = _choose(demo, browser, chooser, role_arn(PROD, "ReadOnly"))
        assert answer.status_code == 303
        console = browser.get(f"{demo['url']}/console")
        assert _arn_on(console) == f"arn:aws:sts::{PROD}:assumed-role/ReadOnly/alice@acme.example"
        assert browser.cookies["samlfed_console"] != old_cookie
        sign_out = next(f for f in forms(console) if f["action"] == "/console/signout")
        cookie = browser.cookies["samlfed_console"]
        bad = browser.post(f"{demo['url']}/console/signout", data={"csrf": "wrong"})
        assert bad.status_code == 403
        done = browser.post(f"{demo['url']}/console/signout", data=sign_out["fields"])
        assert done.status_code == 200 and "You have signed out" in done.text
        assert "samlfed_console" not in browser.cookies
    with httpx.Client(cookies={"samlfed_console": cookie}) as stolen:  # the old cookie no longer opens anything
        assert stolen.get(f"{demo['url']}/console").status_code == 303
        assert stolen.get(f"{demo['url']}/console").headers["location"].startswith(f"{demo['url']}/idp/sso?")
    with httpx.Client(cookies={"samlfed_console": old_cookie}) as stolen:  # nor the one replaced by switching
        assert stolen.get(f"{demo['url']}/console").status_code == 303


def test_switch_role_needs_the_session_csrf_token(demo: dict) -> None:
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response()})
        _choose(demo, browser, page, VIEWER)
        assert browser.post(f"{demo['url']}/console/switch", data={"csrf": "nope"}).status_code == 403
        assert browser.post(f"{demo['url']}/console/switch", data={"roleIndex": VIEWER}).status_code == 403


def _credentials(demo: dict, **overrides: object) -> dict:
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    result = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response(**overrides))
    return result["Credentials"]


def _session_json(credentials: dict) -> str:
    return json.dumps({"sessionId": credentials["AccessKeyId"], "sessionKey": credentials["SecretAccessKey"], "sessionToken": credentials["SessionToken"]})


def test_federation_sign_in_token_is_single_use(demo: dict) -> None:
    credentials = _credentials(demo)
    got = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "SessionDuration": "43200", "Session": _session_json(credentials)})
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    token = got.json()["SigninToken"]
    login_params = {"Action": "login", "Issuer": "https://idp.example.test/start", "Destination": "https://console.aws.amazon.com/", "SigninToken": token}
    with httpx.Client() as browser:
        answer = browser.get(f"{demo['url']}/federation", params=login_params)
        assert answer.status_code == 302 and answer.headers["location"] == "/console" and answer.headers["cache-control"] == "no-store"
        assert answer.headers["set-cookie"].startswith("samlfed_console=")  # plain http: no __Host- prefix
        console = browser.get(f"{demo['url']}/console")
        assert _arn_on(console).startswith("arn:aws:sts::333333333333:assumed-role/Viewer/")
        ends = datetime.fromisoformat(lxml_html.fromstring(console.text).get_element_by_id("session-ends").get("datetime"))
        assert ends - datetime.now(UTC) > timedelta(hours=11)  # SessionDuration, independent of the credentials
        done = browser.post(f"{demo['url']}/console/signout", data=next(f for f in forms(console) if f["action"] == "/console/signout")["fields"])
        assert 'href="https://idp.example.test/start"' in done.text  # the Issuer becomes the "sign in again" link
    again = httpx.get(f"{demo['url']}/federation", params=login_params)
    assert again.status_code == 400 and "samlfed_console" not in again.headers.get("set-cookie", "")


def test_an_ended_federation_session_offers_the_issuers_sign_in_page(demo: dict) -> None:
    """Contract §8: the Issuer is the "session expired, sign in again" link; the session row is gone by then."""
    from samlfed.console.sessions import end_session

    token = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "Session": _session_json(_credentials(demo))}).json()["SigninToken"]
    with httpx.Client() as browser:
        params = {"Action": "login", "Issuer": "https://broker.example.test/login", "Destination": "/console", "SigninToken": token}
        assert browser.get(f"{demo['url']}/federation", params=params).status_code == 302
        assert browser.get(f"{demo['url']}/console").status_code == 200
        end_session(demo["ctx"], browser.cookies["samlfed_console"])  # as when it expires: no session to load
        ended = browser.get(f"{demo['url']}/console")
        assert ended.status_code == 401 and "Your console session has ended" in ended.text
        assert lxml_html.fromstring(ended.text).get_element_by_id("signin-link").get("href") == "https://broker.example.test/login"
        forged = browser.cookies["samlfed_issuer"][:-4] + "AAAA"  # a link no one can plant: a cookie that does not unseal
        browser.cookies.set("samlfed_issuer", forged)
        assert browser.get(f"{demo['url']}/console").status_code == 303  # an SP-initiated sign-in, as without one
    with httpx.Client() as browser:  # a sign-in through the IdP forgets a broker's link
        login(demo, browser, "alice")
        browser.cookies.set("samlfed_issuer", "x")
        autopost, _ = _sp_initiated(demo, browser)
        acs, _, fields = saml_response_of(autopost)
        answer = _choose(demo, browser, browser.post(acs, data=fields), role_arn(DEV, "Developer"))
        assert answer.status_code == 303 and 'samlfed_issuer=""' in answer.headers.get_list("set-cookie")[-1]


def test_a_sign_out_without_a_session_cookie_changes_nothing(demo: dict) -> None:
    """Another site's form post comes without the SameSite=Lax cookie: it must not delete it (the session would stay
    valid on the server while the browser forgot it) nor say that a session ended."""
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response()})
        _choose(demo, browser, page, VIEWER)
        cookie = browser.cookies["samlfed_console"]
    cross_site = httpx.post(f"{demo['url']}/console/signout", data={"csrf": "theirs"})
    assert cross_site.status_code == 200 and "You are not signed in" in cross_site.text
    assert "set-cookie" not in cross_site.headers
    assert httpx.get(f"{demo['url']}/console", cookies={"samlfed_console": cookie}).status_code == 200
    stale = httpx.post(f"{demo['url']}/console/signout", data={"csrf": "theirs"}, cookies={"samlfed_console": "gone"})
    assert "You have signed out" in stale.text and 'samlfed_console=""' in stale.headers["set-cookie"]


def test_federation_post_works_like_get(demo: dict) -> None:
    got = httpx.post(f"{demo['url']}/federation", data={"Action": "getSigninToken", "Session": _session_json(_credentials(demo))})
    assert got.status_code == 200
    answer = httpx.post(f"{demo['url']}/federation", data={"Action": "login", "Destination": f"{demo['url']}/console", "SigninToken": got.json()["SigninToken"]})
    assert answer.status_code == 302 and answer.headers["location"] == "/console"


def test_federation_refusals(demo: dict) -> None:
    credentials = _credentials(demo)
    url = f"{demo['url']}/federation"

    def get_token(**params: str) -> httpx.Response:
        return httpx.get(url, params={"Action": "getSigninToken", **params})

    assert get_token().status_code == 400
    assert get_token(Session="{not json").status_code == 400
    assert get_token(Session="[" * 3000).status_code == 400  # json.loads raises RecursionError for this
    assert get_token(Session='{"sessionId": ' + "1" * 5000 + "}").status_code == 400  # and a plain ValueError for this
    assert get_token(Session=json.dumps({"sessionId": "x"})).status_code == 400
    assert get_token(Session=_session_json({**credentials, "SecretAccessKey": "wrong" * 8})).status_code == 403
    assert get_token(Session=_session_json({**credentials, "SessionToken": credentials["SessionToken"][:-4] + "AAAA"})).status_code == 403
    for duration in ("899", "43201", "abc", "-1"):
        assert get_token(Session=_session_json(credentials), SessionDuration=duration).status_code == 400
    assert httpx.get(url, params={"Action": "nothing"}).status_code == 400
    token = get_token(Session=_session_json(credentials)).json()["SigninToken"]
    for destination in ("https://evil.example/", "//evil.example/console", ""):
        refused = httpx.get(url, params={"Action": "login", "Destination": destination, "SigninToken": token})
        assert refused.status_code == 400 and "location" not in refused.headers
    assert httpx.get(url, params={"Action": "login", "Destination": "/console", "SigninToken": token[:-6] + "AAAAAA"}).status_code == 400


def test_federation_refuses_session_duration_for_chained_sessions(demo: dict) -> None:
    ctx, now = demo["ctx"], int(datetime.now(UTC).timestamp())
    chained = issue(ctx.key_ring(), SessionClaims(
        account_id="333333333333", role_arn=VIEWER, role_id="AROAEXAMPLE", session_name="chained",
        issued_at=now, expires_at=now + 3600, chained=True,
    ))
    session = json.dumps({"sessionId": chained.access_key_id, "sessionKey": chained.secret_access_key, "sessionToken": chained.session_token})
    url = f"{demo['url']}/federation"
    refused = httpx.get(url, params={"Action": "getSigninToken", "Session": session, "SessionDuration": "3600"})
    assert refused.status_code == 400  # in AWS's words (its Knowledge Center's "invalid credentials parameter" page)
    assert refused.text == "Invalid credentials parameter. The request sent by the client was syntactically incorrect."
    assert httpx.get(url, params={"Action": "getSigninToken", "Session": session}).status_code == 200


def test_federation_refuses_expired_credentials(demo: dict) -> None:
    ctx, now = demo["ctx"], int(datetime.now(UTC).timestamp())
    expired = issue(ctx.key_ring(), SessionClaims(
        account_id="333333333333", role_arn=VIEWER, role_id="AROAEXAMPLE", session_name="late", issued_at=now - 7200, expires_at=now - 10,
    ))
    session = json.dumps({"sessionId": expired.access_key_id, "sessionKey": expired.secret_access_key, "sessionToken": expired.session_token})
    answer = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "Session": session})
    assert answer.status_code == 403 and "expired" in answer.text


def test_behind_https_the_cookie_is_secure_and_host_only_and_without_an_idp_the_console_explains_itself(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """__Host-: a browser takes the cookie only from a secure origin, with Path=/ and no Domain, so a sibling
    subdomain cannot plant a session (an attacker's own) in it."""
    settings = Settings(data_dir=tmp_path, public_url="https://console.example.test")
    ctx = build_context(settings)
    add_factory_account(ctx)
    with app_in_thread(build_server_app(settings, ctx)) as url:
        page = httpx.get(f"{url}/console")
        assert page.status_code == 401 and "Sign in through your identity provider" in page.text
        with httpx.Client() as browser:
            chooser = browser.post(f"{url}/saml", data={"SAMLResponse": factory_response()})
            answer = _choose({"url": url}, browser, chooser, VIEWER)
        set_cookie = answer.headers["set-cookie"]
        assert answer.status_code == 303 and answer.headers["cache-control"] == "no-store"
        assert set_cookie.startswith("__Host-samlfed_console=") and "; Secure" in set_cookie and "; Path=/" in set_cookie
        assert "domain=" not in set_cookie.lower()
        value = set_cookie.split(";", 1)[0].split("=", 1)[1]
        console = httpx.get(f"{url}/console", cookies={"__Host-samlfed_console": value})
        assert console.status_code == 200 and _arn_on(console).startswith("arn:aws:sts::333333333333:assumed-role/Viewer/")
        assert httpx.get(f"{url}/console", cookies={"samlfed_console": value}).status_code == 401  # the other name opens nothing
        signout = next(f for f in forms(console) if f["action"] == "/console/signout")
        done = httpx.post(f"{url}/console/signout", data=signout["fields"], cookies={"__Host-samlfed_console": value})
        assert done.headers["set-cookie"].startswith('__Host-samlfed_console=""; ')
        assert httpx.get(f"{url}/console", cookies={"__Host-samlfed_console": value}).status_code == 401


def test_console_url_command_signs_a_profile_in(demo: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess

    from servers import SAMLFED

    credentials = _credentials(demo)
    shared = tmp_path / "credentials"
    shared.write_text(
        f"[viewer]\naws_access_key_id = {credentials['AccessKeyId']}\naws_secret_access_key = {credentials['SecretAccessKey']}\n"
        f"aws_session_token = {credentials['SessionToken']}\n[longterm]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"
    )
    env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(shared), "AWS_CONFIG_FILE": str(tmp_path / "config")}
    done = subprocess.run([SAMLFED, "console-url", "--profile", "viewer", "--endpoint-url", demo["url"]], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith(f"{demo['url']}/federation?Action=login&")
    with httpx.Client() as browser:
        assert browser.get(url).status_code == 302
        assert _arn_on(browser.get(f"{demo['url']}/console")).startswith("arn:aws:sts::333333333333:assumed-role/Viewer/")
    refused = subprocess.run([SAMLFED, "console-url", "--profile", "longterm", "--endpoint-url", demo["url"]], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "temporary credentials" in refused.stderr


def test_console_provider_names_the_idp_that_console_sign_in_goes_to(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from saml_factory import ENTITY_ID, signer

    from samlfed.iam.provider_keys import EncryptionChange
    from samlfed.iam.providers import create_saml_provider, update_saml_provider
    from samlfed.saml.metadata import SsoEndpoint, build_idp_metadata

    corp = "arn:aws:iam::333333333333:saml-provider/Corp"
    settings = Settings(data_dir=tmp_path, console_provider=corp)
    ctx = build_context(settings)
    add_factory_account(ctx)
    redirect = SsoEndpoint("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", "https://idp.corp.example/sso")
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate], sso_endpoints=[redirect]).decode()
    create_saml_provider(ctx, "333333333333", "Corp", metadata)
    with app_in_thread(build_server_app(settings, ctx)) as url:
        answer = httpx.get(f"{url}/console")
        assert answer.status_code == 303 and answer.headers["location"].startswith("https://idp.corp.example/sso?SAMLRequest=")
        assert _requested_acs(answer.headers["location"]) == f"{settings.base_url}/saml"
        # With a private key uploaded, the answer is asked at the provider's own ACS URL: an encrypted assertion's
        # roles cannot name the provider that decrypts it at /saml.
        update_saml_provider(ctx, "333333333333", corp, encryption=EncryptionChange(add_private_key=signer("sp-encryption").key_pem().decode()))
        answer = httpx.get(f"{url}/console")
        uuid = ctx.store.get_provider(corp).uuid
        assert _requested_acs(answer.headers["location"]) == f"{settings.base_url}/saml/acs/{uuid}"


def test_a_console_provider_whose_stored_metadata_no_longer_parses_is_no_500(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """Found by the diff review: metadata an older parser stored (two KeyInfo in a KeyDescriptor) made /console a 500;
    it is answered as a console_provider that does not exist is, and the log says what to mend."""
    import logging

    from saml_factory import ENTITY_ID, signer

    from samlfed.iam.providers import create_saml_provider
    from samlfed.saml import constants as c
    from samlfed.saml.metadata import build_idp_metadata

    corp = "arn:aws:iam::333333333333:saml-provider/Corp"
    settings = Settings(data_dir=tmp_path, console_provider=corp)
    ctx = build_context(settings)
    add_factory_account(ctx)
    create_saml_provider(ctx, "333333333333", "Corp", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode())
    root = etree.fromstring(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    key_info = root.find(f".//{c.DS_KEY_INFO}")
    key_info.addnext(copy.deepcopy(key_info))
    ctx.store.update_provider(corp, metadata=(etree.tostring(root).decode(), None))
    with caplog.at_level(logging.WARNING, logger="samlfed"), app_in_thread(build_server_app(settings, ctx)) as url:
        answer = httpx.get(f"{url}/console")
    assert answer.status_code == 401 and "No identity provider is configured" in answer.text
    assert f"console_provider {corp}: its registered metadata no longer parses" in caplog.text


def _requested_acs(location: str) -> str:
    """The AssertionConsumerServiceURL of an HTTP-Redirect AuthnRequest."""
    deflated = base64.b64decode(parse_qs(urlsplit(location).query)["SAMLRequest"][0])
    return etree.fromstring(zlib.decompress(deflated, -15)).get("AssertionConsumerServiceURL")


def test_signing_in_again_ends_the_session_whose_cookie_it_replaces(demo: dict, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """A copy of the replaced cookie must stop working, whether the new sign-in is a SAML one or a federation one; and
    a database that cannot delete the old row must not fail the new sign-in."""
    from samlfed.store import DatabaseUnavailable

    def still_signed_in(cookie: str) -> bool:
        return httpx.get(f"{demo['url']}/console", cookies={"samlfed_console": cookie}).status_code == 200

    with httpx.Client() as browser:
        _choose(demo, browser, browser.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response()}), VIEWER)
        first = browser.cookies["samlfed_console"]
        token = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "Session": _session_json(_credentials(demo))}).json()["SigninToken"]
        answer = browser.get(f"{demo['url']}/federation", params={"Action": "login", "Destination": "/console", "SigninToken": token})
        assert answer.status_code == 302
        second = browser.cookies["samlfed_console"]
        assert second != first and still_signed_in(second) and not still_signed_in(first)
        _choose(demo, browser, browser.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response()}), VIEWER)
        third = browser.cookies["samlfed_console"]
        assert still_signed_in(third) and not still_signed_in(second)

        def unavailable(_: str) -> None:
            raise DatabaseUnavailable("disk full")

        monkeypatch.setattr(demo["ctx"].store, "delete_console_session", unavailable)
        answer = _choose(demo, browser, browser.post(f"{demo['url']}/saml", data={"SAMLResponse": factory_response()}), VIEWER)
        assert answer.status_code == 303 and browser.cookies["samlfed_console"] != third
        assert "replaced by a new sign-in stays until it expires: disk full" in caplog.text
        monkeypatch.undo()
        assert still_signed_in(browser.cookies["samlfed_console"])


def test_every_federation_answer_is_no_store(demo: dict) -> None:
    """Refusals too: a wrong Action and an unreadable form as much as a token, a login or a refused one."""
    url = f"{demo['url']}/federation"
    answers = [
        httpx.get(url, params={"Action": "nothing"}),
        httpx.post(url, content=b"Action=getSigninToken", headers={"Content-Type": "text/plain"}),
        httpx.post(url, data={"Action": "getSigninToken", "Session": "x" * (300 * 1024)}),
        httpx.get(url, params={"Action": "getSigninToken", "Session": "{not json"}),
        httpx.get(url, params={"Action": "getSigninToken", "Session": _session_json(_credentials(demo))}),
        httpx.get(url, params={"Action": "login", "Destination": "/console", "SigninToken": "used-or-made-up"}),
        httpx.head(url),
    ]
    assert [answer.status_code for answer in answers] == [400, 400, 400, 400, 200, 400, 405]
    assert all(answer.headers.get("cache-control") == "no-store" for answer in answers)

"""Audit of the built-in IdP: signed Redirect requests, Destination, ForceAuthn, IsPassive; its commands on a broken file."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote_plus, urlencode, urlparse

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from demo_stack import login, saml_response_of
from interop_sp import INTEROP_SP
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.idp.directory import DirectoryError, read_yaml, write_yaml
from samlfed.saml.signing import IdpSigner, sign_element

SIGNED_SP = {"entity_id": "http://sp.audit.test/metadata", "acs": "http://sp.audit.test/acs"}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def _authn_request(request_id: str, *, attributes: str = "", issuer: str = SIGNED_SP["entity_id"]) -> bytes:
    return (
        f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"{attributes}>'
        f"<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
    ).encode()


def _deflated(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def _signed_query(key: IdpSigner, xml: bytes, relay_state: str | None = None) -> str:
    """HTTP-Redirect binding §3.4.4.1: the signature covers SAMLRequest, RelayState and SigAlg as sent."""
    params = {"SAMLRequest": _deflated(xml), **({"RelayState": relay_state} if relay_state else {}), "SigAlg": RSA_SHA256}
    signed = urlencode(params)
    signature = key.private_key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signed}&Signature={quote_plus(base64.b64encode(signature).decode())}"


def _interop_settings(demo: dict) -> dict:
    """python3-saml as the demo's `interop` service provider."""
    idp = OneLogin_Saml2_IdPMetadataParser.parse(httpx.get(f"{demo['url']}/idp/metadata").text)
    sp = {"entityId": INTEROP_SP["entity_id"], "assertionConsumerService": {"url": INTEROP_SP["acs"], "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}}
    return {"strict": True, "sp": sp, "idp": idp["idp"], "security": {"wantAssertionsSigned": True}}


def _interop_request(post_data: dict | None = None) -> dict:
    url = urlparse(INTEROP_SP["acs"])
    return {"https": "off", "http_host": url.netloc, "script_name": url.path, "get_data": {}, "post_data": post_data or {}}


@pytest.fixture(scope="module")
def signing_sp(demo: dict) -> Iterator[IdpSigner]:
    """A service provider that must sign its AuthnRequests."""
    key = IdpSigner.generate("audit SP request signing")
    path = demo["idp"].config_path
    config = read_yaml(path)
    config["service_providers"]["audit"] = {
        "entity_id": SIGNED_SP["entity_id"],
        "acs_urls": [SIGNED_SP["acs"], "http://sp.audit.test/other-acs"],
        "request_certificate": key.cert_pem().decode(),
        "require_signed_requests": True,
    }
    write_yaml(path, config)
    yield key
    config["service_providers"].pop("audit")
    write_yaml(path, config)


def test_a_signed_redirect_request_is_answered(demo: dict, signing_sp: IdpSigner) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        page = browser.get(f"{demo['url']}/idp/sso?{_signed_query(signing_sp, _authn_request('_signed-1'), 'keep')}")
    acs, _, fields = saml_response_of(page)
    assert acs == SIGNED_SP["acs"] and fields["RelayState"] == "keep"


@pytest.mark.parametrize("name", ["SAMLRequest", "SAML%52equest", "RelayState", "Relay%53tate"])
def test_a_second_copy_of_a_signed_parameter_is_refused(demo: dict, signing_sp: IdpSigner, name: str) -> None:
    """The signature covers the first copy of each parameter; the request must not be read from another one."""
    query = _signed_query(signing_sp, _authn_request("_signed-2"), "signed-relay")
    value = _deflated(_authn_request("_forged", attributes=' AssertionConsumerServiceURL="http://sp.audit.test/other-acs"')) if "equest" in name else "forged"
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        page = browser.get(f"{demo['url']}/idp/sso?{query}&{name}={quote_plus(value)}")
    assert page.status_code == 400 and "SAMLResponse" not in page.text


def test_a_signed_request_too_costly_to_canonicalize_is_refused_before_its_signature(demo: dict, signing_sp: IdpSigner) -> None:
    """The response validator's bound on c14n work (namespaces x elements x PrefixList) holds for AuthnRequests
    too: unsigned callers reach this canonicalization whenever the SP has a request certificate."""
    root = etree.fromstring(_authn_request("_crowded"))
    sign_element(root, signing_sp)
    xml = etree.tostring(root)
    declared = b"".join(b' xmlns:p%d="urn:p:%d"' % (i, i) for i in range(128))
    xml = xml.replace(b"<samlp:AuthnRequest", b"<samlp:AuthnRequest" + declared, 1)
    prefixes = b'<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="' + b" ".join(b"p%d" % i for i in range(10)) + b'"/>'
    xml = xml.replace(b'xml-exc-c14n#"/></ds:Transforms>', b'xml-exc-c14n#">' + prefixes + b"</ds:Transform></ds:Transforms>", 1)
    xml = xml.replace(b"</samlp:AuthnRequest>", b"<b/>" * 10000 + b"</samlp:AuthnRequest>", 1)
    assert len(xml) < 100_000
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        answer = browser.post(f"{demo['url']}/idp/sso", data={"SAMLRequest": base64.b64encode(xml).decode()})
    assert answer.status_code == 400 and "too many namespaces" in answer.text


def _redirect(xml: bytes) -> str:
    return urlencode({"SAMLRequest": _deflated(xml)})


def test_a_request_addressed_to_another_location_is_refused(demo: dict) -> None:
    """SAML Core §3.2.1: a request whose Destination is not where it arrived MUST be discarded."""
    aws = "urn:amazon:webservices"
    elsewhere = _authn_request("_dest-1", issuer=aws, attributes=' Destination="https://other-idp.example/sso"')
    here = _authn_request("_dest-2", issuer=aws, attributes=f' Destination="{demo["url"]}/idp/sso"')
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        refused = browser.get(f"{demo['url']}/idp/sso?{_redirect(elsewhere)}")
        assert refused.status_code == 400 and "SAMLResponse" not in refused.text
        assert "was sent to https://other-idp.example/sso" in refused.text
        posted = browser.post(f"{demo['url']}/idp/sso", data={"SAMLRequest": base64.b64encode(elsewhere).decode()})
        assert posted.status_code == 400 and "SAMLResponse" not in posted.text
        assert saml_response_of(browser.get(f"{demo['url']}/idp/sso?{_redirect(here)}"))[0] == f"{demo['url']}/saml"


def test_an_ecp_request_addressed_to_another_location_is_refused(demo: dict) -> None:
    request = _authn_request("_dest-ecp", issuer="urn:amazon:webservices", attributes=' Destination="https://other-idp.example/ecp"')
    envelope = b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>' + request + b"</S:Body></S:Envelope>"
    answer = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("bob", demo["passwords"]["bob"]), headers={"Content-Type": "text/xml"})
    assert answer.status_code == 400 and b"other-idp.example" in answer.content
    assert b"urn:oasis:names:tc:SAML:2.0:protocol" not in answer.content  # a SOAP fault, no samlp:Response


def test_force_authn_asks_a_signed_in_user_to_sign_in_again(demo: dict) -> None:
    """SAML Core §3.4.1: with ForceAuthn the IdP MUST authenticate the presenter directly, not rely on its session."""
    forced = _authn_request("_force-1", issuer="urn:amazon:webservices", attributes=' ForceAuthn="true"')
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        first = browser.get(f"{demo['url']}/idp/sso?{_redirect(forced)}")
        assert first.status_code == 303 and first.headers["location"] == "/idp/login"
        _, saml_response, _ = saml_response_of(login(demo, browser, "alice"))
    assert b'InResponseTo="_force-1"' in base64.b64decode(saml_response)


def test_is_passive_without_a_session_answers_no_passive_instead_of_a_sign_in_page(demo: dict) -> None:
    """SAML Core §3.4.1: with IsPassive the IdP MUST NOT take over the user interface; python3-saml reads the answer."""
    settings = _interop_settings(demo)
    redirect = urlparse(OneLogin_Saml2_Auth(_interop_request(), settings).login(is_passive=True))
    with httpx.Client() as browser:
        page = browser.get(f"{demo['url']}/idp/sso?{redirect.query}")
    acs, saml_response, fields = saml_response_of(page)
    assert acs == INTEROP_SP["acs"] and fields["RelayState"] == parse_qs(redirect.query)["RelayState"][0]
    consumer = OneLogin_Saml2_Auth(_interop_request({"SAMLResponse": saml_response}), settings)
    consumer.process_response()
    assert not consumer.is_authenticated()
    assert "urn:oasis:names:tc:SAML:2.0:status:NoPassive" in consumer.get_last_error_reason()


def test_is_passive_with_a_session_signs_in_as_usual(demo: dict) -> None:
    passive = _authn_request("_passive-1", issuer="urn:amazon:webservices", attributes=' IsPassive="true"')
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        _, saml_response, _ = saml_response_of(browser.get(f"{demo['url']}/idp/sso?{_redirect(passive)}"))
    assert b"status:Success" in base64.b64decode(saml_response)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("users: [alice, bob\n", "idp.yaml is not valid YAML"),
        ("users: [alice, bob]\n", "`users` must be a mapping"),
        ("service_providers:\n  aws: {entity_id: urn:amazon:webservices}\n", "service provider 'aws' needs an entity_id and acs_urls"),
    ],
)
def test_idp_commands_on_a_broken_configuration_file_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    idp_dir = tmp_path / "idp"
    idp_dir.mkdir()
    (idp_dir / "idp.yaml").write_text(content)
    commands = [["users", "list"], ["metadata"], ["assertion", "--user", "alice"]]
    if "users" in content:  # editing the users section needs that section to be readable
        commands += [["users", "add", "carol", "--password", "carol's password"], ["users", "delete", "alice"]]
    for command in commands:
        done = CliRunner().invoke(app, ["idp", *command, "--idp-dir", str(idp_dir)])
        assert done.exit_code == 2 and message in done.output, (command, done.output)
        assert not isinstance(done.exception, (TypeError, DirectoryError)), command
    assert (idp_dir / "idp.yaml").read_text() == content

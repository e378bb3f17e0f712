"""Interoperability with an independent SAML implementation: python3-saml as the service provider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
from demo_stack import login, saml_response_of
from interop_sp import INTEROP_SP
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser


def _sp_settings(demo: dict) -> dict:
    idp = OneLogin_Saml2_IdPMetadataParser.parse(httpx.get(f"{demo['url']}/idp/metadata").text)
    return {
        "strict": True,
        "sp": {
            "entityId": INTEROP_SP["entity_id"],
            "assertionConsumerService": {"url": INTEROP_SP["acs"], "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
        },
        "idp": idp["idp"],
        "security": {"wantAssertionsSigned": True, "rejectDeprecatedAlgorithm": True},
    }


def _acs_request(post_data: dict | None = None) -> dict:
    url = urlparse(INTEROP_SP["acs"])
    return {"https": "off", "http_host": url.netloc, "script_name": url.path, "get_data": {}, "post_data": post_data or {}}


def test_python3_saml_sp_round_trip(demo: dict) -> None:
    """python3-saml builds the AuthnRequest (HTTP-Redirect), our IdP answers, python3-saml accepts the answer."""
    settings = _sp_settings(demo)
    sp = OneLogin_Saml2_Auth(_acs_request(), settings)
    redirect = urlparse(sp.login(return_to="https://app.interop.test/after"))
    assert redirect.path == "/idp/sso"
    request_id = sp.get_last_request_id()

    with httpx.Client() as browser:
        assert browser.get(f"{demo['url']}/idp/sso?{redirect.query}").status_code == 303
        acs, saml_response, fields = saml_response_of(login(demo, browser, "alice"))
    assert acs == INTEROP_SP["acs"] and fields["RelayState"] == parse_qs(redirect.query)["RelayState"][0]

    consumer = OneLogin_Saml2_Auth(_acs_request({"SAMLResponse": saml_response, "RelayState": fields["RelayState"]}), settings)
    consumer.process_response(request_id=request_id)
    assert consumer.get_errors() == [], consumer.get_last_error_reason()
    assert consumer.is_authenticated()
    assert consumer.get_nameid() == "alice@acme.example"
    assert consumer.get_attribute("mail") == ["alice@acme.example"]
    assert set(consumer.get_attribute("groups")) == {"AWS-111111111111-Developer", "AWS-222222222222-ReadOnly"}


def test_signed_authn_requests_from_python3_saml_are_verified(demo: dict) -> None:
    """An SP that must sign its requests: python3-saml's redirect-binding signature verifies; unsigned or tampered is refused."""
    from samlfed.idp.directory import read_yaml, write_yaml
    from samlfed.saml.signing import IdpSigner

    key = IdpSigner.generate("interop SP request signing")
    config_path = demo["idp"].config_path
    config = read_yaml(config_path)
    config["service_providers"]["signed"] = {
        "entity_id": "http://sp.signed.test/metadata",
        "acs_urls": ["http://sp.signed.test/acs"],
        "request_certificate": key.cert_pem().decode(),
        "require_signed_requests": True,
    }
    write_yaml(config_path, config)
    try:
        settings = _sp_settings(demo)
        settings["sp"] = {
            "entityId": "http://sp.signed.test/metadata",
            "assertionConsumerService": {"url": "http://sp.signed.test/acs", "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
            "x509cert": key.cert_pem().decode(),
            "privateKey": key.key_pem().decode(),
        }
        settings["security"] = {**settings["security"], "authnRequestsSigned": True, "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"}
        request = {"https": "off", "http_host": "sp.signed.test", "script_name": "/acs", "get_data": {}, "post_data": {}}
        query = urlparse(OneLogin_Saml2_Auth(request, settings).login()).query
        assert "Signature=" in query
        with httpx.Client() as browser:
            login(demo, browser, "alice")
            acs, _, _ = saml_response_of(browser.get(f"{demo['url']}/idp/sso?{query}"))
            assert acs == "http://sp.signed.test/acs"
            unsigned = "&".join(p for p in query.split("&") if not p.startswith(("Signature=", "SigAlg=")))
            refused = browser.get(f"{demo['url']}/idp/sso?{unsigned}")
            assert refused.status_code == 400 and "must sign its AuthnRequests" in refused.text
            tampered = query.replace("RelayState=", "RelayState=x")
            refused = browser.get(f"{demo['url']}/idp/sso?{tampered}")
            assert refused.status_code == 400 and "does not verify" in refused.text
    finally:
        config["service_providers"].pop("signed")
        write_yaml(config_path, config)

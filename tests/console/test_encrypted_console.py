"""Console sign-in with an encrypted assertion: as on AWS, the IdP posts it to the provider's own ACS URL
(/saml/acs/{SAMLProviderUUID}), which names the provider that decrypts it; at /saml its hidden roles name nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from console_setup import FACTORY_ACCOUNT, FACTORY_PROVIDER, VIEWER
from demo_stack import forms
from saml_factory import encode, response_tree, signer

from samlfed.iam import service

SP = signer("sp-encryption")


def _encrypted_response() -> str:
    return encode(response_tree(
        "assertion", encrypt_for=SP, roles=[f"{VIEWER},{FACTORY_PROVIDER}"], issue_instant=datetime.now(UTC) - timedelta(seconds=5),
        session_duration=None, principal_tags={},
    ))


def test_an_encrypted_assertion_signs_in_at_the_providers_own_acs_url(demo: dict) -> None:
    ctx = demo["ctx"]
    service.update_saml_provider(ctx, FACTORY_ACCOUNT, FACTORY_PROVIDER, encryption=service.EncryptionChange(add_private_key=SP.key_pem().decode()))
    uuid = ctx.store.get_provider(FACTORY_PROVIDER).uuid
    with httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml/acs/{uuid}", data={"SAMLResponse": _encrypted_response()})
        assert page.status_code == 200, page.text[-800:]
        assert VIEWER in page.text
        form = forms(page)[0]
        assert form["action"] == f"/saml/acs/{uuid}"
        signed_in = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": VIEWER})
        assert signed_in.status_code == 303, signed_in.text[-800:]

    # /saml cannot tell whose key decrypts it, and says where to post instead
    refused = httpx.post(f"{demo['url']}/saml", data={"SAMLResponse": _encrypted_response()})
    assert refused.status_code == 400 and "/saml/acs/" in refused.text
    # an unknown provider UUID is no provider
    unknown = httpx.post(f"{demo['url']}/saml/acs/NOSUCHPROVIDER0000000000", data={"SAMLResponse": _encrypted_response()})
    assert unknown.status_code == 400 and "provider" in unknown.text

"""Console sign-in with an encrypted assertion: as on AWS, the IdP posts it to the provider's own ACS URL
(/saml/acs/{SAMLProviderUUID}), which names the provider that decrypts it; at /saml its hidden roles name nobody."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import httpx
from console_setup import FACTORY_ACCOUNT, FACTORY_PROVIDER, VIEWER
from demo_stack import forms
from saml_factory import encode, response_tree, signer

from samlfed.iam import service
from samlfed.sts.decryption_guard import ANSWER_DELAY, DecryptionGuard, FailureLimit

SP = signer("sp-encryption")


def _encrypted_response(*, tampered: bool = False) -> str:
    root = response_tree(
        "assertion", encrypt_for=SP, roles=[f"{VIEWER},{FACTORY_PROVIDER}"], issue_instant=datetime.now(UTC) - timedelta(seconds=5),
        session_duration=None, principal_tags={}, encryption={"data_algorithm": "aes256-cbc"},
    )
    if tampered:  # one bit of a block in the middle: the plaintext no longer parses
        value = root.find(".//{http://www.w3.org/2001/04/xmlenc#}EncryptedData/*/{http://www.w3.org/2001/04/xmlenc#}CipherValue")
        ciphertext = bytearray(base64.b64decode(value.text))
        ciphertext[len(ciphertext) // 2] ^= 0x40
        value.text = base64.b64encode(bytes(ciphertext)).decode()
    return encode(root)


def _provider_decrypts(ctx) -> str:  # type: ignore[no-untyped-def]
    """The provider's UUID, once SP's private key is uploaded to it."""
    if not ctx.store.get_provider(FACTORY_PROVIDER).private_keys:
        service.update_saml_provider(ctx, FACTORY_ACCOUNT, FACTORY_PROVIDER, encryption=service.EncryptionChange(add_private_key=SP.key_pem().decode()))
    return ctx.store.get_provider(FACTORY_PROVIDER).uuid


def test_an_encrypted_assertion_signs_in_at_the_providers_own_acs_url(demo: dict) -> None:
    uuid = _provider_decrypts(demo["ctx"])
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


def test_a_tampered_encrypted_assertion_is_answered_late_and_then_throttled(demo: dict) -> None:
    """Validation bar, attack 19: the page for a rejection after decryption leaves no sooner than ANSWER_DELAY after
    the decryption, and past the source's limit nothing more is decrypted for it."""
    ctx = demo["ctx"]
    uuid = _provider_decrypts(ctx)
    kept, ctx.decryption_guard = ctx.decryption_guard, DecryptionGuard(per_source=FailureLimit(burst=1, refill_seconds=3600))
    try:
        started = time.monotonic()
        refused = httpx.post(f"{demo['url']}/saml/acs/{uuid}", data={"SAMLResponse": _encrypted_response(tampered=True)})
        assert time.monotonic() - started >= ANSWER_DELAY
        assert refused.status_code == 400 and "Response could not be decrypted" in refused.text
        throttled = httpx.post(f"{demo['url']}/saml/acs/{uuid}", data={"SAMLResponse": _encrypted_response()})
        assert throttled.status_code == 429 and "Rate exceeded" in throttled.text
    finally:
        ctx.decryption_guard = kept

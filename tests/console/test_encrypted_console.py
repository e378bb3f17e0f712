"""Console sign-in with an encrypted assertion: as on AWS, the IdP posts it to the provider's own ACS URL
(/saml/acs/{SAMLProviderUUID}), which names the provider that decrypts it; at /saml its hidden roles name nobody."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from console_setup import FACTORY_ACCOUNT, FACTORY_PROVIDER, VIEWER
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from demo_stack import forms
from lxml import etree
from saml_factory import encode, response_tree, signer

from samlfed.console import sp
from samlfed.console.sp import encryption_certificate
from samlfed.iam.provider_keys import EncryptionChange, private_key_id
from samlfed.iam.providers import update_saml_provider
from samlfed.saml.signing import encrypt_assertion_in
from samlfed.saml.xmlenc import ACCEPTED_ALGORITHMS
from samlfed.sts.decryption_guard import ANSWER_DELAY, DecryptionGuard, FailureLimit

SP = signer("sp-encryption")
DEV = "111111111111"


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
        update_saml_provider(ctx, FACTORY_ACCOUNT, FACTORY_PROVIDER, encryption=EncryptionChange(add_private_key=SP.key_pem().decode()))
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
        # switch role reads the response as the provider's own ACS did (a probe found it refused it as at /saml)
        console = browser.get(f"{demo['url']}/console")
        switch = next(f for f in forms(console) if f["action"] == "/console/switch")
        chooser = browser.post(f"{demo['url']}/console/switch", data=switch["fields"])
        assert chooser.status_code == 200 and VIEWER in chooser.text, chooser.text[-800:]
        switched = browser.post(f"{demo['url']}/console/switch", data={**forms(chooser)[0]["fields"], "roleIndex": VIEWER})
        assert switched.status_code == 303 and switched.headers["location"] == "/console"

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


MD = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}


def _provider_metadata(demo: dict, uuid: str) -> etree._Element:
    answer = httpx.get(f"{demo['url']}/static/saml/{uuid}/saml-metadata.xml")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/samlmetadata+xml"
    return etree.fromstring(answer.content)


def _encryption_certificates(metadata: etree._Element) -> list[x509.Certificate]:
    values = metadata.xpath("md:SPSSODescriptor/md:KeyDescriptor[@use='encryption']/ds:KeyInfo/ds:X509Data/ds:X509Certificate/text()", namespaces=MD)
    return [x509.load_der_x509_certificate(base64.b64decode(value)) for value in values]


def _public_der(key: object) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]


def test_a_providers_own_metadata_tells_an_idp_where_to_post_and_what_to_encrypt_to(demo: dict) -> None:
    """Contract §6.4/§9: /static/saml/{uuid}/saml-metadata.xml. An IdP that imports it, encrypts to the certificate
    it finds there and posts to the ACS URL it names gets the user signed in."""
    uuid = _provider_decrypts(demo["ctx"])
    metadata = _provider_metadata(demo, uuid)
    acs = metadata.find("md:SPSSODescriptor/md:AssertionConsumerService", MD)
    assert acs.get("Location") == f"{demo['url']}/saml/acs/{uuid}"
    assert metadata.get("entityID") == "urn:amazon:webservices"
    (certificate,) = _encryption_certificates(metadata)
    assert _public_der(certificate.public_key()) == _public_der(SP.private_key.public_key())
    methods = metadata.xpath("md:SPSSODescriptor/md:KeyDescriptor[@use='encryption']/md:EncryptionMethod/@Algorithm", namespaces=MD)
    assert set(methods) == set(ACCEPTED_ALGORITHMS) and "http://www.w3.org/2001/04/xmlenc#rsa-1_5" not in methods
    # the same document on every request (and so on every node): the certificate is derived, not made up anew
    assert etree.tostring(_provider_metadata(demo, uuid)) == etree.tostring(metadata)

    encrypted = encode(response_tree(
        "assertion", roles=[f"{VIEWER},{FACTORY_PROVIDER}"], issue_instant=datetime.now(UTC) - timedelta(seconds=5),
        session_duration=None, principal_tags={}, recipient=acs.get("Location"), destination=acs.get("Location"),
        after_sign=lambda root: encrypt_assertion_in(root, certificate, data_algorithm="aes256-gcm"),
    ))
    page = httpx.post(acs.get("Location"), data={"SAMLResponse": encrypted})
    assert page.status_code == 200, page.text[-800:]
    assert VIEWER in page.text


def test_provider_metadata_follows_key_rotation_and_exists_only_for_providers(demo: dict) -> None:
    ctx = demo["ctx"]
    uuid = _provider_decrypts(ctx)
    successor = signer("sp-encryption-successor")
    update_saml_provider(ctx, FACTORY_ACCOUNT, FACTORY_PROVIDER, encryption=EncryptionChange(add_private_key=successor.key_pem().decode()))
    try:
        served = [_public_der(c.public_key()) for c in _encryption_certificates(_provider_metadata(demo, uuid))]
        assert served == [_public_der(SP.private_key.public_key()), _public_der(successor.private_key.public_key())]
    finally:
        update_saml_provider(
            ctx, FACTORY_ACCOUNT, FACTORY_PROVIDER, encryption=EncryptionChange(remove_private_key=private_key_id(successor.private_key)),
        )
    assert len(_encryption_certificates(_provider_metadata(demo, uuid))) == 1

    # a provider without private keys: its own ACS URL, nothing to encrypt to
    plain = ctx.store.get_provider(f"arn:aws:iam::{DEV}:saml-provider/samlfed-idp").uuid
    metadata = _provider_metadata(demo, plain)
    assert metadata.find("md:SPSSODescriptor/md:AssertionConsumerService", MD).get("Location") == f"{demo['url']}/saml/acs/{plain}"
    assert _encryption_certificates(metadata) == []
    for unknown in ("NOSUCHPROVIDER0000000000", "x" * 65):
        missing = httpx.get(f"{demo['url']}/static/saml/{unknown}/saml-metadata.xml")
        assert missing.status_code == 404 and "<" not in missing.text


def test_provider_metadata_makes_each_certificate_once(demo: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The page needs no credentials: asking for it again costs no RSA signature."""
    uuid = _provider_decrypts(demo["ctx"])
    made = []

    def counted(*args):  # type: ignore[no-untyped-def]
        made.append(args[1])
        return encryption_certificate(*args)

    monkeypatch.setattr(sp, "_MINTED", {})
    monkeypatch.setattr(sp, "encryption_certificate", counted)
    first, second = _provider_metadata(demo, uuid), _provider_metadata(demo, uuid)
    assert etree.tostring(first) == etree.tostring(second)
    assert made == [private_key_id(SP.private_key)]


def test_sp_metadata_is_valid_against_the_saml_metadata_schema(demo: dict) -> None:
    """OASIS's saml-schema-metadata-2.0.xsd (as python3-saml ships it) takes both documents, with their key descriptors,
    encryption methods and requested attributes in the places the schema gives them."""
    import onelogin.saml2

    schema = etree.XMLSchema(etree.parse(str(Path(onelogin.saml2.__file__).parent / "schemas" / "saml-schema-metadata-2.0.xsd")))
    uuid = _provider_decrypts(demo["ctx"])
    provider = _provider_metadata(demo, uuid)
    assert len(_encryption_certificates(provider)) == 1
    schema.assertValid(provider)
    schema.assertValid(etree.fromstring(httpx.get(f"{demo['url']}/saml/metadata").content))

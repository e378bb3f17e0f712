"""Encrypted assertions through the whole pipeline (bar step 9): the Response signature is verified before
anything is decrypted, only the provider's uploaded keys decrypt, and the decrypted Assertion goes through the
same shape and signature checks as a plaintext one."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lxml import etree
from saml_factory import NOW, SETTINGS, encode, response_tree, signer, trust

from samlfed.saml import ProviderPolicy, SamlValidationError, validate
from samlfed.saml import constants as c

SP = signer("sp-encryption")
"""The service provider's key pair: the IdP encrypts for its certificate; its private key is uploaded."""
DECRYPTING = trust(decrypting_with=(SP,))
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"


def _checks(entries: tuple) -> dict[str, str]:
    return {check_id: status for check_id, status, *_ in entries}


def _rejected(b64: str, provider=DECRYPTING) -> SamlValidationError:
    with pytest.raises(SamlValidationError) as info:
        validate(b64, provider, now=NOW, settings=SETTINGS)
    assert not info.value.unexpected, info.value.message
    return info.value


@pytest.mark.parametrize("sign", ["assertion", "both"])
def test_a_signed_encrypted_assertion_is_accepted(sign: str) -> None:
    verified = validate(encode(response_tree(sign, encrypt_for=SP)), DECRYPTING, now=NOW, settings=SETTINGS)
    assert verified.response.signed == sign
    assert verified.response.name_id == "alice@example.com"
    assert verified.claims.role_session_name == "alice@example.com"
    checks = _checks(verified.check_log)
    assert checks["encryption.decrypt"] == "pass"
    assert checks["encryption.response_signature"] == ("pass" if sign == "both" else "skip")
    assert checks["signature.verify"] == "pass"


def test_plaintext_responses_skip_the_encryption_checks() -> None:
    verified = validate(encode(response_tree("assertion")), DECRYPTING, now=NOW, settings=SETTINGS)
    checks = _checks(verified.check_log)
    assert checks["encryption.response_signature"] == checks["encryption.decrypt"] == "skip"


@pytest.mark.parametrize("placement", [{"detached_key": True}, {"data_algorithm": "aes128-cbc"}, {"key_transport": "rsa-oaep", "oaep_digest": "sha256"}])
def test_the_layouts_and_algorithms_real_idps_use(placement: dict) -> None:
    b64 = encode(response_tree("assertion", encrypt_for=SP, encryption=placement))
    assert validate(b64, DECRYPTING, now=NOW, settings=SETTINGS).response.name_id == "alice@example.com"


def test_without_an_uploaded_key_encrypted_assertions_are_refused() -> None:
    error = _rejected(encode(response_tree("assertion", encrypt_for=SP)), trust())
    assert error.check_id == "shape.assertion"
    assert error.aws.message == "encrypted assertions are not enabled for this provider"


def test_required_mode_refuses_a_plaintext_assertion() -> None:
    error = _rejected(encode(response_tree("assertion")), trust(decrypting_with=(SP,), encryption_required=True))
    assert error.check_id == "shape.assertion"
    assert "requires encrypted assertions" in error.message
    # ... and accepts an encrypted one
    b64 = encode(response_tree("assertion", encrypt_for=SP))
    assert validate(b64, trust(decrypting_with=(SP,), encryption_required=True), now=NOW, settings=SETTINGS)


def test_another_key_cannot_decrypt_and_says_only_that() -> None:
    error = _rejected(encode(response_tree("assertion", encrypt_for=SP)), trust(decrypting_with=(signer("other-sp"),)))
    assert error.check_id == "encryption.decrypt"
    assert (error.aws.code, error.aws.status, error.aws.message) == ("InvalidIdentityToken", 400, "Response could not be decrypted")


def test_rotation_any_uploaded_key_decrypts() -> None:
    b64 = encode(response_tree("assertion", encrypt_for=SP))
    assert validate(b64, trust(decrypting_with=(signer("other-sp"), SP)), now=NOW, settings=SETTINGS)


def _cipher_values(root: etree._Element) -> list[etree._Element]:
    return root.findall(f".//{{{NS_XENC}}}CipherValue")


def test_the_response_signature_is_verified_before_decryption() -> None:
    """A forged ciphertext under a signed Response never reaches the decryption (no oracle): the Response
    signature fails first."""

    def forge(root: etree._Element) -> None:
        data = _cipher_values(root)[-1]
        data.text = data.text[:-8] + ("AAAAAAA=" if not data.text.endswith("AAAAAAA=") else "BBBBBBB=")

    error = _rejected(encode(response_tree("both", encrypt_for=SP, after_sign=forge)))
    assert error.check_id == "encryption.response_signature"
    assert _checks(tuple((r.id, r.status) for r in error.checks))["encryption.decrypt"] == "skip"


def test_a_response_signed_over_the_encrypted_form_needs_the_opt_in_for_an_unsigned_assertion() -> None:
    b64 = encode(response_tree("response", encrypt_for=SP))
    assert _rejected(b64).check_id == "signature.required"
    opted_in = trust(decrypting_with=(SP,), policy=ProviderPolicy(allow_response_only_signature=True))
    verified = validate(b64, opted_in, now=NOW, settings=SETTINGS)
    assert verified.response.signed == "response"
    assert verified.response.name_id == "alice@example.com"


def test_an_unsigned_encrypted_assertion_is_refused() -> None:
    assert _rejected(encode(response_tree("none", encrypt_for=SP))).check_id == "signature.required"


def test_an_encrypted_assertion_altered_after_signing_fails_its_signature() -> None:
    def alter(root: etree._Element) -> None:
        root.find(f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}").text = "mallory@example.com"

    # the IdP-side alteration happens between signing and encrypting: sign, alter, then encrypt
    tree = response_tree("assertion", encrypt_for=None)
    alter(tree)
    from samlfed.saml.signing import encrypt_assertion_in

    encrypt_assertion_in(tree, SP.certificate)
    assert _rejected(encode(tree)).check_id == "signature.verify"


def test_an_encrypted_and_a_plaintext_assertion_together_are_refused() -> None:
    tree = response_tree("assertion", encrypt_for=SP)
    tree.append(response_tree("assertion").find(c.ASSERTION))
    assert _rejected(encode(tree)).check_id == "shape.assertion"


def test_two_encrypted_assertions_are_refused() -> None:
    tree = response_tree("assertion", encrypt_for=SP)
    tree.append(response_tree("assertion", encrypt_for=SP).find(c.ENCRYPTED_ASSERTION))
    assert _rejected(encode(tree)).check_id == "shape.assertion"


def test_a_nested_encrypted_assertion_is_refused() -> None:
    tree = response_tree("assertion", encrypt_for=SP)
    encrypted = tree.find(c.ENCRYPTED_ASSERTION)
    extensions = etree.SubElement(tree, f"{{{c.NS_PROTOCOL}}}Extensions")
    extensions.append(encrypted)
    assert _rejected(encode(tree)).check_id == "shape.assertion"


def test_a_retrieval_method_outside_the_encrypted_assertion_is_still_refused() -> None:
    tree = response_tree("assertion", encrypt_for=SP, encryption={"detached_key": True})
    extensions = etree.SubElement(tree, f"{{{c.NS_PROTOCOL}}}Extensions")
    etree.SubElement(etree.SubElement(extensions, c.DS_KEY_INFO), c.DS_RETRIEVAL_METHOD, URI="#x")
    error = _rejected(encode(tree))
    assert (error.check_id, "RetrievalMethod" in error.message) == ("shape.signatures", True)


def _encrypted_plaintext(plaintext: bytes, *, sign_response: bool = False) -> str:
    """A Response whose EncryptedAssertion holds `plaintext`, encrypted for SP."""
    from samlfed.saml import xmlenc
    from samlfed.saml.signing import sign_element

    tree = response_tree("none")
    tree.replace(tree.find(c.ASSERTION), xmlenc.encrypt_assertion(plaintext, SP.certificate))
    if sign_response:
        sign_element(tree, signer())
    return encode(tree)


def _signed_assertion_bytes(**overrides: object) -> bytes:
    return etree.tostring(response_tree("assertion", **overrides).find(c.ASSERTION))


@pytest.mark.parametrize(
    ("plaintext", "says"),
    [
        (b"not xml at all", "not exactly one Assertion"),
        (b"<saml:Assertion", "not a document samlfed reads"),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a/>', "DOCTYPE"),
        (b"<a><b/></a>", "not exactly one Assertion"),
        (b"<?pi x?>" + _signed_assertion_bytes(), "processing instruction"),
    ],
    ids=["text", "not well-formed", "doctype", "not an assertion", "processing instruction"],
)
def test_the_plaintext_goes_through_the_hardened_parser(plaintext: bytes, says: str) -> None:
    error = _rejected(_encrypted_plaintext(plaintext))
    assert error.check_id == "encryption.decrypt"
    assert says in error.message
    assert error.aws.message == "Response could not be decrypted"


def test_the_plaintext_must_hold_exactly_one_assertion() -> None:
    outer = etree.fromstring(_signed_assertion_bytes())
    outer.find(c.SUBJECT).append(etree.fromstring(_signed_assertion_bytes()))  # a second, signed Assertion inside
    error = _rejected(_encrypted_plaintext(etree.tostring(outer)))
    assert (error.check_id, "not exactly one Assertion" in error.message) == ("encryption.decrypt", True)


def test_comments_inside_decrypted_text_values_are_refused() -> None:
    """Comment truncation (CVE-2017-11427) inside the encrypted assertion: the signature still verifies (c14n
    drops comments), so the shape check on the plaintext must catch it."""
    assertion = etree.fromstring(_signed_assertion_bytes())
    name_id = assertion.find(f"{c.SUBJECT}/{c.NAME_ID}")
    name_id.text = "alice@example.com"
    name_id.append(etree.Comment("x"))
    name_id[-1].tail = ".evil.test"
    error = _rejected(_encrypted_plaintext(etree.tostring(assertion)))
    assert error.check_id == "encryption.decrypt" and "comment" in error.message


def test_the_decrypted_assertion_signature_may_not_sit_elsewhere() -> None:
    assertion = etree.fromstring(_signed_assertion_bytes())
    signature = assertion.find(c.DS_SIGNATURE)
    assertion.find(c.SUBJECT).append(signature)
    error = _rejected(_encrypted_plaintext(etree.tostring(assertion)))
    assert error.check_id == "encryption.decrypt" and "Signature" in error.message


def _relying_on_the_response(assertion: bytes) -> bytes:
    """`assertion` without its own xmlns:xsi, which its AttributeValues' xsi:type need: the Response declares it, as
    XML Encryption allows (the plaintext is parsed in the context of the EncryptedAssertion)."""
    head, rest = assertion.split(b">", 1)
    declaration = f' xmlns:xsi="{c.NS_XSI}"'.encode()
    assert declaration in head and b"xsi:type" in rest
    return head.replace(declaration, b"") + b">" + rest


def test_a_signed_response_may_leave_prefixes_of_a_signed_assertion_to_its_own_declarations() -> None:
    """Found by review: exclusive c14n leaves xmlns:xsi, which the Response does not use itself, out of the signed
    Response, so such a plaintext did not parse when the Response was signed (and did when it was not)."""
    b64 = _encrypted_plaintext(_relying_on_the_response(_signed_assertion_bytes()), sign_response=True)
    verified = validate(b64, DECRYPTING, now=NOW, settings=SETTINGS)
    assert (verified.response.signed, verified.response.name_id) == ("both", "alice@example.com")


def test_an_unsigned_declaration_that_the_plaintext_relies_on_cannot_be_changed() -> None:
    """xmlns:xsi on the Response is outside its signature; rebound in transit, it changes the namespace of the
    plaintext's xsi:type, which the Assertion's own signature covers."""
    b64 = _encrypted_plaintext(_relying_on_the_response(_signed_assertion_bytes()), sign_response=True)
    xml = base64.b64decode(b64)
    rebound = xml.replace(f'xmlns:xsi="{c.NS_XSI}"'.encode(), b'xmlns:xsi="urn:example:not-xsi"')
    assert rebound.count(b"urn:example:not-xsi") == 1  # the Response's declaration: the plaintext is ciphertext
    assert _rejected(base64.b64encode(rebound).decode()).check_id == "signature.verify"


def test_an_unsigned_assertion_may_not_rely_on_declarations_outside_the_signature() -> None:
    opted_in = trust(decrypting_with=(SP,), policy=ProviderPolicy(allow_response_only_signature=True))
    unsigned = etree.tostring(response_tree("none").find(c.ASSERTION))
    b64 = _encrypted_plaintext(_relying_on_the_response(unsigned), sign_response=True)
    error = _rejected(b64, opted_in)
    assert error.check_id == "encryption.decrypt"
    assert "is not signed itself and does not parse without namespace declarations of the Response that the Response's signature does not cover (xs, xsi)" in error.message
    assert error.aws.message == "Response could not be decrypted"
    with_its_own = _encrypted_plaintext(unsigned, sign_response=True)  # the same Assertion declaring xsi itself
    assert validate(with_its_own, opted_in, now=NOW, settings=SETTINGS).response.signed == "response"


def test_the_doctor_says_how_to_mend_an_unsigned_assertion_relying_on_the_responses_declarations(tmp_path: Path) -> None:
    """Found by an interop probe (xmlsec1 encrypting an Assertion that relies on the Response's xmlns:xs/xsi): the
    refusal stands, but the doctor gave the generic decryption hint, which points at the keys."""
    from cryptography.hazmat.primitives import serialization

    from samlfed.doctor import examine

    unsigned = etree.tostring(response_tree("none").find(c.ASSERTION))
    (tmp_path / "response.b64").write_text(_encrypted_plaintext(_relying_on_the_response(unsigned), sign_response=True))
    (tmp_path / "idp.pem").write_bytes(signer().certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "sp.pem").write_bytes(SP.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    diagnosis = examine(
        str(tmp_path / "response.b64"), metadata=[], certs=[tmp_path / "idp.pem"], private_keys=[tmp_path / "sp.pem"], now=NOW,
        policy=ProviderPolicy(allow_response_only_signature=True), settings=SETTINGS,
    )
    failed = [check for check in diagnosis.checks if check.status == "fail"]
    assert [check.id for check in failed] == ["encryption.decrypt"]
    assert "declare them on the Assertion itself" in failed[0].hint and "sign the Assertion" in failed[0].hint


def test_every_decryption_stage_failure_answers_alike_hint_included() -> None:
    """Found by review: the console shows the failed check's hint, and a parse failure (good CBC padding) had none
    while a bad padding had the uniform one: a padding oracle through the page. Every failure of encryption.decrypt,
    whatever its cause, now carries one AWS answer and one hint (the message, for the log and the doctor, differs)."""
    assertion = etree.fromstring(_signed_assertion_bytes())
    assertion.find(c.SUBJECT).append(etree.fromstring(_signed_assertion_bytes()))
    causes = [
        _rejected(encode(response_tree("assertion", encrypt_for=SP)), trust(decrypting_with=(signer("other-sp"),))),  # wrong key
        _rejected(_encrypted_plaintext(b"<saml:Assertion")),  # does not parse
        _rejected(_encrypted_plaintext(b"<a><b/></a>")),  # parses, not an Assertion
        _rejected(_encrypted_plaintext(etree.tostring(assertion))),  # two Assertions
        _rejected(_encrypted_plaintext(b"<!DOCTYPE a><a/>")),
    ]
    assert {error.check_id for error in causes} == {"encryption.decrypt"}
    assert len({(error.aws, error.hint) for error in causes}) == 1
    assert len({error.message for error in causes}) > 1  # the log and the doctor still say which

"""C14N 1.1 (http://www.w3.org/2006/12/xml-c14n11), a legacy algorithm of the bar's allowlist: signed here by
libxmlsec, which implements it, and verified by samlfed, which canonicalizes it as inclusive c14n 1.0 where the two
agree (no xml:id or xml:base on an ancestor of the signed element) and refuses it elsewhere."""

from __future__ import annotations

import base64

import pytest
import xmlsec
from lxml import etree
from saml_factory import NOW, SETTINGS, encode, response_tree, signer, trust

from samlfed.saml import ProviderPolicy, SamlValidationError, validate
from samlfed.saml import constants as c

LEGACY = trust(policy=ProviderPolicy(allow_legacy_algorithms=True))


def signed_with_c14n11(*, transform: xmlsec.Transform = xmlsec.Transform.EXCL_C14N, response_attributes: dict[str, str] | None = None) -> str:
    """An AWS-shaped response whose Assertion libxmlsec signs with c14n 1.1 as its CanonicalizationMethod."""
    root = response_tree("none")
    for name, value in (response_attributes or {}).items():
        root.set(name, value)
    assertion = root.find(c.ASSERTION)
    signature = xmlsec.template.create(assertion, xmlsec.Transform.C14N11, xmlsec.Transform.RSA_SHA256, ns="ds")
    assertion.insert(1, signature)  # after the Issuer, as IdPs place it
    reference = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri=f"#{assertion.get('ID')}")
    xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(reference, transform)
    xmlsec.tree.add_ids(root, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(signer().key_pem(), xmlsec.KeyFormat.PEM)
    context.sign(signature)
    return encode(root)


@pytest.mark.parametrize("transform", [xmlsec.Transform.EXCL_C14N, xmlsec.Transform.C14N11], ids=["exclusive transform", "c14n 1.1 transform"])
def test_a_c14n11_signature_verifies_with_the_legacy_opt_in_only(transform: xmlsec.Transform) -> None:
    document = signed_with_c14n11(transform=transform)
    assert validate(document, LEGACY, now=NOW, settings=SETTINGS).claims.role_session_name == "alice@example.com"
    with pytest.raises(SamlValidationError) as refused:
        validate(document, trust(), now=NOW, settings=SETTINGS)
    assert refused.value.check_id == "signature.algorithms" and "legacy-algorithms" in (refused.value.hint or "")


def test_a_tampered_c14n11_signature_fails() -> None:
    tampered = etree.fromstring(base64.b64decode(signed_with_c14n11()))
    tampered.find(f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}").text = "mallory@example.com"
    with pytest.raises(SamlValidationError) as refused:
        validate(encode(tampered), LEGACY, now=NOW, settings=SETTINGS)
    assert refused.value.check_id == "signature.verify"


def test_c14n11_under_an_ancestor_with_xml_base_is_refused_not_guessed() -> None:
    # c14n 1.1 joins an ancestor's xml:base into the signed element's, c14n 1.0 copies it: the bytes differ
    document = signed_with_c14n11(response_attributes={f"{{{c.NS_XML}}}base": "https://idp.example/saml/"})
    with pytest.raises(SamlValidationError) as refused:
        validate(document, LEGACY, now=NOW, settings=SETTINGS)
    assert refused.value.check_id == "signature.algorithms" and "xml:id or xml:base" in refused.value.message

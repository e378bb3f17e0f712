"""IdP metadata: what is trusted, what is refused ("Could not parse metadata."), and what is only a warning."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from saml_factory import NOW, signer
from shared_paths import shared_dir

from samlfed.saml import MetadataError, ProviderPolicy
from samlfed.saml import constants as c
from samlfed.saml.metadata import SsoEndpoint, build_idp_metadata, parse_metadata
from samlfed.saml.signing import IdpSigner

ENTITY = "https://idp.example.test/saml"


def metadata(*signers: IdpSigner, **kwargs) -> bytes:
    return build_idp_metadata(ENTITY, [s.certificate for s in signers or (signer(),)], **kwargs)


def refused(document: bytes | str, reason_part: str) -> None:
    with pytest.raises(MetadataError) as info:
        parse_metadata(document, now=NOW)
    assert reason_part in info.value.reason
    assert info.value.aws_message == "Could not parse metadata."


def test_round_trip_of_built_metadata() -> None:
    endpoints = [SsoEndpoint(c.BINDING_HTTP_POST, "https://idp.example.test/sso/post")]
    parsed = parse_metadata(
        metadata(signer(), signer("next"), sso_endpoints=endpoints, name_id_formats=[c.NAMEID_PERSISTENT]), now=NOW
    )
    assert parsed.entity_id == ENTITY
    assert [k.certificate for k in parsed.signing_keys] == [signer().certificate, signer("next").certificate]
    assert parsed.sso_url(c.BINDING_HTTP_POST) == "https://idp.example.test/sso/post"
    assert parsed.sso_url(c.BINDING_SOAP) is None
    assert parsed.name_id_formats == (c.NAMEID_PERSISTENT,)
    assert parsed.warnings == ()
    trust = parsed.trust(policy=ProviderPolicy(allow_legacy_algorithms=True), provider_arn="arn:aws:iam::111111111111:saml-provider/X")
    assert trust.entity_id == ENTITY and len(trust.signing_keys) == 2 and trust.policy.allow_legacy_algorithms


def test_shared_fixture_metadata() -> None:
    google = parse_metadata((shared_dir() / "fixtures/saml/crewjam-saml/TestSPCanHandlePlaintextResponse_IDPMetadata").read_bytes(), now=NOW)
    assert google.entity_id == "https://accounts.google.com/o/saml2?idpid=C02dfl1r1"
    assert len(google.signing_keys) == 1
    assert google.valid_until == datetime(2021, 1, 3, 16, 17, 49, tzinfo=UTC)
    assert any("expired" in w for w in google.warnings) and any("validUntil" in w for w in google.warnings)
    pysaml2 = parse_metadata((shared_dir() / "fixtures/saml/pysaml2/idp.xml").read_bytes(), now=NOW)
    assert pysaml2.entity_id == "urn:mace:example.com:saml:roland:idp"
    assert len(pysaml2.signing_keys) == 1  # the encryption KeyDescriptor holds the same certificate: ignored
    assert any("1024 bits" in w for w in pysaml2.warnings)


def _with_descriptor_use(use: str | None) -> bytes:
    root = etree.fromstring(metadata())
    descriptor = root.find(f"{c.MD_IDP_SSO_DESCRIPTOR}/{c.MD_KEY_DESCRIPTOR}")
    if use is None:
        descriptor.attrib.pop("use")
    else:
        descriptor.set("use", use)
    return etree.tostring(root)


def test_key_descriptor_use() -> None:
    assert len(parse_metadata(_with_descriptor_use(None), now=NOW).signing_keys) == 1
    refused(_with_descriptor_use("encryption"), "no signing certificate")


def test_refusals() -> None:
    refused(b"a" * 1000, "not acceptable XML")
    refused(b'<!DOCTYPE x [<!ENTITY e "x">]>' + metadata().split(b"?>", 1)[1], "DOCTYPE")
    refused(b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>', "no IDPSSODescriptor")
    refused(metadata().replace(b'entityID="https://idp.example.test/saml"', b'entityID=""'), "entityID")
    refused(metadata().replace(c.NS_PROTOCOL.encode() + b'" ', b'urn:other" '), "SAML 2.0 protocol")
    refused(b'<r xmlns="urn:x"/>', "not an md:EntityDescriptor")


def test_certificate_refusals() -> None:
    small = IdpSigner.generate("small", key_size=1024)
    assert parse_metadata(metadata(small), now=NOW).signing_keys[0].key_size == 1024  # AWS's floor is 1024
    der = base64.b64encode(signer().certificate.public_bytes(serialization.Encoding.DER)).decode()
    refused(metadata().replace(der.encode(), b"bm90IGEgY2VydA=="), "not a valid base64 DER")


def test_two_identity_providers_are_refused_and_one_in_an_aggregate_is_accepted() -> None:
    one = metadata().split(b"?>", 1)[1]
    aggregate = b'<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">' + one + b"</md:EntitiesDescriptor>"
    assert parse_metadata(aggregate, now=NOW).entity_id == ENTITY
    two = b'<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">' + one + one + b"</md:EntitiesDescriptor>"
    refused(two, "2 identity providers")


def test_expiry_warnings() -> None:
    expiring = IdpSigner.generate("expiring", not_before=NOW - timedelta(days=300), not_after=NOW + timedelta(days=10))
    warnings = parse_metadata(metadata(expiring), now=NOW).warnings
    assert any("expires on" in w for w in warnings)
    expired = IdpSigner.generate("expired", not_before=NOW - timedelta(days=300), not_after=NOW - timedelta(days=10))
    warnings = parse_metadata(metadata(expired), now=NOW).warnings
    assert any("expired on" in w for w in warnings)

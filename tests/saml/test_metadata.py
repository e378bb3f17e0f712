"""IdP metadata: what is trusted, what is refused ("Could not parse metadata."), and what is only a warning."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from shared_paths import shared_dir

from samlfed.saml import MetadataError, ProviderPolicy
from samlfed.saml import constants as c
from samlfed.saml.metadata import EXPIRY_WARNING, SsoEndpoint, build_idp_metadata, parse_metadata
from samlfed.saml.timeutil import parse_xs_datetime

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
ENTITY = "https://idp.example.test/saml"
BINDING_REDIRECT = c.BINDING_HTTP_REDIRECT
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


@cache
def rsa_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """One key per name for the whole run (RSA key generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def self_signed(
    common_name: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    *,
    not_after: datetime = NOW + timedelta(days=365),
    public_key: rsa.RSAPublicKey | None = None,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    """A certificate for `common_name`; `public_key` certifies a key other than the signing one."""
    key = key or rsa_key(common_name)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key or key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=730))
        .not_valid_after(not_after)
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key, hashes.SHA256())


def metadata(*certificates: x509.Certificate, **kwargs: object) -> bytes:
    return build_idp_metadata(ENTITY, certificates or (self_signed("current"),), **kwargs)  # type: ignore[arg-type]


def edited(edit: Callable[[etree._Element], object], document: bytes | None = None) -> bytes:
    """`document` (default: `metadata()`) after `edit` changed its parsed tree."""
    root = etree.fromstring(document or metadata())
    edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def idp_of(root: etree._Element) -> etree._Element:
    return root.find(c.MD_IDP_SSO_DESCRIPTOR)


def key_descriptor(certificate: x509.Certificate, use: str | None) -> etree._Element:
    """A KeyDescriptor like the builder's, with any `use` (None: no attribute)."""
    built = etree.fromstring(metadata(certificate))
    descriptor = idp_of(built).find(c.MD_KEY_DESCRIPTOR)
    descriptor.attrib.pop("use")
    if use is not None:
        descriptor.set("use", use)
    return descriptor


def certificate_text(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def with_certificate_text(text: str) -> bytes:
    return edited(lambda root: setattr(root.find(f".//{c.DS_X509_CERTIFICATE}"), "text", text))


def aggregate(*entities: bytes, valid_until: str | None = None) -> bytes:
    root = etree.Element(c.MD_ENTITIES_DESCRIPTOR, nsmap={"md": c.NS_METADATA})
    if valid_until:
        root.set("validUntil", valid_until)
    root.extend(etree.fromstring(e) for e in entities)
    return etree.tostring(root)


def sp_entity() -> bytes:
    return (
        b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example.test">'
        b'<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>'
    )


def refused(document: bytes | str, reason_part: str, aws_message: str = "Could not parse metadata.") -> None:
    with pytest.raises(MetadataError) as info:
        parse_metadata(document, now=NOW)
    assert reason_part in info.value.reason
    assert info.value.aws_message == aws_message


# --- accepted documents ---------------------------------------------------------------------------------


def test_builder_round_trip() -> None:
    current, following = self_signed("current"), self_signed("next")
    endpoints = [
        SsoEndpoint(c.BINDING_HTTP_POST, "https://idp.example.test/sso/post"),
        SsoEndpoint(BINDING_REDIRECT, "https://idp.example.test/sso"),
    ]
    valid_until = NOW + timedelta(days=7, microseconds=250)
    document = metadata(
        current, following, sso_endpoints=endpoints, name_id_formats=[c.NAMEID_PERSISTENT, NAMEID_EMAIL], valid_until=valid_until
    )

    assert document.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    idp = idp_of(etree.fromstring(document))
    assert idp.get("WantAuthnRequestsSigned") == "false"
    assert [etree.QName(e).localname for e in idp] == [
        "KeyDescriptor",
        "KeyDescriptor",
        "NameIDFormat",
        "NameIDFormat",
        "SingleSignOnService",
        "SingleSignOnService",
    ]

    parsed = parse_metadata(document, now=NOW)
    assert parsed.entity_id == ENTITY
    assert [k.certificate for k in parsed.signing_keys] == [current, following]
    assert parsed.valid_until == valid_until
    assert parsed.sso_endpoints == tuple(endpoints)
    assert parsed.sso_url(c.BINDING_HTTP_POST) == "https://idp.example.test/sso/post"
    assert parsed.sso_url(c.BINDING_SOAP) is None
    assert parsed.name_id_formats == (c.NAMEID_PERSISTENT, NAMEID_EMAIL)
    assert parsed.warnings == ()
    assert parse_metadata(document.decode(), now=NOW) == parsed  # str input: the same document


def test_trust_carries_keys_and_registration() -> None:
    parsed = parse_metadata(metadata(), now=NOW)
    policy = ProviderPolicy(allow_legacy_algorithms=True)
    trust = parsed.trust(policy=policy, provider_arn="arn:aws:iam::111111111111:saml-provider/X", provider_uuid="ABC123")
    assert (trust.entity_id, trust.signing_keys, trust.policy) == (ENTITY, parsed.signing_keys, policy)
    assert (trust.provider_arn, trust.provider_uuid) == ("arn:aws:iam::111111111111:saml-provider/X", "ABC123")
    assert parsed.trust().policy == ProviderPolicy()


def test_builder_refuses_a_naive_valid_until() -> None:
    with pytest.raises(ValueError):
        metadata(valid_until=datetime(2027, 1, 1))


def test_google_metadata_fixture() -> None:
    document = (shared_dir() / "fixtures/saml/crewjam-saml/TestSPCanHandlePlaintextResponse_IDPMetadata").read_bytes()
    google = parse_metadata(document, now=NOW)
    assert google.entity_id == "https://accounts.google.com/o/saml2?idpid=C02dfl1r1"
    assert [k.key_size for k in google.signing_keys] == [2048]
    assert google.valid_until == datetime(2021, 1, 3, 16, 17, 49, tzinfo=UTC)
    assert google.sso_url(c.BINDING_HTTP_POST) == "https://accounts.google.com/o/saml2/idp?idpid=C02dfl1r1"
    assert len(google.sso_endpoints) == 2  # listed twice in the document, kept in document order
    assert google.name_id_formats == (NAMEID_EMAIL,)
    assert len(google.warnings) == 2
    assert "expired on 2021-01-03; AWS keeps accepting it, but rotate it" in google.warnings[0]
    assert "validUntil (2021-01-03) has passed" in google.warnings[1]


def test_pysaml2_metadata_fixture() -> None:
    pysaml2 = parse_metadata((shared_dir() / "fixtures/saml/pysaml2/idp.xml").read_bytes(), now=NOW)
    assert pysaml2.entity_id == "urn:mace:example.com:saml:roland:idp"
    assert [k.key_size for k in pysaml2.signing_keys] == [1024]  # the encryption KeyDescriptor is not a signing key
    assert pysaml2.valid_until is None
    assert pysaml2.sso_endpoints == (SsoEndpoint(BINDING_REDIRECT, "http://localhost:8088/sso"),)
    assert any("expired on 2009-11-05" in w for w in pysaml2.warnings)
    assert any("1024-bit RSA key" in w and "legacy-algorithms opt-in" in w for w in pysaml2.warnings)


def test_rotation_takes_every_signing_certificate_and_ignores_encryption() -> None:
    current, following, encryption = self_signed("current"), self_signed("next"), self_signed("encryption")
    document = edited(lambda root: idp_of(root).insert(0, key_descriptor(encryption, "encryption")), metadata(current, following))
    assert [k.certificate for k in parse_metadata(document, now=NOW).signing_keys] == [current, following]


def test_a_key_descriptor_without_use_is_a_signing_key() -> None:
    current, unqualified = self_signed("current"), self_signed("unqualified")
    document = edited(lambda root: idp_of(root).append(key_descriptor(unqualified, None)), metadata(current))
    assert [k.certificate for k in parse_metadata(document, now=NOW).signing_keys] == [current, unqualified]


def test_identical_certificates_are_one_key() -> None:
    current = self_signed("current")
    assert len(parse_metadata(metadata(current, current), now=NOW).signing_keys) == 1


def test_elements_are_matched_by_namespace_not_prefix() -> None:
    document = metadata().replace(b"md:", b"saml-md:").replace(b"xmlns:md=", b"xmlns:saml-md=")
    assert b"<saml-md:EntityDescriptor" in document
    assert parse_metadata(document, now=NOW).entity_id == ENTITY


def test_an_aggregate_with_one_identity_provider_is_accepted() -> None:
    nested = aggregate(sp_entity(), metadata(valid_until=NOW + timedelta(days=30)), valid_until="2026-12-01T00:00:00Z")
    parsed = parse_metadata(aggregate(sp_entity(), nested), now=NOW)
    assert parsed.entity_id == ENTITY
    assert parsed.valid_until == datetime(2026, 12, 1, tzinfo=UTC)  # the earliest bound: the aggregate's


def test_the_descriptor_valid_until_also_bounds_the_metadata() -> None:
    document = edited(
        lambda root: idp_of(root).set("validUntil", "2026-12-24T12:00:00+01:00"), metadata(valid_until=NOW + timedelta(days=60))
    )
    assert parse_metadata(document, now=NOW).valid_until == datetime(2026, 12, 24, 11, tzinfo=UTC)


def test_incomplete_endpoints_and_empty_formats_are_skipped() -> None:
    def add_incomplete(root: etree._Element) -> None:
        idp = idp_of(root)
        etree.SubElement(idp, c.MD_NAME_ID_FORMAT).text = "  "
        etree.SubElement(idp, c.MD_SINGLE_SIGN_ON_SERVICE, Binding=c.BINDING_HTTP_POST)
        etree.SubElement(idp, c.MD_SINGLE_SIGN_ON_SERVICE, Location="https://idp.example.test/sso")

    parsed = parse_metadata(edited(add_incomplete), now=NOW)
    assert (parsed.sso_endpoints, parsed.name_id_formats) == ((), ())


# --- refusals -----------------------------------------------------------------------------------------


def test_not_xml() -> None:
    refused(b"this is not XML", "not acceptable XML")


def test_doctype() -> None:
    refused(b'<!DOCTYPE x [<!ENTITY e "x">]>' + metadata().split(b"?>", 1)[1], "DOCTYPE")


def test_non_utf8_encoding() -> None:
    latin1 = metadata().replace(b"encoding='UTF-8'", b"encoding='ISO-8859-1'")
    refused(latin1, "only UTF-8 is accepted")


def test_byte_order_mark() -> None:
    refused(b"\xef\xbb\xbf" + metadata(), "byte order mark")
    refused("\ufeff" + metadata().decode(), "byte order mark")


def test_root_in_another_namespace() -> None:
    refused(metadata().replace(c.NS_METADATA.encode(), b"urn:example:not-metadata"), "not an md:EntityDescriptor")


def test_no_identity_provider() -> None:
    refused(sp_entity(), "no IDPSSODescriptor")


def test_identity_provider_descriptor_in_another_namespace() -> None:
    refused(edited(lambda root: setattr(idp_of(root), "tag", "{urn:example:other}IDPSSODescriptor")), "no IDPSSODescriptor")


def test_two_identity_provider_descriptors() -> None:
    refused(edited(lambda root: root.append(etree.fromstring(etree.tostring(idp_of(root))))), "more than one IDPSSODescriptor")


def test_two_identity_providers_in_an_aggregate() -> None:
    other = build_idp_metadata("https://other.example.test/saml", [self_signed("other")])
    refused(aggregate(metadata(), aggregate(other)), "2 identity providers")


@pytest.mark.parametrize(
    ("entity_id", "reason"),
    [
        (None, "has no entityID"),
        ("", "entityID is empty"),
        ("   ", "entityID is empty"),
        (f" {ENTITY}", "leading or trailing whitespace"),
        (f"{ENTITY}\n", "leading or trailing whitespace"),
    ],
)
def test_unusable_entity_id(entity_id: str | None, reason: str) -> None:
    def set_entity_id(root: etree._Element) -> None:
        root.attrib.pop("entityID")
        if entity_id is not None:
            root.set("entityID", entity_id)

    refused(edited(set_entity_id), reason)


@pytest.mark.parametrize("protocols", [None, "urn:oasis:names:tc:SAML:1.1:protocol", "urn:oasis:names:tc:SAML:2.0:protocolX"])
def test_saml2_protocol_support_is_required(protocols: str | None) -> None:
    def set_protocols(root: etree._Element) -> None:
        idp_of(root).attrib.pop("protocolSupportEnumeration")
        if protocols is not None:
            idp_of(root).set("protocolSupportEnumeration", protocols)

    refused(edited(set_protocols), "protocolSupportEnumeration does not include")


def test_several_supported_protocols_are_accepted() -> None:
    both = f"urn:oasis:names:tc:SAML:1.1:protocol {c.NS_PROTOCOL}"
    assert parse_metadata(edited(lambda root: idp_of(root).set("protocolSupportEnumeration", both)), now=NOW).entity_id == ENTITY


def test_only_an_encryption_certificate() -> None:
    refused(edited(lambda root: idp_of(root).find(c.MD_KEY_DESCRIPTOR).set("use", "encryption")), "no signing certificate")


def test_no_key_descriptor() -> None:
    refused(build_idp_metadata(ENTITY, []), "no signing certificate")


def test_certificate_that_is_not_base64() -> None:
    refused(with_certificate_text("MIIC!!notbase64"), "not valid base64")


def test_certificate_that_is_not_der() -> None:
    refused(with_certificate_text(base64.b64encode(b"not a certificate").decode()), "not a valid DER X.509 certificate")


def test_certificate_base64_may_be_wrapped() -> None:
    text = certificate_text(self_signed("current"))
    wrapped = "\r\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    assert len(parse_metadata(with_certificate_text(f"\n  {wrapped}\n"), now=NOW).signing_keys) == 1


def test_certificate_with_a_repeated_extension() -> None:
    def unrecognized(oid: str) -> x509.UnrecognizedExtension:
        return x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), b"\x05\x00")

    der = self_signed("repeated", extensions=[unrecognized("1.2.3.4.1"), unrecognized("1.2.3.4.2")]).public_bytes(
        serialization.Encoding.DER
    )
    # Rewrite the second OID (DER 06 04 2A 03 04 02) into the first: the builder refuses to emit duplicates itself.
    repeated = der.replace(b"\x06\x04\x2a\x03\x04\x02", b"\x06\x04\x2a\x03\x04\x01")
    assert repeated != der
    refused(with_certificate_text(base64.b64encode(repeated).decode()), "repeats an extension (1.2.3.4.1)", "Unable to parse metadata")


def test_non_rsa_key() -> None:
    refused(metadata(self_signed("ec", ec.generate_private_key(ec.SECP256R1()))), "non-RSA key (EC)")


def test_a_non_rsa_key_beside_rsa_ones_is_left_out_with_a_warning() -> None:
    """An IdP that also publishes an EC key: its RSA keys still verify, the EC one never could (RSA-only profile)."""
    parsed = parse_metadata(metadata(self_signed("ec", ec.generate_private_key(ec.SECP256R1())), self_signed("rsa")), now=NOW)
    assert [key.subject for key in parsed.signing_keys] == ["CN=rsa"]
    assert any("CN=ec has a non-RSA key (EC)" in warning and "left out" in warning for warning in parsed.warnings)


def test_rsa_key_under_1024_bits() -> None:
    # cryptography will not generate a 512-bit key, but a bare public modulus is all a certificate needs.
    small = rsa.RSAPublicNumbers(65537, (1 << 511) | 1).public_key()
    refused(metadata(self_signed("small", rsa_key("issuer"), public_key=small)), "512-bit RSA key; at least 1024 bits", "Unable to parse metadata")


@pytest.mark.parametrize("valid_until", ["2027-01-01", "2027-01-01T00:00:00+0100", "soon", "2027-02-30T00:00:00Z"])
def test_invalid_valid_until(valid_until: str) -> None:
    refused(edited(lambda root: root.set("validUntil", valid_until)), f"validUntil {valid_until!r}")


# --- warnings -----------------------------------------------------------------------------------------


def test_expired_certificate_is_kept_with_a_warning() -> None:
    expired = self_signed("expired", not_after=datetime(2026, 11, 2, tzinfo=UTC))
    parsed = parse_metadata(metadata(expired), now=NOW)
    assert [k.certificate for k in parsed.signing_keys] == [expired]
    assert parsed.warnings == ("signing certificate CN=expired expired on 2026-11-02; AWS keeps accepting it, but rotate it",)


def test_certificate_expiring_within_30_days() -> None:
    soon = self_signed("soon", not_after=NOW + timedelta(days=29))
    assert parse_metadata(metadata(soon), now=NOW).warnings == (
        "signing certificate CN=soon expires on 2026-12-23; publish its successor now",
    )
    later = self_signed("later", not_after=NOW + timedelta(days=31))
    assert parse_metadata(metadata(later), now=NOW).warnings == ()


def test_certificate_warning_edges() -> None:
    """Expired only after its last instant; 'expires soon' for under 30 days; validUntil passed only after it."""
    ends_now = self_signed("now", not_after=NOW)
    assert parse_metadata(metadata(ends_now), now=NOW).warnings == ("signing certificate CN=now expires on 2026-11-24; publish its successor now",)
    in_30_days = self_signed("month", not_after=NOW + EXPIRY_WARNING)
    assert parse_metadata(metadata(in_30_days), now=NOW).warnings == ()
    assert parse_metadata(metadata(valid_until=NOW), now=NOW).warnings == ()


def test_1024_bit_key_is_accepted_with_a_warning() -> None:
    legacy = self_signed("legacy", rsa_key("legacy", 1024))
    parsed = parse_metadata(metadata(legacy), now=NOW)
    assert parsed.signing_keys[0].key_size == 1024  # AWS's floor is 1024 bits
    assert parsed.warnings == (
        "signing certificate CN=legacy has a 1024-bit RSA key; it verifies only with the provider's legacy-algorithms opt-in",
    )


def test_past_valid_until_is_a_warning() -> None:
    parsed = parse_metadata(metadata(valid_until=NOW - timedelta(days=1)), now=NOW)
    assert parsed.valid_until == NOW - timedelta(days=1)
    assert parsed.warnings == ("the metadata's validUntil (2026-11-23) has passed; download fresh metadata from the IdP",)


def test_warnings_follow_the_given_clock() -> None:
    document = metadata(valid_until=NOW + timedelta(days=1))
    assert parse_metadata(document, now=NOW).warnings == ()
    assert len(parse_metadata(document, now=NOW + timedelta(days=400)).warnings) == 2  # certificate and validUntil


# --- xs:dateTime --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24T12:00:00Z", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("2026-11-24T12:00:00+00:00", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("2026-11-24T12:00:00-00:00", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("2026-11-24T14:00:00+02:00", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("2026-11-24T00:30:00-05:30", datetime(2026, 11, 24, 6, tzinfo=UTC)),
        ("2026-11-24T12:00:00+14:00", datetime(2026, 11, 23, 22, tzinfo=UTC)),  # the widest zone offset
        ("2026-11-24T12:00:00-13:59", datetime(2026, 11, 25, 1, 59, tzinfo=UTC)),
        ("2026-01-01T01:00:00+02:00", datetime(2025, 12, 31, 23, tzinfo=UTC)),
        ("2026-11-24T12:00:00.5Z", datetime(2026, 11, 24, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2021-01-03T16:17:49.000Z", datetime(2021, 1, 3, 16, 17, 49, tzinfo=UTC)),
        ("2026-11-24T12:00:00.123456789Z", datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)),  # truncated, not rounded
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_xs_datetime_accepted(value: str, expected: datetime) -> None:
    parsed = parse_xs_datetime(value)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-24T12:00:00",  # naive
        "2026-11-24",
        "2026-11-24T12:00Z",
        "2026-11-24 12:00:00Z",
        "2026-11-24t12:00:00z",
        "garbage",
        "",
        "2017-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T12:00:60Z",
        "2026-11-24T12:00:00+15:00",
        "2026-11-24T12:00:00+01:60",
        "2026-11-24T12:00:00+0100",
        "2026-11-24T12:00:00.Z",
        "2026-11-24T12:00:00.1234567890Z",
        "2026-11-24T12:00:00Z\n",
        " 2026-11-24T12:00:00Z",
        "0000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "10000-01-01T00:00:00Z",
        "02026-11-24T12:00:00Z",
        "٢٠٢٦-11-24T12:00:00Z",  # non-ASCII digits
    ],
)
def test_xs_datetime_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_xs_datetime(value)


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.text(alphabet="0123456789", min_size=0, max_size=9),
)
def test_xs_datetime_utc_fast_path_agrees_with_the_general_parser(moment: datetime, fraction: str) -> None:
    """A 'Z' instant takes fromisoformat; the same instant written '+00:00' takes the general path: same answer."""
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    text += f".{fraction}" if fraction else ""
    assert parse_xs_datetime(text + "Z") == parse_xs_datetime(text + "+00:00")

"""Every response in shared/fixtures/saml, with samlfed's verdict and the options that lead to it.

These are real IdP responses and public attack files. None of them is AWS-bound (no Role or RoleSessionName
attribute), so they go through `validate_response`, the SAML-level pipeline; the AWS-attribute stage is
covered by tests/saml/test_checks.py. Per the fixture README, samlfed is stricter than the source libraries:
response-only signatures and SHA-1/1024-bit keys need their opt-ins, a second assertion anywhere (Advice
included) is a rejection, encrypted assertions are refused without the provider's private key, and a missing Audience is a
rejection. Every clock is pinned to an instant the README gives.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from shared_paths import shared_dir

from samlfed.saml import ProviderPolicy, ProviderTrust, SamlValidationError, SigningKey, ValidationSettings, validate_response
from samlfed.saml.metadata import parse_metadata
from samlfed.saml.timeutil import parse_xs_datetime

FIXTURES = shared_dir() / "fixtures" / "saml"
LEGACY = ProviderPolicy(allow_legacy_algorithms=True)
LEGACY_RESPONSE_ONLY = ProviderPolicy(allow_legacy_algorithms=True, allow_response_only_signature=True)
RESPONSE_ONLY = ProviderPolicy(allow_response_only_signature=True)


@dataclass(frozen=True)
class Case:
    path: str
    key: str
    """A PEM certificate/public key, or a metadata file (then the entity ID comes from it)."""
    issuer: str
    now: str
    audiences: tuple[str, ...] = ()
    acs: tuple[str, ...] = ()
    policy: ProviderPolicy = ProviderPolicy()
    verdict: str = "accept"
    """'accept', or the id of the check that must reject it."""
    expect: dict[str, str] = field(default_factory=dict)
    """For accepted cases: VerifiedResponse fields and their expected values."""
    max_age: timedelta = timedelta(minutes=5)
    """The redemption window; node-saml's documents were issued an hour before their pinned clock."""
    decryption_key: str | None = None
    """The service provider's private key (PEM) uploaded for encrypted assertions, if any."""


GOSAML2_ACS = "http://localhost:8080/v1/_saml_callback"
ADFS_ACS = "https://saml.test.nope/session/sso/saml/acs/dknhyszjl7"
ADFS_AUDIENCE = "https://saml.test.nope/session/sso/saml/spentityid/dknhyszjl7"
ADFS_ISSUER = "http://fs.spstest2.com/adfs/services/trust"
OKTAENC_ISSUER = "http://www.okta.com/exkbb59wb20X96NY20h7"
OKTAENC_AUDIENCE = "https://saml.test.nope/session/sso/saml/spentityid/skv8dv26wh"
OKTAENC_ACS = "https://saml.test.nope/session/sso/saml/acs/skv8dv26wh"
NODE_KEY = "node-saml/testshib_encryption_pvk.pem"
PYSAML2 = dict(key="pysaml2/idp.xml", issuer="urn:mace:example.com:saml:roland:idp", audiences=("urn:mace:example.com:saml:roland:sp",), acs=("https://example.org/acs/post",), policy=LEGACY)
P3 = dict(key="python3-saml/idp_settings1_x509cert.pem", policy=LEGACY)
P3_PITBULK = dict(P3, issuer="https://pitbulk.no-ip.org/simplesaml/saml2/idp/metadata.php", audiences=("https://pitbulk.no-ip.org/newonelogin/demo1/metadata.php",), acs=("https://pitbulk.no-ip.org/newonelogin/demo1/index.php?acs",), now="2014-03-21T13:43:00Z")
NODE = dict(key="node-saml/cert.pem", issuer="https://evil-corp.com", acs=("https://evil-corp.madness.com/sso/callback",), now="2020-09-25T16:59:00Z", max_age=timedelta(hours=1))
NODE_V = "node-saml/signatures/valid/response."
NODE_I = "node-saml/signatures/invalid/response."

CASES = [
    # gosaml2: real IdP responses.
    Case("gosaml2/auth0_response.xml", "gosaml2/auth0_cert.pem", "urn:scaleft-test.auth0.com", "2016-07-25T18:30:00Z", ("urn:scaleft-test.auth0.com",), (GOSAML2_ACS,), LEGACY_RESPONSE_ONLY, expect={"signed": "response"}),
    Case("gosaml2/auth0_response.xml", "gosaml2/auth0_cert.pem", "urn:scaleft-test.auth0.com", "2016-07-25T18:30:00Z", ("urn:scaleft-test.auth0.com",), (GOSAML2_ACS,), LEGACY, "signature.required"),
    Case("gosaml2/okta_response.xml", "gosaml2/okta_cert.pem", "http://www.okta.com/exk659aytfMeNI49v0h7", "2016-07-25T23:21:00Z", ('"123"',), (GOSAML2_ACS,), expect={"signed": "both", "name_id": "russellhaering"}),
    Case("gosaml2/onelogin_response.xml", "gosaml2/onelogin_cert.pem", "https://app.onelogin.com/saml/metadata/634027", "2017-03-08T07:54:00Z", ("{audience}",), ("http://884d40bf.ngrok.io/api/sso/saml2/acs/58af624473d4f375b8e70d81",), LEGACY, expect={"name_id": "arun@launchdarkly.com"}),
    Case("gosaml2/onelogin_response.xml", "gosaml2/onelogin_cert.pem", "https://app.onelogin.com/saml/metadata/634027", "2017-03-08T07:54:00Z", ("{audience}",), ("http://884d40bf.ngrok.io/api/sso/saml2/acs/58af624473d4f375b8e70d81",), verdict="signature.algorithms"),
    Case("gosaml2/oam_response.xml", "gosaml2/oam_cert.pem", "https://deaoam-dev02.jpl.nasa.gov:14101/oam/fed", "2016-12-12T16:55:00Z", ("JSAuth",), ("http://127.0.0.1:5556/callback",), LEGACY, expect={"name_id": "pkieu"}),
    Case("gosaml2/adfs_response.b64", "gosaml2/adfs_idp_signing_cert.pem", ADFS_ISSUER, "2017-09-21T23:28:00Z", (ADFS_AUDIENCE,), (ADFS_ACS,), expect={"name_id": "paul@spstest2.com", "signed": "assertion"}),
    # Encrypted (AES-256-CBC, RSA-OAEP-MGF1P): refused without an uploaded private key, accepted with it.
    Case("gosaml2/adfs_response_enc.b64", "gosaml2/adfs_idp_signing_cert.pem", ADFS_ISSUER, "2017-09-21T23:20:00Z", (ADFS_AUDIENCE,), (ADFS_ACS,), verdict="shape.assertion"),
    Case(
        "gosaml2/adfs_response_enc.b64", "gosaml2/adfs_idp_signing_cert.pem", ADFS_ISSUER, "2017-09-21T23:20:00Z", (ADFS_AUDIENCE,), (ADFS_ACS,),
        decryption_key="gosaml2/adfs_sp_encryption_key.pem", expect={"signed": "assertion", "in_response_to": "_252d0129-1c83-496e-b039-ffc9cee11cca"},
    ),
    Case("gosaml2/oktaenc_response.b64", "gosaml2/oktaenc_idp_signing_cert.pem", OKTAENC_ISSUER, "2017-09-06T22:14:00Z", (OKTAENC_AUDIENCE,), (OKTAENC_ACS,), verdict="shape.assertion"),
    Case(
        "gosaml2/oktaenc_response.b64", "gosaml2/oktaenc_idp_signing_cert.pem", OKTAENC_ISSUER, "2017-09-06T22:14:00Z", (OKTAENC_AUDIENCE,), (OKTAENC_ACS,),
        decryption_key="gosaml2/oktaenc_sp_encryption_key.pem", expect={"signed": "both", "in_response_to": "_5260fc99-9c41-433b-8a31-b7a3e3a4e755"},
    ),
    # crewjam: Google Workspace, Response-signed only; the key comes from the IdP metadata.
    Case("crewjam-saml/TestSPCanHandlePlaintextResponse_response", "crewjam-saml/TestSPCanHandlePlaintextResponse_IDPMetadata", "https://accounts.google.com/o/saml2?idpid=C02dfl1r1", "2016-01-05T16:56:00Z", ("https://29ee6d2e.ngrok.io/saml/metadata",), ("https://29ee6d2e.ngrok.io/saml/acs",), RESPONSE_ONLY, expect={"name_id": "ross@octolabs.io", "signed": "response"}),
    Case("crewjam-saml/TestSPCanHandlePlaintextResponse_response", "crewjam-saml/TestSPCanHandlePlaintextResponse_IDPMetadata", "https://accounts.google.com/o/saml2?idpid=C02dfl1r1", "2016-01-05T16:56:00Z", ("https://29ee6d2e.ngrok.io/saml/metadata",), ("https://29ee6d2e.ngrok.io/saml/acs",), verdict="signature.required"),
    # pysaml2: signature wrapping.
    Case("pysaml2/xsw/signed-xsw-assertion-wrapper.xml", now="2020-12-04T07:50:00Z", verdict="shape.assertion", **PYSAML2),
    Case("pysaml2/xsw/signed-xsw-assertion-extensions.xml", now="2020-12-04T07:50:00Z", verdict="shape.assertion", **PYSAML2),
    Case("pysaml2/xsw/signed-xsw-assertion-assertion.xml", now="2020-12-04T07:50:00Z", verdict="shape.assertion", **PYSAML2),
    Case("pysaml2/xsw/signed-xsw-assertion-in-assertion-first-sig.xml", now="2020-09-14T22:38:00Z", verdict="shape.assertion", **PYSAML2),
    Case("pysaml2/xsw/signed-xsw-response-in-response-first-sig.xml", now="2020-09-14T22:38:00Z", verdict="shape.assertion", **PYSAML2),
    # python3-saml.
    Case("python3-saml/responses/valid_response.xml.base64", issuer="http://idp.example.com/", audiences=("http://stuff.com/endpoints/metadata.php",), acs=("https://pitbulk.no-ip.org/newonelogin/demo1/index.php?acs",), now="2014-02-19T01:38:00Z", expect={"signed": "both"}, **P3),
    Case("python3-saml/responses/wrapped_response_2.xml.base64", issuer="http://idp.example.com/", now="2014-02-19T01:38:00Z", verdict="shape.signatures", **P3),
    Case("python3-saml/responses/response_node_text_attack.xml.base64", issuer="http://idp.example.com/", now="2014-02-19T01:38:00Z", verdict="shape.text", **P3),
    Case("python3-saml/responses/invalids/signature_wrapping_attack.xml.base64", issuer="http://idp.example.com/", now="2014-02-19T01:38:00Z", verdict="shape.assertion", **P3),
    Case("python3-saml/responses/invalids/signature_wrapping_attack2.xml.base64", issuer="urn:mace:example.com:saml:roland:idp", now="2019-12-20T12:16:00Z", verdict="shape.assertion", **P3),
    Case("python3-saml/responses/invalids/duplicated_attributes.xml.base64", verdict="attributes.unique", **P3_PITBULK),
    Case("python3-saml/responses/invalids/no_signature.xml.base64", issuer="https://example.com/simplesaml/saml2/idp/metadata.php", now="2014-02-19T01:38:00Z", verdict="signature.required", **P3),
    # node-saml valid/: every document lacks an Audience, and those with Advice hold a second assertion.
    *[
        Case(NODE_V + name, verdict=verdict, policy=policy, **NODE)
        for name, verdict, policy in [
            ("root-signed.assertion-signed.xml", "audience", LEGACY),
            ("root-signed.assertion-signed.xml", "signature.algorithms", ProviderPolicy()),
            ("root-signed.assertion-unsigned.xml", "audience", LEGACY_RESPONSE_ONLY),
            ("root-signed.assertion-unsigned.xml", "signature.required", LEGACY),
            ("root-unsigned.assertion-signed.xml", "audience", LEGACY),
            ("root-signed.assertion-signed.1advice-signed.xml", "shape.assertion", LEGACY),
            ("root-signed.assertion-signed.1advice-unsigned.xml", "shape.assertion", LEGACY),
            ("root-unsigned.assertion-signed.1advice-signed.xml", "shape.assertion", LEGACY),
            ("root-signed.assertion-unsigned.1advice-unsigned.xml", "shape.assertion", LEGACY_RESPONSE_ONLY),
            ("root-unsigned.assertion-signed.1advice-unsigned.xml", "shape.assertion", LEGACY),
            ("root-signed.assertion-signed.2advice-signed.xml", "shape.assertion", LEGACY),
            ("root-signed.assertion-signed.2advice-unsigned.xml", "shape.assertion", LEGACY),
            ("root-signed.assertion-unsigned.2advice-unsigned.xml", "shape.assertion", LEGACY_RESPONSE_ONLY),
            ("root-signed.assertion-unsigned-13.xml", "audience", LEGACY_RESPONSE_ONLY),
            ("root-signed.assertion-unsigned-xd.xml", "audience", LEGACY_RESPONSE_ONLY),
            ("root-signed.assertion-unsigned-13-signature.xml", "audience", LEGACY_RESPONSE_ONLY),
            ("root-signed.assertion-unsigned-xd-signature.xml", "audience", LEGACY_RESPONSE_ONLY),
            ("root-signed.assertion-unsigned-encrypted.xml", "shape.assertion", LEGACY_RESPONSE_ONLY),
        ]
    ],
    # With the node-saml decryption key: the decrypted Assertion is unsigned, and its SubjectConfirmationData
    # NotOnOrAfter is malformed (the source test expects "Invalid signature from encrypted assertion").
    Case(NODE_V + "root-signed.assertion-unsigned-encrypted.xml", verdict="signature.required", policy=LEGACY, decryption_key=NODE_KEY, **NODE),
    Case(NODE_V + "root-signed.assertion-unsigned-encrypted.xml", verdict="conditions.not_on_or_after", policy=LEGACY_RESPONSE_ONLY, decryption_key=NODE_KEY, **NODE),
    # node-saml invalid/: with the decryption key, the encrypted Assertion's own signature is refused (its
    # SignatureValue starts "INVALID-", which is not base64).
    Case(NODE_I + "root-signed.assertion-invalidly-signed-encrypted.xml", verdict="signature.binding", policy=LEGACY_RESPONSE_ONLY, decryption_key=NODE_KEY, **NODE),
    *[
        Case(NODE_I + name, verdict=verdict, policy=LEGACY_RESPONSE_ONLY, **NODE)
        for name, verdict in [
            ("root-unsigned.assertion-unsigned.xml", "signature.required"),
            ("root-unsigned.assertion-unsigned.1advice-unsigned.xml", "shape.assertion"),
            ("root-unsigned.assertion-unsigned.2advice-unsigned.xml", "shape.assertion"),
            ("root-signed.assertion-signed.xml", "signature.binding"),
            ("root-signed.assertion-unsigned.xml", "signature.binding"),
            ("root-unsigned.assertion-signed.xml", "signature.binding"),
            ("root-signed.assertion-signed.1advice-signed.xml", "shape.assertion"),
            ("root-signed.assertion-signed.1advice-unsigned.xml", "shape.assertion"),
            ("root-signed.assertion-unsigned.1advice-unsigned.xml", "shape.assertion"),
            ("root-unsigned.assertion-signed.1advice-signed.xml", "shape.assertion"),
            ("root-unsigned.assertion-signed.1advice-unsigned.xml", "shape.assertion"),
            ("root-signed.assertion-signed.2advice-signed.xml", "shape.assertion"),
            ("root-signed.assertion-signed.2advice-unsigned.xml", "shape.assertion"),
            ("root-signed.assertion-unsigned.2advice-unsigned.xml", "shape.assertion"),
            ("root-signed.assertion-invalidly-signed.xml", "signature.verify"),
            ("root-signed.assertion-invalidly-signed-encrypted.xml", "shape.assertion"),
            ("root-signed-transforms.assertion-unsigned.xml", "signature.algorithms"),
            ("root-unsigned.assertion-signed-transforms.xml", "signature.algorithms"),
            ("root-resigned-by-attacker-assertion-unsigned-attackers-cert-at-keyinfo.xml", "signature.verify"),
            ("root-signed.multiple-root-elements.xml", "xml.parse"),
        ]
    ],
]


def _b64(path: Path) -> bytes:
    data = path.read_bytes()
    return base64.b64encode(data) if path.suffix == ".xml" else data


def _trust(case: Case) -> ProviderTrust:
    key_path = FIXTURES / case.key
    decryption_keys = ()
    if case.decryption_key is not None:
        decryption_keys = (serialization.load_pem_private_key((FIXTURES / case.decryption_key).read_bytes(), password=None),)
    if key_path.suffix == ".pem":
        return ProviderTrust(case.issuer, (SigningKey.from_pem(key_path.read_bytes()),), policy=case.policy, decryption_keys=decryption_keys)
    trust = parse_metadata(key_path.read_bytes()).trust(policy=case.policy)
    assert trust.entity_id == case.issuer
    return replace(trust, decryption_keys=decryption_keys)


def _run(case: Case, *, now: datetime | None = None, trust: ProviderTrust | None = None):
    settings = ValidationSettings(max_assertion_age=case.max_age).accepting(audiences=case.audiences, acs_urls=case.acs)
    return validate_response(_b64(FIXTURES / case.path), trust or _trust(case), now=now or parse_xs_datetime(case.now), settings=settings)


def _id(case: Case) -> str:
    return f"{case.path.rsplit('/', 1)[-1]}-{case.verdict}" + ("-decrypting" if case.decryption_key else "")


def test_every_response_file_has_a_verdict() -> None:
    names = ("*.xml", "*.b64", "*.base64", "*_response")
    files = {str(p.relative_to(FIXTURES)) for n in names for p in FIXTURES.rglob(n) if "idp.xml" not in p.name}
    assert files == {case.path for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fixture_verdict(case: Case) -> None:
    if case.verdict == "accept":
        verified = _run(case)
        assert verified.issuer == case.issuer
        for name, value in case.expect.items():
            assert getattr(verified, name) == value, name
        return
    with pytest.raises(SamlValidationError) as info:
        _run(case)
    assert info.value.check_id == case.verdict, info.value.message
    assert not info.value.unexpected, info.value.message


OKTA = next(c for c in CASES if c.path == "gosaml2/okta_response.xml")
ADFS = next(c for c in CASES if c.path == "gosaml2/adfs_response.b64" and c.verdict == "accept")


@pytest.mark.parametrize("case", [OKTA, ADFS], ids=["okta", "adfs"])
def test_genuine_responses_expire(case: Case) -> None:
    with pytest.raises(SamlValidationError) as info:
        _run(case, now=parse_xs_datetime(case.now) + timedelta(hours=1))
    assert info.value.check_id == "conditions.not_on_or_after"


@pytest.mark.parametrize("case", [OKTA, ADFS], ids=["okta", "adfs"])
def test_genuine_responses_fail_with_another_idps_key(case: Case) -> None:
    other = SigningKey.from_pem((FIXTURES / "gosaml2/auth0_cert.pem").read_bytes())
    with pytest.raises(SamlValidationError) as info:
        _run(case, trust=ProviderTrust(case.issuer, (other,)))
    assert info.value.check_id == "signature.verify"


def test_comment_injection_text_is_never_truncated() -> None:
    """The node-text attack file: the doctor's view of the document must keep the full text around comments."""
    case = next(c for c in CASES if "node_text_attack" in c.path)
    with pytest.raises(SamlValidationError) as info:
        _run(case)
    assert info.value.document is not None and b"support<!-- attack! -->@onelogin.com" in info.value.document

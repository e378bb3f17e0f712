"""Property tests: whatever the input, the validator answers with a verdict, never with a crash.

Deterministic for CI (derandomize) and bounded in examples. Latency bounds live in bench/fuzz_latency.py,
not here: timing assertions do not belong in unit tests on a noisy machine.
"""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from saml_factory import NOW, response_b64, trust

from samlfed.saml import CHECK_ORDER, SamlValidationError, validate

AWS_CODES = {"InvalidIdentityToken", "ExpiredTokenException", "IDPRejectedClaim", "AccessDenied"}
GENUINE_B64 = response_b64(sign="both")
GENUINE_XML = base64.b64decode(GENUINE_B64)
GENUINE = validate(GENUINE_B64, trust(), now=NOW)
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    b"<samlp:Response", b' xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"', b' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"',
    b' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"', b' ID="_a"', b' Version="2.0"', b">", b"</samlp:Response>",
    b"<saml:Assertion", b"</saml:Assertion>", b"<ds:Signature>", b"</ds:Signature>", b"<ds:SignedInfo/>",
    b"<saml:Issuer>x</saml:Issuer>", b"<!--c-->", b"<?pi?>", b"<![CDATA[x]]>", b"&amp;", b"&x;", b'<!DOCTYPE r [<!ENTITY x "y">]>',
    b"<saml:NameID>", b"</saml:NameID>", b"\x00", b"\xff", b'<?xml version="1.0" encoding="UTF-16"?>', b"<a>" * 10,
]


def verdict(data: str | bytes) -> object:
    """Validate; return the result, or the error after checking it is well formed."""
    try:
        return validate(data, trust(), now=NOW)
    except SamlValidationError as error:
        assert error.check_id in CHECK_ORDER
        assert error.aws.code in AWS_CODES
        assert [r.id for r in error.checks] == list(CHECK_ORDER)
        return error


@FUZZ
@given(st.text(max_size=3000))
def test_arbitrary_text(text: str) -> None:
    assert isinstance(verdict(text), SamlValidationError)


@FUZZ
@given(st.binary(max_size=3000))
def test_base64_of_arbitrary_bytes(data: bytes) -> None:
    assert isinstance(verdict(base64.b64encode(data)), SamlValidationError)


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_base64_of_xml_soup(parts: list[bytes]) -> None:
    assert isinstance(verdict(base64.b64encode(b"".join(parts))), SamlValidationError)


@FUZZ
@given(st.integers(0, len(GENUINE_B64) - 1), st.sampled_from("AZaz09+/=\n !"), st.booleans())
def test_mutated_base64(position: int, char: str, insert: bool) -> None:
    mutated = GENUINE_B64[:position] + char + GENUINE_B64[position + (0 if insert else 1):]
    result = verdict(mutated)
    if not isinstance(result, SamlValidationError):
        assert result.response.name_id == GENUINE.response.name_id and result.claims.roles == GENUINE.claims.roles


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GENUINE_XML) - 1), st.integers(0, 255), st.sampled_from(["flip", "insert", "delete"])), min_size=1, max_size=4))
def test_mutated_xml_is_accepted_only_if_the_signed_content_is_unchanged(edits: list[tuple[int, int, str]]) -> None:
    xml = bytearray(GENUINE_XML)
    for position, value, kind in edits:
        position %= len(xml)
        if kind == "flip":
            xml[position] = value
        elif kind == "insert":
            xml.insert(position, value)
        else:
            del xml[position]
    result = verdict(base64.b64encode(bytes(xml)))
    if not isinstance(result, SamlValidationError):
        # Only edits outside the signed content (e.g. inside a SignatureValue's whitespace) can pass.
        assert result.response.name_id == GENUINE.response.name_id
        assert result.claims.roles == GENUINE.claims.roles
        assert result.claims.principal_tags == GENUINE.claims.principal_tags

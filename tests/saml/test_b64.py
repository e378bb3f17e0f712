"""samlfed.saml.b64 decodes as binascii's strict mode does, and refuses at least everything that refuses."""

from __future__ import annotations

import binascii
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samlfed.saml.b64 import strict_b64decode

_ALPHABET = string.ascii_letters + string.digits + "+/="


def _reference(data: bytes) -> bytes | None:
    try:
        return binascii.a2b_base64(data.translate(None, b" \t\r\n"), strict_mode=True)
    except binascii.Error:
        return None


def _ours(data: bytes) -> bytes | None:
    try:
        return strict_b64decode(data)
    except binascii.Error:
        return None


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_ALPHABET + " \n-_.\x00é", max_size=40))
def test_agrees_with_binascii_strict_mode_on_any_text(text: str) -> None:
    data = text.encode("utf-8")
    ours, reference = _ours(data), _reference(data)
    if ours is not None:
        assert ours == reference
    elif reference is not None:
        # The one difference: binascii lets '=' follow a complete final quad ("QUJD="); pybase64 refuses it.
        compact = data.translate(None, b" \t\r\n")
        assert compact.endswith(b"=") and len(compact.rstrip(b"=")) % 4 == 0, data


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=76))
def test_round_trips_valid_base64_with_line_breaks(payload: bytes, width: int) -> None:
    encoded = binascii.b2a_base64(payload, newline=False)
    if width:
        encoded = b"\r\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
    assert strict_b64decode(encoded) == payload


@pytest.mark.parametrize(
    "bad",
    [b"QQ==QQ==", b"QQ=", b"Q===", b"=QUJ", b"QU=J", b"QUJ\x00", b"QUJD-", b"QUJD_", b"QUJDR", b"QUJD\xc3\xa9"],
)
def test_refuses_what_strict_mode_refuses(bad: bytes) -> None:
    assert _reference(bad) is None
    with pytest.raises(binascii.Error):
        strict_b64decode(bad)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=_ALPHABET + " \n\r\t-_.é\x00", max_size=40))
def test_text_decodes_as_its_bytes_do(text: str) -> None:
    try:
        from_text: bytes | None = strict_b64decode(text)
    except binascii.Error:
        from_text = None
    if not text.isascii():
        assert from_text is None
    else:
        assert from_text == _ours(text.encode("ascii"))

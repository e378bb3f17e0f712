"""Numbers of any length from the wire: a Content-Length, an X-Amz-Expires or a list member's index of thousands of
digits is refused or read like any other, never a 500. int() raises ValueError on over 4,300 digits, and each of
these answered 500 with a traceback in the log before they went through `decimal_at_most`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from servers import SAMLFED, free_port, raw_exchange, wait_until_up

from samlfed.decimal_text import decimal_at_most, signed_decimal_within

LONG_ZEROS = "0" * 5000


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("0", 10, 0), ("10", 10, 10), ("11", 10, None), ("0010", 10, 10), (LONG_ZEROS + "5", 10, 5), ("9" * 5000, 10, None),
        ("", 10, None), (None, 10, None), ("1_0", 10, None), (" 7", 10, None), ("+7", 10, None), ("-1", 10, None),
        ("\u00b2", 10, None), ("\u0663", 10, None),  # "²" and Arabic-Indic three pass isdigit(); neither is ASCII
    ],
)
def test_decimal_at_most(text: str | None, limit: int, expected: int | None) -> None:
    assert decimal_at_most(text, limit) == expected


@given(st.text(alphabet=st.sampled_from("0123456789 _+-x\u00b2\u0663"), max_size=6000), st.integers(min_value=0, max_value=10**12))
def test_decimal_at_most_never_raises_and_agrees_with_int(text: str, limit: int) -> None:
    value = decimal_at_most(text, limit)
    plain = text.isascii() and text.isdigit()
    if value is not None:
        assert plain and 0 <= value <= limit and str(value) == (text.lstrip("0") or "0")
    elif plain and len(text.lstrip("0")) <= 13:
        assert int(text) > limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0), ("-0", 0), ("+7", 7), ("-2147483648", -(2**31)), ("2147483647", 2**31 - 1), ("2147483648", None),
        ("-2147483649", None), (LONG_ZEROS + "5", 5), ("-" + LONG_ZEROS + "5", -5), ("9" * 5000, None), ("", None), ("+", None),
        ("-", None), ("+-1", None), ("1_0", None), (" 7", None), ("7 ", None), ("\u0663", None), ("NaN", None),
    ],
)
def test_signed_decimal_within_32_bits(text: str, expected: int | None) -> None:
    assert signed_decimal_within(text, -(2**31), 2**31 - 1) == expected


@given(st.text(alphabet=st.sampled_from("0123456789 _+-x\u00b2\u0663"), max_size=6000))
def test_signed_decimal_within_never_raises_and_agrees_with_int(text: str) -> None:
    low, high = -(2**63), 2**63 - 1
    value = signed_decimal_within(text, low, high)
    body = text[1:] if text[:1] in ("+", "-") else text
    plain = body.isascii() and body.isdigit()
    if value is not None:
        assert plain and low <= value <= high and value == int(text[: len(text) - len(body)] + (body.lstrip("0") or "0"))
    elif plain and len(body.lstrip("0")) <= 25:
        assert not low <= int(text) <= high


def _status_line(url: str, path: str) -> bytes:
    """POST `path` a 5-byte form whose Content-Length is 5,000 zeros and a 5."""
    answer = raw_exchange(url, (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {LONG_ZEROS}5\r\nConnection: close\r\n\r\nA=bcd"
    ).encode())
    return answer.split(b"\r\n", 1)[0]


def test_long_numbers_on_the_wire_get_answers_not_500s(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--with-idp"], stdout=sink, stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            assert wait_until_up(f"{url}/healthz", seconds=30, gave_up=lambda: process.poll() is not None), log.read_text()
            # Every route that reads a form: the query API and the pages. Each reads the 5 bytes its Content-Length
            # is worth and answers as to any such form (a refusal, or the signed-out page).
            for path in ("/", "/saml", "/federation", "/idp/login", "/idp/ecp", "/console/signout", "/console/switch"):
                status = _status_line(url, path)
                assert status[:10] in (b"HTTP/1.1 2", b"HTTP/1.1 3", b"HTTP/1.1 4"), (path, status)
            sign_in = {
                "Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::111111111111:role/R",
                "PrincipalArn": "arn:aws:iam::111111111111:saml-provider/P", "SAMLAssertion": "AAAA",
            }
            member = httpx.post(url, data={**sign_in, "PolicyArns.member." + "9" * 5000 + ".arn": "arn:aws:iam::aws:policy/P"}, timeout=30)
            assert member.status_code == 400 and "<Code>" in member.text, member.text[:300]
            presigned = httpx.get(url, timeout=30, params={
                "Action": "ListRoles", "Version": "2010-05-08", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": "AKIAAAAAAAAAAAAAAAAA/20260101/us-east-1/iam/aws4_request", "X-Amz-SignedHeaders": "host",
                "X-Amz-Signature": "00", "X-Amz-Date": "20260101T000000Z", "X-Amz-Expires": "9" * 5000,
            })
            assert presigned.status_code == 400 and "X-Amz-Expires must be a number of seconds from 1 to 604800." in presigned.text
        finally:
            process.terminate()
            process.wait(timeout=15)
    assert "Traceback" not in log.read_text()

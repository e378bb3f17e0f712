"""The faster AssumeRoleWithSAML paths give what the general ones they replaced gave."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samlfed.api import app, xml
from samlfed.api.protocol import _SHORT_VALUE, form_pairs
from samlfed.api.xml import Verbatim, _timestamp
from samlfed.errors import ServiceError
from samlfed.sts.credentials import _encoded
from samlfed.sts.trust_context import _time_texts
from samlfed.timestamps import aws_timestamp

_PIECES = ["%3A", "%2F", "%3a", "%2f", "%2B", "%25", "%", "%3", "%%3A", "3A", "2F", "a", "é", "+", "/", ":", "=", "&"]


def _parse_qsl_strict(source: str) -> list[tuple[str, str]]:
    return parse_qsl(source, keep_blank_values=True, errors="strict")


def _decoded(decode: Callable[[str], list[tuple[str, str]]], source: str) -> object:
    try:
        return decode(source)
    except UnicodeDecodeError:  # escapes of bytes that are not UTF-8: both refuse them
        return UnicodeDecodeError


@given(st.lists(st.sampled_from(_PIECES), max_size=60))
def test_escaped_arns_decode_as_parse_qsl_does(pieces: list[str]) -> None:
    source = "".join(pieces)
    assert _decoded(form_pairs, source) == _decoded(_parse_qsl_strict, source)


@pytest.mark.parametrize("length", [_SHORT_VALUE - 1, _SHORT_VALUE, _SHORT_VALUE + 1])
def test_values_either_side_of_the_short_value_length_decode_alike(length: int) -> None:
    value = ("arn%3Aaws%2F" * length)[:length]
    source = f"RoleArn={value}&SAMLAssertion={value}%2B%3D"
    assert form_pairs(source) == _parse_qsl_strict(source)


def test_request_ids_are_the_uuid4_of_the_same_random_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2000):
        random = os.urandom(16)
        monkeypatch.setattr(app.os, "urandom", lambda n, random=random: random[:n])
        assert app._request_id() == str(uuid.UUID(bytes=random, version=4))


_INSTANTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))]))


@given(_INSTANTS)
def test_time_texts_kept_per_second_read_as_formatted_ones(now: datetime) -> None:
    assert _time_texts(now) == (aws_timestamp(now), str(int(now.timestamp())))
    assert _timestamp(now) == aws_timestamp(now)


@given(st.binary(max_size=700))
def test_session_tokens_encode_as_urlsafe_base64_without_padding(token: bytes) -> None:
    assert _encoded(token) == base64.urlsafe_b64encode(token).decode().rstrip("=")


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
_VALUES = st.recursive(
    st.none() | _TEXT | _TEXT.map(Verbatim) | st.booleans() | st.integers() | _INSTANTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["A", "B", "Member"]), inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["Credentials", "Arn", "PackedPolicySize", "Subject", "Tags"]), _VALUES, max_size=5), st.sampled_from(["sts", "iam"]))
def test_results_render_as_the_generic_renderer_writes_them(result: dict, service: str) -> None:
    action, request_id = "AssumeRoleWithSAML", str(uuid.uuid4())
    try:
        generic: object = xml._document(service, f"{action}Response", {f"{action}Result": result, "ResponseMetadata": {"RequestId": request_id}})
    except ServiceError as error:  # text XML cannot carry: both refuse it alike
        generic = error.message
    try:
        fast: object = xml.render_result(service, action, result, request_id)
    except ServiceError as error:
        fast = error.message
    assert fast == generic

"""The faster AssumeRoleWithSAML paths give what the general ones they replaced gave."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samlfed.api import app
from samlfed.api.protocol import _SHORT_VALUE, form_pairs

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

"""The faster paths of the query edge give what the general ones gave: Verbatim credentials, Expiration kept per
second, and a one-message request body taken as it is."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samlfed.api import app
from samlfed.api.xml import Verbatim, _timestamp, render_result
from samlfed.errors import ServiceError
from samlfed.pages import FormRefused, capped_body
from samlfed.timestamps import aws_timestamp

_OWN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"


@given(st.text(alphabet=_OWN_ALPHABET, max_size=1200))
def test_verbatim_text_renders_as_escaped_text_does(text: str) -> None:
    as_text = render_result("sts", "AssumeRoleWithSAML", {"Credentials": {"SessionToken": text}}, "req")
    assert render_result("sts", "AssumeRoleWithSAML", {"Credentials": {"SessionToken": Verbatim(text)}}, "req") == as_text


def test_real_credentials_are_text_verbatim_may_carry() -> None:
    from samlfed.sts.credentials import KeyRing, SessionClaims, issue

    ring = KeyRing.generate()
    for _ in range(200):
        issued = issue(ring, SessionClaims("111111111111", "arn:aws:iam::111111111111:role/R", "AROAEXAMPLE", "s<&>", 1, 2))
        for value in (issued.access_key_id, issued.secret_access_key, issued.session_token):
            assert set(value) <= set(_OWN_ALPHABET)
    assert set(base64.b64encode(os.urandom(300)).decode()) <= set(_OWN_ALPHABET)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_utc_instants_kept_per_second_read_as_aws_timestamp(moment: datetime) -> None:
    assert _timestamp(moment) == aws_timestamp(moment)


def test_timestamps_at_the_edges_of_a_second_and_of_the_epoch() -> None:
    edges = [
        datetime(1970, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 12, 1, 17, 6, 40, 999_999, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ]
    for moment in edges:
        assert _timestamp(moment) == aws_timestamp(moment)
    tokyo = datetime(2026, 12, 2, 1, 30, tzinfo=timezone(timedelta(hours=9)))
    assert _timestamp(tokyo) == aws_timestamp(tokyo) == "2026-12-01T16:30:00Z"


def _receiver(messages: list[MutableMapping[str, Any]]) -> app.Receive:
    pending = iter(messages)

    async def receive() -> MutableMapping[str, Any]:
        return next(pending)

    return receive


async def _general_body(length: str | None, messages: list[MutableMapping[str, Any]]) -> bytes:
    """The body as _body read it before: every message through capped_body."""
    try:
        return await capped_body(app._chunks(_receiver(messages)), length, app.MAX_BODY_BYTES)
    except FormRefused:
        raise ServiceError("ValidationError", "Request body is too large", 413) from None


def _outcome(read: Any) -> object:
    try:
        return asyncio.run(read)
    except app.ClientGone:
        return "gone"
    except ServiceError as error:
        return (error.code, error.status)


def _request(body: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


_BIG = b"x" * (app.MAX_BODY_BYTES + 1)
_CASES: list[tuple[str | None, list[dict[str, Any]]]] = [
    ("5", [_request(b"hello")]),
    (None, [_request(b"hello")]),
    ("0", [_request(b"")]),
    ("5", [_request(b"he", more=True), _request(b"llo")]),
    ("5", [_request(b"he", more=True), {"type": "http.disconnect"}]),
    ("5", [{"type": "http.disconnect"}]),
    ("1", [_request(_BIG)]),  # a body longer than its Content-Length said, over the cap
    ("1", [_request(b"x" * 1000, more=True), _request(_BIG)]),
    (str(app.MAX_BODY_BYTES + 1), [_request(b"x")]),
    ("five", [_request(b"hello")]),
    ("", [_request(b"hello")]),
    ("٥", [_request(b"hello")]),
    ("5", [{"type": "http.request"}]),
]


@pytest.mark.parametrize(("length", "messages"), _CASES)
def test_request_bodies_read_as_before(length: str | None, messages: list[dict[str, Any]]) -> None:
    headers = {} if length is None else {"content-length": length}
    fast = _outcome(app._body(headers, _receiver([dict(m) for m in messages])))
    assert fast == _outcome(_general_body(length, [dict(m) for m in messages]))
    if isinstance(fast, bytes):
        assert fast.__class__ is bytes


def test_a_body_larger_than_the_cap_is_refused_and_a_whole_one_is_returned_as_sent() -> None:
    assert _outcome(app._body({"content-length": "1"}, _receiver([_request(_BIG)]))) == ("ValidationError", 413)
    body = os.urandom(5000)
    assert _outcome(app._body({"content-length": str(len(body))}, _receiver([_request(body)]))) == body

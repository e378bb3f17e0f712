"""JSON from requests fails only with ValueError, so every caller's `except ValueError` turns it into a 4xx."""

from __future__ import annotations

import pytest

from samlfed.authz.decide import BadAuthzRequest, parse_body
from samlfed.jsoninput import parse_json
from samlfed.policy import MalformedPolicy, parse_policy

UNREADABLE = ["[" * 3000, '{"a":' * 1500, "1" * 5000, '{"request": {}, "n": -' + "7" * 4400 + "}", "{", b"\xff"]


@pytest.mark.parametrize("text", UNREADABLE, ids=["deep-array", "deep-object", "long-integer", "long-negative", "truncated", "not-utf8"])
def test_what_json_cannot_read_is_a_value_error(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        parse_json(text)


def test_what_json_reads_is_returned() -> None:
    assert parse_json('{"a": [1, "b", null, 2.5]}') == {"a": [1, "b", None, 2.5]}
    assert parse_json(b"[" * 100 + b"]" * 100) is not None


@pytest.mark.parametrize("text", UNREADABLE[:4])
def test_an_authorization_body_json_cannot_read_is_a_bad_request(text: str) -> None:
    with pytest.raises(BadAuthzRequest):
        parse_body(text.encode())


@pytest.mark.parametrize("text", ['"\\ud800"', '{"a": ["\\udfff"]}', '{"\\ud800": 1}', '"\\ude00\\ud83d"', b'"\xed\xa0\x80"', '"\ud800"'],
                         ids=["escaped", "nested", "key", "reversed-pair", "utf8-bytes", "raw"])
def test_a_lone_surrogate_is_a_value_error(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        parse_json(text)


def test_a_surrogate_pair_is_one_character() -> None:
    assert parse_json('["\\ud83d\\ude00"]') == ["\U0001f600"]
    assert parse_json("[" * 900 + '"x"' + "]" * 900) is not None  # the check loops: no RecursionError of its own


@pytest.mark.parametrize(
    "text",
    ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1e999}', '[-1e400]',
     '{"Effect": "Deny", "Effect": "Allow"}', '{"a": {"b": 1, "b": 2}}'],
    ids=["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "repeated Effect", "repeated nested key"],
)
def test_what_python_takes_but_json_is_not_is_refused(text: str) -> None:
    """Found by probing: NaN and 1e999 were stored in policies, and a repeated "Effect" evaluated as its last value."""
    with pytest.raises(ValueError):
        parse_json(text)


def test_a_policy_repeating_a_key_is_malformed() -> None:
    with pytest.raises(MalformedPolicy):
        parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}]}', principal_required=False)
    assert parse_json('{"a": 1.5, "b": [1e300, -0.0], "c": {"a": 1}}') == {"a": 1.5, "b": [1e300, -0.0], "c": {"a": 1}}

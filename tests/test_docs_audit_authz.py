"""docs/authorization-api.md's stated limits and statuses, over HTTP against a real server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import app_in_thread

from samlfed.authz.keys import create_authz_key
from samlfed.config import Settings
from samlfed.server import build_context, build_server_app

DOC = (Path(__file__).resolve().parents[1] / "docs" / "authorization-api.md").read_text()
UNSIGNED = {"request": {"method": "GET", "path": "/bucket/key", "headers": {"host": "s3.example.com"}}, "action": "s3:GetObject",
            "resource": "arn:aws:s3:::bucket/key"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    ctx = build_context(settings)
    with app_in_thread(build_server_app(settings, ctx)) as url:
        yield f"{url}/authz/v1/authorize", create_authz_key(ctx, "docs").key


def body_of(size: int) -> bytes:
    """The unsigned request as JSON, padded with spaces (insignificant in JSON) to exactly `size` bytes."""
    text = json.dumps(UNSIGNED).encode()
    return text + b" " * (size - len(text))


def test_a_missing_or_unknown_key_is_401(served: tuple[str, str]) -> None:
    url, _ = served
    for headers in ({}, {"Authorization": "Bearer sfk_0000000000000000_unknown"}):
        answer = httpx.post(url, content=json.dumps(UNSIGNED), headers={"Content-Type": "application/json", **headers})
        assert (answer.status_code, answer.headers["www-authenticate"]) == (401, "Bearer")


def test_the_body_limit_is_the_documented_one(served: tuple[str, str]) -> None:
    assert "at most 64,000 bytes" in DOC
    url, key = served
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    largest = httpx.post(url, content=body_of(64_000), headers=headers)
    assert largest.status_code == 200 and largest.json()["decision"] == "unauthenticated"
    assert largest.json()["error"]["code"] == "MissingAuthenticationToken" and largest.json()["error"]["status"] == 403
    too_large = httpx.post(url, content=body_of(64_001), headers=headers)
    assert too_large.status_code == 400 and too_large.json()["error"]["code"] == "BadRequest"


@pytest.mark.parametrize("malformed", [
    {"context": {"s3:prefix": 5}}, {"context": {"s3:prefix": ["a", 5]}}, {"context": "s3:prefix"},
    {"resource_policy": 5}, {"resource_policy": '{"Statement": "not a list"}'},
])
def test_a_malformed_body_is_400_whether_or_not_the_request_is_signed(served: tuple[str, str], malformed: dict[str, object]) -> None:
    """Found by a docs probe: "400 a malformed body ... a field of the wrong type is refused". `context` and
    `resource_policy` were checked only after the signature, so an unsigned request with a malformed one got 200
    `unauthenticated` (and the service learned of its mistake only once real clients signed)."""
    url, key = served
    answer = httpx.post(url, json={**UNSIGNED, **malformed}, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "BadRequest"

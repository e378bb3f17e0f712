"""The IdP's login throttle against real servers: concurrent guesses, ECP, and several worker processes."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import httpx
from demo_stack import forms, login
from servers import samlfed_process
from test_web_flows import _authn_request, _ecp_envelope

from samlfed.idp.directory import hash_password, write_yaml

GUESSES = 24
"""Concurrent wrong guesses: several times the per-user limit of 5, under the per-address limit of 20 for two tests."""


async def _concurrent_web_guesses(url: str, username: str, passwords: list[str]) -> list[int]:
    async with httpx.AsyncClient(timeout=60) as client:
        page = await client.get(f"{url}/idp/login")
        csrf = forms(page)[0]["fields"]["csrf"]

        async def guess(password: str) -> int:
            answer = await client.post(f"{url}/idp/login", data={"csrf": csrf, "username": username, "password": password, "otp": ""})
            return answer.status_code

        return list(await asyncio.gather(*(guess(password) for password in passwords)))


def test_an_ecp_request_without_credentials_is_challenged_and_not_counted(demo: dict) -> None:
    """Clients that send credentials only when challenged first post without them: that is no guess. Counted,
    such posts locked every challenge-first client out (all of them share the empty user name) and spent the
    address's failures."""
    envelope = _ecp_envelope(_authn_request("urn:amazon:webservices", "https://signin.aws.amazon.com/saml", "_ecp-ask", "urn:oasis:names:tc:SAML:2.0:bindings:PAOS"))
    for _ in range(25):  # past the per-user limit (5) and the per-address limit (20)
        challenge = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, headers={"Content-Type": "text/xml"})
        assert challenge.status_code == 401 and challenge.headers["www-authenticate"] == 'Basic realm="samlfed"', challenge.status_code
    right = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("alice", demo["passwords"]["alice"]), headers={"Content-Type": "text/xml"})
    assert right.status_code == 200


def test_concurrent_guesses_past_the_limit_are_refused_unchecked(demo: dict) -> None:
    statuses = asyncio.run(_concurrent_web_guesses(demo["url"], "bob", [f"wrong-{n}" for n in range(GUESSES)]))
    # Each attempt is counted before its password is checked: exactly the limit's worth got a check (401).
    assert Counter(statuses) == {401: 5, 429: GUESSES - 5}, statuses
    with httpx.Client() as browser:
        assert login(demo, browser, "bob").status_code == 429  # the right password too, while throttled


def test_concurrent_ecp_guesses_past_the_limit_are_refused_unchecked(demo: dict) -> None:
    envelope = _ecp_envelope(_authn_request("urn:amazon:webservices", "https://signin.aws.amazon.com/saml", "_ecp-race", "urn:oasis:names:tc:SAML:2.0:bindings:PAOS"))

    async def guesses() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            async def guess(n: int) -> int:
                answer = await client.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("alice", f"wrong-{n}"), headers={"Content-Type": "text/xml"})
                return answer.status_code

            return list(await asyncio.gather(*(guess(n) for n in range(GUESSES))))

    statuses = asyncio.run(guesses())
    assert Counter(statuses) == {401: 5, 429: GUESSES - 5}, statuses
    right = httpx.post(f"{demo['url']}/idp/ecp", content=envelope, auth=("alice", demo["passwords"]["alice"]), headers={"Content-Type": "text/xml"})
    assert right.status_code == 429


def test_every_worker_counts_the_same_failures(tmp_path: Path) -> None:
    """With several workers the limit stays 5 per user name: the counts live in the IdP's state file, not in each
    worker's memory. Each guess uses a new connection, so the kernel hands them to different workers."""
    data_dir = tmp_path / "data"
    (data_dir / "idp").mkdir(parents=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    write_yaml(data_dir / "idp" / "idp.yaml", {"idp": {}, "service_providers": {}, "users": {"carol": {"password_hash": hash_password("carol's password")}}})
    with samlfed_process(["serve"], "--data-dir", str(data_dir), "--with-idp", "--workers", "3", probe="/idp/metadata") as url:
        statuses = []
        for n in range(GUESSES):
            with httpx.Client(timeout=30) as browser:
                form = forms(browser.get(f"{url}/idp/login"))[0]
                answer = browser.post(f"{url}/idp/login", data={**form["fields"], "username": "carol", "password": f"guess-{n}", "otp": ""})
                statuses.append(answer.status_code)
        assert statuses == [401] * 5 + [429] * (GUESSES - 5), statuses
        with httpx.Client(timeout=30) as browser:
            form = forms(browser.get(f"{url}/idp/login"))[0]
            answer = browser.post(f"{url}/idp/login", data={**form["fields"], "username": "carol", "password": "carol's password", "otp": ""})
            assert answer.status_code == 429

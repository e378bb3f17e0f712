"""`samlfed credential-process` as AWS tools run it: concurrently, within botocore's refresh window, and with a cache
file that may be damaged."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from login_setup import samlfed, user_env, write_profile
from servers import SAMLFED, app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from samlfed.iam.arns import role_arn
from samlfed.login import cache
from samlfed.login.credentials_file import AwsCredentials

DEV = "111111111111"
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers
KEY = "samlfed\x00demo:alice"


def _cache_file(home: Path) -> Path:
    return home / ".cache" / "samlfed" / "credentials" / "demo.json"


def _cached(home: Path, monkeypatch: pytest.MonkeyPatch, minutes_left: float, key: str = "ASIACACHED", lasting: timedelta = timedelta(hours=1)) -> None:
    """Credentials for role Developer with `minutes_left`, issued `lasting` before they expire."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    expiration = (datetime.now(UTC) + timedelta(minutes=minutes_left)).replace(microsecond=0)
    cache.store("demo", role_arn(DEV, "Developer"), AwsCredentials(key, "secret", "token", expiration), issued=expiration - lasting)


def _keep(home: Path, password: str) -> None:
    (home / "keyring.json").write_text(json.dumps({KEY: password}))


def _profile_keeping(home: Path, idp_url: str, password: str) -> None:
    """Profile demo signing in at `idp_url`'s ECP endpoint as alice, whose password the keyring keeps."""
    write_profile(home, NOWHERE, ecp_url=f"{idp_url}/ecp", username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    _keep(home, password)


def _kept(home: Path) -> dict:
    return json.loads((home / "keyring.json").read_text())


# Concurrent calls: one refresh per profile at a time

@pytest.fixture
def refusing_idp() -> Iterator[tuple[str, list[str]]]:
    """An ECP endpoint that refuses every password (as after a password change), and the sign-ins it saw."""
    seen: list[str] = []

    async def ecp(request: Request) -> Response:
        seen.append((await request.body()).decode())
        return PlainTextResponse("wrong password", status_code=401)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    with app_in_thread(Starlette(routes=[Route("/healthz", healthz), Route("/ecp", ecp, methods=["POST"])])) as url:
        yield url, seen


def _start_waiting(home: Path, count: int) -> list[subprocess.Popen[str]]:
    """`count` credential-process calls, started while the test holds the profile's refresh lock; returned once all of
    them wait for it (the kernel lists each waiter in /proc/locks)."""
    processes = [subprocess.Popen([SAMLFED, "credential-process", "--profile", "demo"], env=user_env(home), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(count)]
    pids = {str(process.pid) for process in processes}
    for _ in range(3000):  # bounded: a call that never waits for the lock fails the test below
        waiting = {line.split()[5] for line in Path("/proc/locks").read_text().splitlines() if " -> FLOCK " in line}
        if pids <= waiting or any(process.poll() is not None for process in processes):
            break
        time.sleep(0.02)
    assert all(process.poll() is None for process in processes), "a call did not wait for the refresh lock"
    return processes


def test_concurrent_calls_try_a_stale_kept_password_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          refusing_idp: tuple[str, list[str]]) -> None:
    url, seen = refusing_idp
    _profile_keeping(tmp_path, url, "the password before the change")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    with cache.refreshing("demo"):
        processes = _start_waiting(tmp_path, 4)
    results = [process.communicate(timeout=120) for process in processes]
    assert len(seen) == 1  # the other three found no kept password once the first had removed it
    assert all(process.returncode == 1 for process in processes)
    assert sum("removed from the keyring" in errors for _, errors in results) == 1
    assert _kept(tmp_path) == {}
    lock = _cache_file(tmp_path).with_suffix(".lock")
    assert lock.stat().st_mode & 0o777 == 0o600 and lock.parent.stat().st_mode & 0o777 == 0o700


def test_calls_that_waited_use_the_credentials_the_first_one_got(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 refusing_idp: tuple[str, list[str]]) -> None:
    url, seen = refusing_idp
    _profile_keeping(tmp_path, url, "any")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    with cache.refreshing("demo"):
        processes = _start_waiting(tmp_path, 3)
        _cached(tmp_path, monkeypatch, 60, key="ASIAFROMTHEFIRST")  # what the holder of the lock got
    for process in processes:
        out, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
        assert json.loads(out)["AccessKeyId"] == "ASIAFROMTHEFIRST"
    assert seen == []


# botocore's refresh window

def test_credentials_that_cannot_be_refreshed_are_served_while_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile(tmp_path, NOWHERE, ecp_url=f"{NOWHERE}/ecp", username="alice", role=role_arn(DEV, "Developer"))
    _cached(tmp_path, monkeypatch, 4)  # within botocore's window, but no password is kept to refresh with
    served = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout)["AccessKeyId"] == "ASIACACHED"
    _cached(tmp_path, monkeypatch, 0.5)  # about to expire: it would fail the call it was asked for
    refused = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert refused.returncode == 1 and "run: samlfed login --profile demo" in refused.stderr


def test_a_failed_refresh_still_serves_valid_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         refusing_idp: tuple[str, list[str]]) -> None:
    url, seen = refusing_idp
    _profile_keeping(tmp_path, url, "the password before the change")
    _cached(tmp_path, monkeypatch, 12)
    served = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert served.returncode == 0 and json.loads(served.stdout)["AccessKeyId"] == "ASIACACHED"
    assert len(seen) == 1 and "removed from the keyring" in served.stderr


def test_unreadable_idp_metadata_still_serves_valid_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ECP endpoint comes from the IdP's metadata, which cannot be read: the refresh fails, the cache is served."""
    write_profile(tmp_path, NOWHERE, username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    _keep(tmp_path, "any")
    _cached(tmp_path, monkeypatch, 12)
    served = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout)["AccessKeyId"] == "ASIACACHED"
    assert f"could not refresh the credentials without you: cannot read the IdP metadata at {NOWHERE}/idp/metadata" in served.stderr


def test_profile_names_do_not_share_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    expiration = datetime.now(UTC) + timedelta(hours=1)
    role = role_arn(DEV, "Developer")
    for name in ("acme:dev", "acme dev", "acme/dev", "acme_dev", "acme%3Adev"):
        cache.store(name, role, AwsCredentials(f"ASIA{name}", "secret", "token", expiration))
    for name in ("acme:dev", "acme dev", "acme/dev", "acme_dev", "acme%3Adev"):
        found = cache.valid(name, role)
        assert found is not None and found.credentials.access_key_id == f"ASIA{name}"
    assert (tmp_path / ".cache" / "samlfed" / "credentials" / "acme_dev.json").is_file()  # plain names keep their file


def test_credentials_within_botocores_window_are_refreshed_when_they_can_be(demo: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile(tmp_path, demo["url"], username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    _keep(tmp_path, demo["passwords"]["alice"])
    _cached(tmp_path, monkeypatch, 20)
    assert json.loads(samlfed(tmp_path, "credential-process", "--profile", "demo").stdout)["AccessKeyId"] == "ASIACACHED"
    _cached(tmp_path, monkeypatch, 14)  # botocore would ask again at once, and insist from 10 minutes
    refreshed = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert refreshed.returncode == 0, refreshed.stderr
    document = json.loads(refreshed.stdout)
    assert document["AccessKeyId"] not in ("ASIACACHED", "") and document["AccessKeyId"].startswith("ASIA")
    assert datetime.fromisoformat(document["Expiration"].replace("Z", "+00:00")) - datetime.now(UTC) > cache.REFRESH_WITHIN


def test_short_credentials_are_refreshed_once_half_their_life_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     refusing_idp: tuple[str, list[str]]) -> None:
    """900-second credentials are inside botocore's window from the start, and botocore asks on every call: a sign-in
    each time would load the IdP (and count towards its lockout). Refreshed once half their life is gone instead."""
    url, seen = refusing_idp
    _profile_keeping(tmp_path, url, "the password before the change")
    _cached(tmp_path, monkeypatch, 14, lasting=timedelta(minutes=15))  # one minute old
    served = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert served.returncode == 0 and json.loads(served.stdout)["AccessKeyId"] == "ASIACACHED"
    assert seen == [] and served.stderr == ""
    _cached(tmp_path, monkeypatch, 7, lasting=timedelta(minutes=15))  # past half their life: the IdP is asked
    served = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert served.returncode == 0 and json.loads(served.stdout)["AccessKeyId"] == "ASIACACHED"
    assert len(seen) == 1


@pytest.mark.parametrize("issued", [None, "soon", "2099-01-01T00:00:00Z", "2020-01-01T00:00:00"])
def test_without_a_sensible_issue_time_the_refresh_goes_by_botocores_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                            refusing_idp: tuple[str, list[str]], issued: object) -> None:
    """A cache written before issue times were kept, or a damaged one: refreshed from 15 minutes before expiry."""
    url, seen = refusing_idp
    _profile_keeping(tmp_path, url, "the password before the change")
    _cached(tmp_path, monkeypatch, 14, lasting=timedelta(minutes=15))
    document = json.loads(_cache_file(tmp_path).read_text())
    _cache_file(tmp_path).write_text(json.dumps({**document, "Issued": issued}))
    served = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert served.returncode == 0 and json.loads(served.stdout)["AccessKeyId"] == "ASIACACHED"
    assert len(seen) == 1


# A damaged cache file

@pytest.mark.parametrize("expiration", [1893456000, None, "2099-01-01T00:00:00", [], "soon"])
def test_a_corrupt_expiration_is_no_valid_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expiration: object) -> None:
    write_profile(tmp_path, NOWHERE, ecp_url=f"{NOWHERE}/ecp", username="alice", role=role_arn(DEV, "Developer"))
    _cached(tmp_path, monkeypatch, 60)
    document = json.loads(_cache_file(tmp_path).read_text())
    _cache_file(tmp_path).write_text(json.dumps({**document, "Expiration": expiration}))
    done = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "no valid credentials for profile demo; run: samlfed login --profile demo" in done.stderr


def test_a_corrupt_cache_is_refreshed_with_a_kept_password(demo: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile(tmp_path, demo["url"], username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    _keep(tmp_path, demo["passwords"]["alice"])
    _cached(tmp_path, monkeypatch, 60)
    document = json.loads(_cache_file(tmp_path).read_text())
    _cache_file(tmp_path).write_text(json.dumps({**document, "Expiration": None}))
    done = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA") and json.loads(done.stdout)["AccessKeyId"] != "ASIACACHED"

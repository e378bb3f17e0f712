"""Trusted reverse proxies (`forwarded_allow_ips`): real `samlfed` processes, real boto3 and httpx.

Without the setting, X-Forwarded-For and X-Forwarded-Proto change nothing, even from 127.0.0.1 (uvicorn's own
default would believe them): the TCP peer is the client. With it, the right-most address not of a trusted proxy is
aws:SourceIp, and X-Forwarded-Proto decides aws:SecureTransport. Both are observed through trust policies and a role
policy conditioned on them, the decision visible in the answer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, ENTITY_ID, PROVIDER_ARN, response_b64, signer
from servers import SAMLFED, samlfed_process

from samlfed.config import Settings
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import proxy_options

OFFICE = "203.0.113.0/24"
"""The 'corporate' network the policies admit (TEST-NET-3)."""


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _saml_trust(condition: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"], "Condition": condition,
    }]})


ROLES = {
    "Office": _saml_trust({"IpAddress": {"aws:SourceIp": OFFICE}}),
    "Local": _saml_trust({"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}),
    "Secure": _saml_trust({"Bool": {"aws:SecureTransport": "true"}}),
    "Chained": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": _role_arn("Local")}, "Action": "sts:AssumeRole", "Condition": {"IpAddress": {"aws:SourceIp": OFFICE}},
    }]}),
}
LOCAL_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": OFFICE}}},
]})


def _headers(client, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """`client` sending `headers` with every request (after signing: they are not part of the signature)."""
    def add(request, **_: object) -> None:  # type: ignore[no-untyped-def]
        request.headers.update(headers)

    client.meta.events.register("before-send", add)
    return client


def _sts(url: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return _headers(boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(signature_version=UNSIGNED)), headers or {})


def _session_client(service: str, url: str, credentials: dict, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    client = boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )
    return _headers(client, headers or {})


def _assume(url: str, role: str, headers: dict[str, str] | None = None) -> dict | str:
    """The credentials of `role`, or the error code of the refusal."""
    assertion = response_b64(issue_instant=datetime.now(UTC), roles=[f"{_role_arn(role)},{PROVIDER_ARN}"])
    try:
        return _sts(url, headers).assume_role_with_saml(RoleArn=_role_arn(role), PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
    except ClientError as error:
        return error.response["Error"]["Code"]


def _outcome(call) -> str:  # type: ignore[no-untyped-def]
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    return "allowed"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One account with the test IdP registered and the roles above, shared by the servers of this module."""
    data = tmp_path_factory.mktemp("proxy") / "data"
    created = subprocess.run([SAMLFED, "accounts", "create", "--id", ACCOUNT, "--data-dir", str(data), "--json"], capture_output=True, text=True, check=True)
    admin = json.loads(created.stdout)
    with samlfed_process(["serve"], "--data-dir", str(data), probe="/healthz") as url:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
        iam.create_saml_provider(SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, [signer().certificate]).decode(), Name="ExampleIdP")
        for name, trust in ROLES.items():
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName="Local", PolicyName="office-only", PolicyDocument=LOCAL_POLICY)
    return data


@pytest.fixture(scope="module")
def untrusting(data_dir: Path) -> Iterator[str]:
    """`samlfed serve` without the setting, and with uvicorn's own variable naming 127.0.0.1: it must not count."""
    env = {"FORWARDED_ALLOW_IPS": "127.0.0.1", "SAMLFED_FORWARDED_ALLOW_IPS": ""}
    with samlfed_process(["serve"], "--data-dir", str(data_dir), "--workers", "2", probe="/healthz", env=env) as url:
        yield url


@pytest.fixture(scope="module")
def trusting(data_dir: Path) -> Iterator[str]:
    """From the settings file, with worker processes (uvicorn hands them its configuration)."""
    config = data_dir.parent / "samlfed.toml"
    config.write_text('forwarded_allow_ips = ["10.0.0.5", "127.0.0.0/8"]\n')  # a network, as well as an address
    with samlfed_process(["serve"], "--data-dir", str(data_dir), "--config", str(config), "--workers", "2", probe="/healthz") as url:
        yield url


FROM_OFFICE = {"X-Forwarded-For": "203.0.113.7"}


def test_without_the_setting_forwarded_headers_change_nothing(untrusting: str) -> None:
    assert _assume(untrusting, "Office", FROM_OFFICE) == "AccessDenied"
    assert isinstance(_assume(untrusting, "Local", FROM_OFFICE), dict)  # the TCP peer, 127.0.0.1, is aws:SourceIp
    assert _assume(untrusting, "Secure", {"X-Forwarded-Proto": "https"}) == "AccessDenied"
    local = _assume(untrusting, "Local")
    assert isinstance(local, dict)
    iam = _session_client("iam", untrusting, local, FROM_OFFICE)
    assert _outcome(lambda: iam.get_role(RoleName="Local")) == "AccessDenied"
    sts = _session_client("sts", untrusting, local, FROM_OFFICE)
    assert _outcome(lambda: sts.assume_role(RoleArn=_role_arn("Chained"), RoleSessionName="chained")) == "AccessDenied"


def test_a_trusted_proxy_sets_the_source_ip(trusting: str) -> None:
    assert isinstance(_assume(trusting, "Office", FROM_OFFICE), dict)
    assert _assume(trusting, "Local", FROM_OFFICE) == "AccessDenied"
    assert _assume(trusting, "Office") == "AccessDenied"  # no header: the peer itself is the client
    local = _assume(trusting, "Local")
    assert isinstance(local, dict)
    iam = _session_client("iam", trusting, local, FROM_OFFICE)
    assert iam.get_role(RoleName="Local")["Role"]["Arn"] == _role_arn("Local")
    sts = _session_client("sts", trusting, local, FROM_OFFICE)
    assert sts.assume_role(RoleArn=_role_arn("Chained"), RoleSessionName="chained")["AssumedRoleUser"]["Arn"].endswith("/Chained/chained")


@pytest.mark.parametrize(
    ("chain", "outcome"),
    [
        ("198.51.100.9, 203.0.113.7", "allowed"),  # what the client claimed, then what the proxy saw: the proxy wins
        ("203.0.113.7, 198.51.100.9", "AccessDenied"),  # a claimed office address left of the real one is ignored
        ("203.0.113.7, 127.0.0.1", "allowed"),  # a hop through another trusted proxy is skipped
    ],
)
def test_the_client_is_the_right_most_untrusted_address(trusting: str, chain: str, outcome: str) -> None:
    answer = _assume(trusting, "Office", {"X-Forwarded-For": chain})
    assert (answer if isinstance(answer, str) else "allowed") == outcome


def test_a_trusted_proxy_sets_secure_transport(trusting: str) -> None:
    assert isinstance(_assume(trusting, "Secure", {"X-Forwarded-Proto": "https"}), dict)
    assert _assume(trusting, "Secure") == "AccessDenied"
    assert _assume(trusting, "Secure", {"X-Forwarded-Proto": "http"}) == "AccessDenied"


@pytest.mark.parametrize(
    ("command", "value"),
    [(["serve"], "proxy.internal"), (["serve"], "*"), (["serve"], "10.0.0.1/8"), (["demo", "--no-serve"], "10.0.0.0/8,,"), (["idp", "serve"], "::1/200")],
)
def test_a_bad_value_is_a_settings_error(tmp_path: Path, command: list[str], value: str) -> None:
    done = subprocess.run([SAMLFED, *command, "--data-dir", str(tmp_path / "data"), "--forwarded-allow-ips", value], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--forwarded-allow-ips: forwarded_allow_ips must be IP addresses or CIDR networks separated by commas" in done.stderr
    assert repr(value) in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_a_bad_value_from_the_environment_or_the_file_is_named(tmp_path: Path) -> None:
    env = {**os.environ, "SAMLFED_FORWARDED_ALLOW_IPS": "10.0.0.5 10.0.0.6"}
    done = subprocess.run([SAMLFED, "serve", "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "SAMLFED_FORWARDED_ALLOW_IPS: forwarded_allow_ips must be" in done.stderr
    config = tmp_path / "samlfed.toml"
    config.write_text('forwarded_allow_ips = ["10.0.0.5", "proxy"]\n')
    env = {name: value for name, value in os.environ.items() if not name.startswith("SAMLFED_")}
    done = subprocess.run([SAMLFED, "serve", "--config", str(config), "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"{config}: forwarded_allow_ips must be" in done.stderr


def test_the_setting_travels_to_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env(forwarded_allow_ips=" 10.0.0.5, 10.0.1.0/24,::1")
    assert settings.forwarded_allow_ips == ("10.0.0.5", "10.0.1.0/24", "::1")
    assert proxy_options(settings) == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.5", "10.0.1.0/24", "::1"]}
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().forwarded_allow_ips == settings.forwarded_allow_ips
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's variable: never samlfed's setting
    assert proxy_options(Settings.from_env(forwarded_allow_ips="")) == {"proxy_headers": False, "forwarded_allow_ips": []}


def _failed_logins(url: str, forwarded_for: str, count: int) -> list[int]:
    """`count` failed sign-ins at the IdP (distinct unknown users, so that only the per-address limit can apply)."""
    statuses = []
    with httpx.Client(base_url=url) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/idp/login").text).group(1)  # type: ignore[union-attr]
        for number in range(count):
            form = {"csrf": csrf, "username": f"nobody{number}-{forwarded_for}", "password": "wrong"}
            statuses.append(browser.post("/idp/login", data=form, headers={"X-Forwarded-For": forwarded_for}).status_code)
    return statuses


@pytest.mark.parametrize(("command", "probe"), [(["idp", "serve"], "/idp/metadata"), (["demo"], "/healthz")])
@pytest.mark.parametrize("trusted", [True, False])
def test_the_idp_commands_apply_the_setting(tmp_path: Path, command: list[str], probe: str, trusted: bool) -> None:
    """The IdP throttles failed sign-ins per client address (20 in 5 minutes): with the setting, per forwarded
    address; without it, every request from 127.0.0.1 shares one count whatever it claims."""
    options = ["--data-dir", str(tmp_path / "data"), *(["--forwarded-allow-ips", "127.0.0.1"] if trusted else [])]
    with samlfed_process(command, *options, probe=probe, env={"SAMLFED_FORWARDED_ALLOW_IPS": ""}) as url:
        assert _failed_logins(url, "198.51.100.1", 21) == [401] * 20 + [429]
        assert _failed_logins(url, "198.51.100.2", 1) == ([401] if trusted else [429])

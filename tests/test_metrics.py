"""`metrics = true`: GET /metrics on a real `samlfed serve` with two workers counts every decision once, whichever
worker made it and whichever answers the scrape; without the setting there is no /metrics."""

from __future__ import annotations

import json
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
from prometheus_client.parser import text_string_to_metric_families
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, PROVIDER_ARN, response_b64, signer
from servers import SAMLFED, free_port, samlfed_process, wait_until_up

from samlfed.metrics import _route
from samlfed.saml.metadata import build_idp_metadata

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]},
]})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("metrics") / "data"
    created = subprocess.run([SAMLFED, "accounts", "create", "--id", ACCOUNT, "--data-dir", str(data), "--json"], capture_output=True, text=True, check=True)
    (data.parent / "admin.json").write_text(created.stdout)
    return data


def _admin(data: Path) -> dict[str, str]:
    return json.loads((data.parent / "admin.json").read_text())


@pytest.fixture(scope="module")
def metered(data_dir: Path) -> Iterator[str]:
    with samlfed_process(["serve"], "--data-dir", str(data_dir), "--workers", "2", "--metrics", probe="/healthz") as url:
        yield url


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx.get(f"{url}/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text) for sample in family.samples
    }


def decisions(samples: dict, **labels: str) -> float:
    return sum(value for (name, have), value in samples.items()
               if name == "samlfed_decisions_total" and all((k, v) in have for k, v in labels.items()))


def test_decisions_are_counted_across_workers(metered: str, data_dir: Path) -> None:
    admin = _admin(data_dir)
    iam = boto3.client("iam", endpoint_url=metered, region_name="us-east-1",
                       aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
    iam.create_saml_provider(SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, [signer().certificate]).decode(), Name="ExampleIdP")
    iam.create_role(RoleName="Developer", AssumeRolePolicyDocument=TRUST)
    sts = boto3.client("sts", endpoint_url=metered, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    for _ in range(6):
        sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC)))
    for _ in range(2):
        with pytest.raises(ClientError):
            sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64("none", issue_instant=datetime.now(UTC)))
    for _ in range(4):  # each scrape may reach either worker: every one must see the sum
        samples = scrape(metered)
        assert decisions(samples, action="AssumeRoleWithSAML", outcome="allowed") == 6
        assert decisions(samples, action="AssumeRoleWithSAML", outcome="rejected", check="signature.required", error_code="InvalidIdentityToken") == 2
        assert decisions(samples, outcome="changed") == 2  # CreateSAMLProvider and CreateRole, from the audit trail
    api = [v for (name, labels), v in samples.items() if name == "samlfed_request_duration_seconds_count" and ("route", "api") in labels]
    assert sum(api) >= 10


def test_routes_are_named_by_the_service_never_by_the_path() -> None:
    assert [_route(p) for p in ("/", "/saml", "/saml/acs/ABC", "/console/switch", "/idp/sso", "/healthz", "/x/../../etc", "/%2e")] == [
        "api", "saml", "saml", "console", "idp", "health", "other", "other"]


def test_each_run_counts_alone_and_without_the_setting_there_is_no_metrics(data_dir: Path, metered: str) -> None:
    # The module's server has counted sign-ins (the test above) and still runs: another server on the same data
    # directory counts its own, and takes nothing from the first.
    before = decisions(scrape(metered), action="AssumeRoleWithSAML")
    with samlfed_process(["serve"], "--data-dir", str(data_dir), "--metrics", probe="/healthz") as url:
        assert decisions(scrape(url), action="AssumeRoleWithSAML") == 0
    assert decisions(scrape(metered), action="AssumeRoleWithSAML") == before == 8
    with samlfed_process(["serve"], "--data-dir", str(data_dir), probe="/healthz") as url:
        assert httpx.get(f"{url}/metrics").status_code == 404


def test_a_run_killed_outright_leaves_nothing_for_long(data_dir: Path) -> None:
    """SIGKILL runs no exit handler, so the run's directory stays; the next run clears it, and removes its own when
    SIGTERM stops it (one worker exits cleanly, as several do)."""
    runs = data_dir / "metrics"
    others = {p.name for p in runs.glob("run-*")}  # the module's server, still running: its directory stays
    port = free_port()
    killed = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(data_dir), "--metrics"], stderr=subprocess.DEVNULL)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=30, gave_up=lambda: killed.poll() is not None)
    finally:
        killed.kill()
        killed.wait(timeout=15)
    (left,) = {p.name for p in runs.glob("run-*")} - others
    with samlfed_process(["serve"], "--data-dir", str(data_dir), "--metrics", probe="/healthz"):
        (new,) = {p.name for p in runs.glob("run-*")} - others  # only this run's: the killed one's was removed
        assert new != left
    assert {p.name for p in runs.glob("run-*")} == others  # stopped by SIGTERM, the run removed its own
    assert oct(runs.stat().st_mode & 0o777) == "0o700"

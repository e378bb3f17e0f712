"""`serve --no-strict-replay`, `--without-idp` and `--no-metrics`: an option ranks above a SAMLFED_* variable and the
settings file, so it must be able to turn off what they turned on (the flags could only turn things on). They are
hidden options, named in their positive flag's help, so that `serve --help` keeps its layout at 80 columns."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from servers import SAMLFED, free_port, samlfed_process
from service_world import developer_world

from samlfed.config import Settings

TURNED_ON = {"SAMLFED_STRICT_REPLAY": "1", "SAMLFED_WITH_IDP": "1", "SAMLFED_METRICS": "1"}


def _assume_twice(url: str) -> str | None:
    """Assume the Developer role twice with one assertion: the second refusal's message, None when both succeed."""
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
    assertion = response_b64(issue_instant=datetime.now(UTC))
    for _ in range(2):
        try:
            sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)
        except ClientError as exc:
            return str(exc.response["Error"]["Message"])
    return None


def test_the_negative_flags_turn_off_what_the_environment_turned_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    developer_world(Settings(data_dir=data)).store.engine.dispose()
    with samlfed_process(["serve"], "--data-dir", str(data), probe="/healthz", env=TURNED_ON) as url:
        assert httpx.get(f"{url}/metrics").status_code == 200
        assert httpx.get(f"{url}/idp/metadata").status_code == 200
        assert _assume_twice(url) == "The SAML assertion has already been used"
    turned_off = ("--no-strict-replay", "--without-idp", "--no-metrics")
    with samlfed_process(["serve"], "--data-dir", str(data), *turned_off, probe="/healthz", env=TURNED_ON) as url:
        assert httpx.get(f"{url}/metrics").status_code == 404
        assert httpx.get(f"{url}/idp/metadata").status_code == 404
        assert _assume_twice(url) is None


@pytest.mark.parametrize(("on", "off"), [("--strict-replay", "--no-strict-replay"), ("--with-idp", "--without-idp"), ("--metrics", "--no-metrics")])
def test_a_flag_and_its_negative_together_are_refused(tmp_path: Path, on: str, off: str) -> None:
    done = subprocess.run([SAMLFED, "serve", "--port", str(free_port()), "--data-dir", str(tmp_path), on, off], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr) == (2, f"samlfed: {on} and {off} contradict each other: give one\n")
    assert not (tmp_path / "samlfed.db").exists()

"""The count of identity changes that voids the read cache's copies, shared by the workers of `samlfed serve`: a
change made through any worker is seen by every worker of the node at once (it was seen by the writing worker only,
the others serving their copies for up to identity_cache_seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import boto3
import httpx
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, PROVIDER_ARN, response_b64, signer
from servers import SAMLFED, samlfed_process

from samlfed.saml.metadata import build_idp_metadata
from samlfed.store import Account, Role, SqlStore
from samlfed.store.generation import SharedIdentityGeneration, create_shared_file
from samlfed.store.read_cache import ReadCache

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_a_bump_through_one_mapping_is_seen_through_another_and_none_is_lost(tmp_path: Path) -> None:
    path = create_shared_file(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    first, second = SharedIdentityGeneration(path), SharedIdentityGeneration(path)
    first.bump()
    assert second.value == 1
    workers = [threading.Thread(target=lambda: [SharedIdentityGeneration(path).bump() for _ in range(200)]) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert first.value == second.value == 801


def test_bumps_from_threads_of_one_process_are_never_lost(tmp_path: Path) -> None:
    """IAM calls write from a worker's threads: the threads share the open file's flock, so without a lock of their
    own two bumps read the same count and wrote one value (about 1 bump in 8 was lost at this switch interval)."""
    generation = SharedIdentityGeneration(create_shared_file(tmp_path))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can, so an unguarded bump is interleaved
    try:
        workers = [threading.Thread(target=lambda: [generation.bump() for _ in range(20_000)]) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert generation.value == 8 * 20_000


def test_a_change_written_through_one_store_voids_the_copy_another_keeps(tmp_path: Path) -> None:
    url, path = f"sqlite:///{tmp_path / 'samlfed.db'}", create_shared_file(tmp_path)
    writer, reader = SqlStore.open(url), SqlStore.open(url)
    try:
        writer.identity_changes = SharedIdentityGeneration(path)
        reader.identity_changes = SharedIdentityGeneration(path)
        writer.create_account(Account(ACCOUNT, None, NOW))
        writer.create_role(Role(ACCOUNT, "Developer", "AROADEVELOPER00000000", "/", DEV_ROLE, "{}", 3600, NOW))
        cache = ReadCache(reader, seconds=60)
        assert cache.role(ACCOUNT, "Developer").max_session_duration == 3600
        writer.update_role(ACCOUNT, "Developer", max_session_duration=7200)
        assert cache.role(ACCOUNT, "Developer").max_session_duration == 7200
    finally:
        writer.engine.dispose()
        reader.engine.dispose()


def _document(effect: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]},
        *([{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:TagSession"}] if effect == "Deny" else []),
    ]})


def _sign_in(url: str) -> str:
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    try:
        sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC)))
    except ClientError as error:
        return error.response["Error"]["Code"]
    finally:
        sts.close()
    return "OK"


def test_every_worker_of_serve_sees_a_change_at_once(tmp_path: Path) -> None:
    import subprocess

    data = tmp_path / "data"
    created = json.loads(subprocess.run([SAMLFED, "accounts", "create", "--id", ACCOUNT, "--data-dir", str(data), "--json"],
                                        capture_output=True, text=True, check=True).stdout)
    env = {"SAMLFED_IDENTITY_CACHE_SECONDS": "60"}  # a copy kept a minute: only the shared count can void it in time
    with samlfed_process(["serve"], "--data-dir", str(data), "--workers", "2", probe="/healthz", env=env) as url:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id=created["AccessKeyId"], aws_secret_access_key=created["SecretAccessKey"])
        iam.create_saml_provider(SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, [signer().certificate]).decode(), Name="ExampleIdP")
        iam.create_role(RoleName="Developer", AssumeRolePolicyDocument=_document("Allow"))
        assert [_sign_in(url) for _ in range(12)] == ["OK"] * 12  # new connections: both workers keep copies
        iam.update_assume_role_policy(RoleName="Developer", PolicyDocument=_document("Deny"))
        assert [_sign_in(url) for _ in range(12)] == ["AccessDenied"] * 12
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_files_of_runs_killed_outright_are_removed_by_the_next(tmp_path: Path) -> None:
    """`serve --workers N` removes its count file at exit; one SIGKILLed left it in /tmp for good."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    stale = tmp_path / f"samlfed-identity-generation-{dead_pid}-abc123"
    stale.write_bytes(bytes(8))
    live = tmp_path / f"samlfed-identity-generation-{os.getpid()}-def456"  # a run still going (this process)
    live.write_bytes(bytes(8))
    other = tmp_path / "samlfed-identity-generation-oldstyle"  # no PID in its name: not known to be a dead run's
    other.write_bytes(bytes(8))
    made = create_shared_file(tmp_path)
    assert made.name.startswith(f"samlfed-identity-generation-{os.getpid()}-")
    assert not stale.exists() and live.exists() and other.exists()

"""Provider private keys and the encryption mode from the AWS CLI (`aws iam update-saml-provider --add-private-key
file://key.pem`) and from `samlfed providers private-keys` / `samlfed providers encryption-mode`, on one data
directory that a running server also serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from provider_key_material import pem_body, pkcs1, pkcs8, rsa_key
from saml_factory import ENTITY_ID, signer
from servers import SAMLFED, app_in_thread

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.iam.provider_keys import private_key_id
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

AWS = str(Path(sys.executable).with_name("aws"))
ACCOUNT = "111111111111"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/EncCliIdP"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("data")
    ctx = build_context(Settings(data_dir=data))
    admin = create_account(ctx, ACCOUNT)
    with app_in_thread(build_app(ctx)) as url:
        yield {"url": url, "admin": admin, "data": data}
    ctx.store.engine.dispose()


def environment(deployment: dict, home: Path) -> dict[str, str]:
    admin = deployment["admin"]
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_IAM": deployment["url"], "AWS_ACCESS_KEY_ID": admin.access_key_id, "AWS_SECRET_ACCESS_KEY": admin.secret_access_key,
    }


def aws(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWS, "iam", *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=120)


def samlfed(deployment: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMLFED, "providers", *args, "--data-dir", str(deployment["data"])], capture_output=True, text=True, timeout=120)


def shows_no_key(done: subprocess.CompletedProcess[str], *pems: str) -> bool:
    return not [line for pem in pems for line in pem_body(pem) if line in done.stdout + done.stderr]


def test_keys_and_modes_from_both_command_lines(deployment: dict, tmp_path: Path) -> None:
    env = environment(deployment, tmp_path)
    (tmp_path / "idp.xml").write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    a, b, c = pkcs8(rsa_key("a")), pkcs1(rsa_key("b")), pkcs8(rsa_key("c"))
    id_a, id_b = private_key_id(rsa_key("a")), private_key_id(rsa_key("b"))
    for name, pem in {"a.pem": a, "b.pem": b, "c.pem": c, "small.pem": pkcs8(rsa_key("small", 1024))}.items():
        (tmp_path / name).write_text(pem)

    created = aws("create-saml-provider", "--name", "EncCliIdP", "--saml-metadata-document", f"file://{tmp_path / 'idp.xml'}", env=env)
    assert created.returncode == 0, created.stderr
    added = aws("update-saml-provider", "--saml-provider-arn", PROVIDER, "--add-private-key", f"file://{tmp_path / 'a.pem'}", env=env)
    assert added.returncode == 0 and json.loads(added.stdout)["SAMLProviderArn"] == PROVIDER, added.stderr

    listed = samlfed(deployment, "private-keys", "list", PROVIDER)
    assert listed.returncode == 0 and listed.stdout.split()[0] == id_a and shows_no_key(listed, a), listed.stderr
    second = samlfed(deployment, "private-keys", "add", PROVIDER, str(tmp_path / "b.pem"))
    assert (second.returncode, second.stdout.strip()) == (0, id_b), second.stderr
    third = samlfed(deployment, "private-keys", "add", PROVIDER, str(tmp_path / "c.pem"))
    assert third.returncode == 2 and "Private key limit of 2 is reached." in third.stderr and shows_no_key(third, c)
    small = samlfed(deployment, "private-keys", "add", PROVIDER, str(tmp_path / "small.pem"))
    assert small.returncode == 2 and "Invalid private key." in small.stderr and shows_no_key(small, pkcs8(rsa_key("small", 1024)))
    assert "one unencrypted RSA private key of 2048 to 4096 bits" in small.stderr  # the CLI says what it takes
    missing = samlfed(deployment, "private-keys", "add", PROVIDER, str(tmp_path / "nothing.pem"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr

    got = json.loads(aws("get-saml-provider", "--saml-provider-arn", PROVIDER, env=env).stdout)
    assert [k["KeyId"] for k in got["PrivateKeyList"]] == [id_a, id_b] and got["AssertionEncryptionMode"] == "Allowed"
    as_json = json.loads(samlfed(deployment, "private-keys", "list", PROVIDER, "--json").stdout)
    assert as_json == {"PrivateKeyList": [{"KeyId": k["KeyId"], "Timestamp": k["Timestamp"]} for k in got["PrivateKeyList"]]}

    assert samlfed(deployment, "encryption-mode", "set", PROVIDER, "Required").stdout.strip() == "Required"
    assert samlfed(deployment, "encryption-mode", "get", PROVIDER).stdout.strip() == "Required"
    bogus = samlfed(deployment, "encryption-mode", "set", PROVIDER, "Sometimes")
    assert bogus.returncode == 2 and "enum value set: [Required, Allowed]" in bogus.stderr
    removed = samlfed(deployment, "private-keys", "remove", PROVIDER, id_a)
    assert removed.returncode == 0 and removed.stdout == f"removed {id_a}\n"
    last = samlfed(deployment, "private-keys", "remove", PROVIDER, id_b)
    assert last.returncode == 2 and f"{id_b} is the only private key of {PROVIDER}, which requires encrypted assertions: add another key first, or set its encryption mode to Allowed" in last.stderr
    unknown = samlfed(deployment, "private-keys", "remove", PROVIDER, id_a)
    assert unknown.returncode == 2 and f"{PROVIDER} holds no private key {id_a} (it holds: {id_b})" in unknown.stderr

    back = aws("update-saml-provider", "--saml-provider-arn", PROVIDER, "--assertion-encryption-mode", "Allowed", "--remove-private-key", id_b, env=env)
    assert back.returncode == 0, back.stderr
    got = json.loads(aws("get-saml-provider", "--saml-provider-arn", PROVIDER, env=env).stdout)
    assert (got["AssertionEncryptionMode"], got["PrivateKeyList"]) == ("Allowed", [])
    assert samlfed(deployment, "private-keys", "list", PROVIDER).stdout == ""
    refused = aws("update-saml-provider", "--saml-provider-arn", PROVIDER, "--add-private-key", f"file://{tmp_path / 'small.pem'}", env=env)
    assert refused.returncode != 0 and "(InvalidInput)" in refused.stderr and "Invalid private key." in refused.stderr
    nothing = aws("update-saml-provider", "--saml-provider-arn", PROVIDER, env=env)
    assert nothing.returncode != 0 and "No updates are defined for metadata or encryption assertion." in nothing.stderr


def test_the_commands_name_a_bad_arn(deployment: dict) -> None:
    done = samlfed(deployment, "private-keys", "list", "not-an-arn")
    assert done.returncode == 2 and "is not a SAML provider ARN" in done.stderr

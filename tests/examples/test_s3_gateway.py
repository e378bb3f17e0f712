"""examples/s3-gateway end to end: boto3's S3 client → the gateway → samlfed's authorization API.

alice (department Engineering) reads, writes and lists engineering/*; bob (Finance), with the same role, gets
AccessDenied: the difference is only the session tag the IdP asserted.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from saml_factory import ENTITY_ID, PROVIDER_ARN, response_b64, signer
from servers import app_in_thread, raw_exchange

from samlfed.authz.client import AuthorizationClient
from samlfed.authz.keys import create_authz_key
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider
from samlfed.iam.role_policies import put_role_policy
from samlfed.iam.roles import create_role
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context, build_server_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "s3-gateway"))
from gateway import build_app  # noqa: E402

ACCOUNT = "111111111111"
ANALYST = f"arn:aws:iam::{ACCOUNT}:role/Analyst"
DEPARTMENT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "EngineeringObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::acme-data/engineering/*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/department": "Engineering"}}},
        {"Sid": "ListEngineering", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::acme-data",
         "Condition": {"StringEquals": {"aws:PrincipalTag/department": "Engineering"}, "StringLike": {"s3:prefix": "engineering/*"}}},
        {"Sid": "AnyonesPublicObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/public/*"},
    ],
}
OTHER_ACCOUNT = "222222222222"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("samlfed")
    settings = Settings(data_dir=data)
    ctx = build_context(settings)
    create_account(ctx, ACCOUNT, "acme")
    create_saml_provider(ctx, ACCOUNT, "ExampleIdP", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode())
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]}
    create_role(ctx, ACCOUNT, "Analyst", json.dumps(trust))
    put_role_policy(ctx, ACCOUNT, "Analyst", "department-data", json.dumps(DEPARTMENT_POLICY))
    key = create_authz_key(ctx, "s3-gateway").key
    objects = tmp_path_factory.mktemp("objects")
    (objects / "acme-data" / "engineering").mkdir(parents=True)
    (objects / "acme-data" / "engineering" / "plan.txt").write_text("the engineering plan")
    (objects / "acme-data" / "finance").mkdir()
    (objects / "acme-data" / "finance" / "budget.txt").write_text("numbers")
    (objects / "acme-data.account").write_text(f"{ACCOUNT}\n")
    for bucket, owner in (("acme-data", None), ("other-team", OTHER_ACCOUNT), ("unowned", None)):
        (objects / bucket / "public").mkdir(parents=True, exist_ok=True)
        (objects / bucket / "public" / "readme.txt").write_text(f"{bucket}'s readme")
        if owner:
            (objects / f"{bucket}.account").write_text(owner)
    with app_in_thread(build_server_app(settings, ctx)) as samlfed_url:
        with app_in_thread(build_app(objects, AuthorizationClient(samlfed_url, key))) as gateway_url:
            yield {"samlfed": samlfed_url, "gateway": gateway_url, "key": key, "objects": objects}


def _credentials_for(stack: dict, department: str, name: str) -> Credentials:
    assertion = response_b64(issue_instant=datetime.now(UTC), roles=[f"{ANALYST},{PROVIDER_ARN}"], role_session_name=name,
                             principal_tags={"department": department})
    sts = boto3.client("sts", endpoint_url=stack["samlfed"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    issued = sts.assume_role_with_saml(RoleArn=ANALYST, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
    return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])


def _s3_for(stack: dict, department: str, name: str):  # type: ignore[no-untyped-def]
    credentials = _credentials_for(stack, department, name)
    return boto3.client(
        "s3", endpoint_url=stack["gateway"], region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key, aws_session_token=credentials.token,
    )


def test_alice_in_engineering_reads_writes_and_lists(stack: dict) -> None:
    s3 = _s3_for(stack, "Engineering", "alice")
    assert s3.get_object(Bucket="acme-data", Key="engineering/plan.txt")["Body"].read() == b"the engineering plan"
    s3.put_object(Bucket="acme-data", Key="engineering/notes.txt", Body=b"hello")
    assert (stack["objects"] / "acme-data" / "engineering" / "notes.txt").read_bytes() == b"hello"
    listed = s3.list_objects_v2(Bucket="acme-data", Prefix="engineering/")
    assert [o["Key"] for o in listed["Contents"]] == ["engineering/notes.txt", "engineering/plan.txt"]
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket="acme-data", Key="finance/budget.txt")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_bob_in_finance_is_denied(stack: dict) -> None:
    s3 = _s3_for(stack, "Finance", "bob")
    for call in (lambda: s3.get_object(Bucket="acme-data", Key="engineering/plan.txt"),
                 lambda: s3.put_object(Bucket="acme-data", Key="engineering/x.txt", Body=b"x"),
                 lambda: s3.list_objects_v2(Bucket="acme-data", Prefix="engineering/")):
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not (stack["objects"] / "acme-data" / "engineering" / "x.txt").exists()


def test_another_accounts_bucket_needs_its_bucket_policy_and_a_bucket_without_owner_does_not_exist(stack: dict) -> None:
    """Found by a cross-account probe: the gateway named no bucket owner, so on a samlfed shared by several accounts a
    session whose policies allow s3:GetObject on every bucket read every team's buckets."""
    s3 = _s3_for(stack, "Engineering", "alice")
    assert s3.get_object(Bucket="acme-data", Key="public/readme.txt")["Body"].read() == b"acme-data's readme"
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket="other-team", Key="public/readme.txt")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                      "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-team/public/*"}]}
    policy = stack["objects"] / "other-team.policy.json"
    policy.write_text(json.dumps(grant))
    try:
        assert s3.get_object(Bucket="other-team", Key="public/readme.txt")["Body"].read() == b"other-team's readme"
    finally:
        policy.unlink()
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="unowned", Key="public/readme.txt")
    assert missing.value.response["Error"]["Code"] == "NoSuchBucket"


def test_presigned_url_and_forged_signatures(stack: dict) -> None:
    s3 = _s3_for(stack, "Engineering", "alice")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "acme-data", "Key": "engineering/plan.txt"}, ExpiresIn=300)
    got = httpx.get(url)
    assert got.content == b"the engineering plan", got.text
    tampered = url.replace("engineering%2Fplan.txt", "finance%2Fbudget.txt").replace("engineering/plan.txt", "finance/budget.txt")
    forged = httpx.get(tampered)
    assert forged.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in forged.content
    unsigned = httpx.get(f"{stack['gateway']}/acme-data/engineering/plan.txt")
    assert unsigned.status_code == 403 and b"<Code>MissingAuthenticationToken</Code>" in unsigned.content


def test_the_authorization_api_needs_its_key_and_a_well_formed_body(stack: dict) -> None:
    url = f"{stack['samlfed']}/authz/v1/authorize"
    body = {"request": {"method": "GET", "path": "/", "headers": {}}, "action": "s3:GetObject", "resource": "*"}
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer sfk_nope_nope"}).status_code == 401
    auth = {"Authorization": f"Bearer {stack['key']}"}
    assert httpx.post(url, content=b"{not json", headers=auth).status_code == 400
    assert httpx.post(url, json={"request": {"method": "GET", "path": "/", "headers": "x"}}, headers=auth).status_code == 400
    answer = httpx.post(url, json=body, headers=auth)
    assert answer.status_code == 200 and answer.json()["decision"] == "unauthenticated" and answer.json()["error"]["code"] == "MissingAuthenticationToken"



def test_a_repeated_signed_header_reaches_samlfed_whole(stack: dict) -> None:
    """SigV4 signs a repeated header as its values joined with commas; the gateway forwarded only the first value
    (a dict of Starlette's headers), so such a request, signed correctly, was refused as SignatureDoesNotMatch.
    Sent byte for byte: botocore's HTTP layer sends one value of a repeated header."""
    credentials = _credentials_for(stack, "Engineering", "alice")
    url = f"{stack['gateway']}/acme-data/engineering/plan.txt"
    request = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    for value in ("one", "two"):
        request.headers.add_header("x-amz-meta-note", value)
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    head = [f"GET {urlsplit(url).path} HTTP/1.1", f"Host: {urlsplit(url).netloc}", "Connection: close",
            *(f"{name}: {value}" for name, value in request.headers.items())]
    answer = raw_exchange(stack["gateway"], "\r\n".join(head).encode() + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:400]
    assert answer.endswith(b"the engineering plan")

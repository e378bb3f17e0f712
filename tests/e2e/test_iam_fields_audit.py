"""IAM response fields, pagination and UpdateSAMLProvider, field by field against botocore's model and the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.session
from botocore.config import Config
from e2e_setup import TRUST_POLICY, client, error_of, unsigned_sts
from saml_factory import DEV_ROLE, ENTITY_ID, PROVIDER_ARN, response_b64, signer

from samlfed.saml.metadata import build_idp_metadata

AWS = str(Path(sys.executable).with_name("aws"))
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def unvalidated_iam(server: dict):
    """boto3 without its client-side checks: what a raw request (or another SDK) can send."""
    return client(server, "iam", config=Config(parameter_validation=False), aws_access_key_id=server["admin"].access_key_id, aws_secret_access_key=server["admin"].secret_access_key)


def aws_cli(server: dict, home: Path, *args: str) -> dict:
    admin = server["admin"]
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_IAM": server["url"], "AWS_ACCESS_KEY_ID": admin.access_key_id, "AWS_SECRET_ACCESS_KEY": admin.secret_access_key,
    }
    done = subprocess.run([AWS, "iam", *args, "--output", "json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_permissions_boundary_type_is_what_aws_answers_not_the_model_enum(server: dict, registered: dict, tmp_path: Path) -> None:
    """The model's only value is PermissionsBoundaryPolicy, but AWS answers "Policy" (the AWS CLI's own examples, and
    LocalStack's recordings of GetRole against AWS): clients compare with what AWS sends."""
    iam = client(server, "iam")
    boundary = iam.create_policy(PolicyName="FieldsBoundary", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    iam.create_role(RoleName="Bounded", AssumeRolePolicyDocument=TRUST_POLICY, PermissionsBoundary=boundary)
    enum = botocore.session.get_session().get_service_model("iam").shape_for("PermissionsBoundaryAttachmentType").enum
    assert enum == ["PermissionsBoundaryPolicy"]
    expected = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert iam.get_role(RoleName="Bounded")["Role"]["PermissionsBoundary"] == expected
    assert aws_cli(server, tmp_path, "get-role", "--role-name", "Bounded")["Role"]["PermissionsBoundary"] == expected


def test_get_and_list_policies_count_boundary_uses(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    arn = iam.create_policy(PolicyName="CountedBoundary", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    iam.create_role(RoleName="CountsBoundary", AssumeRolePolicyDocument=TRUST_POLICY, PermissionsBoundary=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    listed = {p["Arn"]: p for p in iam.list_policies(Scope="Local")["Policies"]}
    assert listed[arn]["PermissionsBoundaryUsageCount"] == 1
    iam.delete_role_permissions_boundary(RoleName="CountsBoundary")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 0


def test_a_boundary_in_use_is_not_deleted(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    arn = iam.create_policy(PolicyName="UsedBoundary", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    iam.create_role(RoleName="UsesBoundary", AssumeRolePolicyDocument=TRUST_POLICY, PermissionsBoundary=arn)
    assert error_of(lambda: iam.delete_policy(PolicyArn=arn)) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.delete_role_permissions_boundary(RoleName="UsesBoundary")
    iam.delete_policy(PolicyArn=arn)


def test_a_loop_that_deletes_what_it_lists_deletes_everything(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    names = [f"Cleanup{i}" for i in range(7)]
    for name in names:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_POLICY, Path="/cleanup/")
    deleted = []
    for page in iam.get_paginator("list_roles").paginate(PathPrefix="/cleanup/", PaginationConfig={"PageSize": 2}):
        for role in page["Roles"]:
            iam.delete_role(RoleName=role["RoleName"])
            deleted.append(role["RoleName"])
    assert deleted == names
    assert iam.list_roles(PathPrefix="/cleanup/")["Roles"] == []


def test_a_marker_of_another_operation_is_refused(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    for index in range(3):
        iam.create_policy(PolicyName=f"Marked{index}", PolicyDocument=ALLOW_ALL, Path="/marked/")
    marker = iam.list_policies(PathPrefix="/marked/", MaxItems=1)["Marker"]
    assert [p["PolicyName"] for p in iam.list_policies(PathPrefix="/marked/", MaxItems=5, Marker=marker)["Policies"]] == ["Marked1", "Marked2"]
    assert error_of(lambda: iam.list_roles(Marker=marker)) == ("ValidationError", "Invalid Marker", 400)
    assert error_of(lambda: iam.list_account_aliases(Marker=marker)) == ("ValidationError", "Invalid Marker", 400)


def test_list_policies_scope_outside_the_model_enum(server: dict, registered: dict) -> None:
    expected = "1 validation error detected: Value 'Mine' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
    assert error_of(lambda: unvalidated_iam(server).list_policies(Scope="Mine")) == ("ValidationError", expected, 400)


def test_update_saml_provider_with_short_metadata_is_a_validation_error(server: dict, registered: dict) -> None:
    iam = unvalidated_iam(server)
    expected = "1 validation error detected: Value at 'sAMLMetadataDocument' failed to satisfy constraint: Member must have length greater than or equal to 1000"
    assert error_of(lambda: iam.update_saml_provider(SAMLProviderArn=PROVIDER_ARN, SAMLMetadataDocument="<x/>")) == ("ValidationError", expected, 400)


def test_update_saml_provider_replaces_the_keys_and_recomputes_valid_until(server: dict, registered: dict, tmp_path: Path) -> None:
    iam = client(server, "iam")
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    rotated = build_idp_metadata(ENTITY_ID, [signer("rotated").certificate], valid_until=later).decode()
    iam.update_saml_provider(SAMLProviderArn=PROVIDER_ARN, SAMLMetadataDocument=rotated)
    try:
        provider = aws_cli(server, tmp_path, "get-saml-provider", "--saml-provider-arn", PROVIDER_ARN)
        on_the_wire = later.strftime("%Y-%m-%dT%H:%M:%SZ")  # the CLI prints the timestamp as received
        assert provider["ValidUntil"] == on_the_wire and provider["SAMLMetadataDocument"] == rotated
        listed = aws_cli(server, tmp_path, "list-saml-providers")["SAMLProviderList"]
        assert [(p["Arn"], p["ValidUntil"]) for p in listed] == [(PROVIDER_ARN, on_the_wire)]
        stale = response_b64(issue_instant=datetime.now(UTC))  # signed with the key the update removed
        assert error_of(lambda: unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=stale))[:2] == (
            "InvalidIdentityToken", "Response signature invalid",
        )
    finally:
        iam.update_saml_provider(SAMLProviderArn=PROVIDER_ARN, SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, [signer().certificate]).decode())
    # Metadata without validUntil: AWS still answers a ValidUntil (the JavaScript SDK probe; LocalStack's recordings
    # against AWS), here 100 years of 365 days after CreateDate, in both answers.
    provider = iam.get_saml_provider(SAMLProviderArn=PROVIDER_ARN)
    assert provider["ValidUntil"] == provider["CreateDate"] + timedelta(days=36500)
    assert [p["ValidUntil"] for p in iam.list_saml_providers()["SAMLProviderList"] if p["Arn"] == PROVIDER_ARN] == [provider["ValidUntil"]]

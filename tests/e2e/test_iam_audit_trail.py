"""Every IAM call that changes something leaves one audit line (who, what, from where, the digest of any document);
read-only calls and refused changes leave none."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime

import pytest
from e2e_setup import ACCOUNT, TRUST_POLICY, client, error_of, unsigned_sts
from saml_factory import ENTITY_ID, PROVIDER_ARN, response_b64, signer
from test_boto3 import signed_extension_call

from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import JsonFormatter

ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def changes(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "samlfed.audit"]


def test_changes_are_recorded_and_reads_are_not(server: dict, caplog: pytest.LogCaptureFixture) -> None:
    iam = client(server, "iam")
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    with caplog.at_level(logging.INFO, logger="samlfed.audit"):
        arn = iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="AuditIdP")["SAMLProviderArn"]
        iam.create_role(RoleName="Audited", AssumeRolePolicyDocument=TRUST_POLICY)
        iam.get_role(RoleName="Audited")
        iam.list_roles()
        iam.tag_role(RoleName="Audited", Tags=[{"Key": "team", "Value": "platform"}])
        assert error_of(lambda: iam.create_role(RoleName="Broken", AssumeRolePolicyDocument="{not json"))[0] == "MalformedPolicyDocument"
        options = {"Action": "SetSAMLProviderValidationOptions", "SAMLProviderArn": arn, "AllowLegacyAlgorithms": "true"}
        assert signed_extension_call(server, options).status_code == 200
        iam.delete_role(RoleName="Audited")
    recorded = changes(caplog)
    assert [r.action for r in recorded] == ["CreateSAMLProvider", "CreateRole", "TagRole", "SetSAMLProviderValidationOptions", "DeleteRole"]
    assert {r.principal for r in recorded} == {ROOT} and {r.outcome for r in recorded} == {"changed"}
    assert {r.access_key_id for r in recorded} == {server["admin"].access_key_id}
    provider, role, _, loosened, deleted = recorded
    assert provider.resource == arn and provider.saml_metadata_document_sha256 == hashlib.sha256(metadata.encode()).hexdigest()
    assert role.resource == f"arn:aws:iam::{ACCOUNT}:role/Audited"
    assert role.assume_role_policy_document_sha256 == hashlib.sha256(TRUST_POLICY.encode()).hexdigest()
    assert f"AssumeRolePolicyDocument=sha256:{role.assume_role_policy_document_sha256[:16]}" in role.getMessage()
    assert (loosened.resource, loosened.allow_legacy_algorithms) == (arn, "true")
    assert "AllowLegacyAlgorithms='true'" in loosened.getMessage()
    assert deleted.resource == f"arn:aws:iam::{ACCOUNT}:role/Audited"
    assert all(r.source_ip == "127.0.0.1" and len(r.request_id) == 36 for r in recorded)
    # The JSON log carries the same, as strings, and no document itself.
    entry = json.loads(JsonFormatter().format(role))
    assert (entry["action"], entry["outcome"], entry["principal"], entry["resource"]) == ("CreateRole", "changed", ROOT, role.resource)
    assert TRUST_POLICY not in json.dumps(entry) and "Federated" not in json.dumps(entry)
    signed_extension_call(server, {**options, "AllowLegacyAlgorithms": "false"})


def test_sign_ins_are_not_iam_changes(server: dict, registered: dict, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="samlfed.audit"):
        unsigned_sts(server).assume_role_with_saml(
            RoleArn=registered["role"]["Arn"], PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC)),
        )
        client(server, "sts").get_caller_identity()
    assert changes(caplog) == []


def test_a_role_session_is_recorded_by_its_assumed_role_arn() -> None:
    from samlfed.api.audit import record_iam_change
    from samlfed.api.auth import Session
    from samlfed.api.protocol import QueryRequest
    from samlfed.sts.credentials import SessionClaims

    claims = SessionClaims(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/Admin", "AROAEXAMPLE", "alice", 1, 2)
    request = QueryRequest(action="DeleteAccountAlias", version="2010-05-08", params={"AccountAlias": "acme"}, source_ip="192.0.2.1")
    with _records() as records:
        record_iam_change(Session(claims, "ASIAEXAMPLE", "us-east-1"), request, "req-1", "*")
    (line,) = records
    assert (line.principal, line.access_key_id, line.resource) == (claims.assumed_role_arn, "ASIAEXAMPLE", "*")


class _records:
    """The audit records logged inside the block."""

    def __enter__(self) -> list[logging.LogRecord]:
        self.records: list[logging.LogRecord] = []
        self.handler = logging.Handler()
        self.handler.emit = self.records.append  # type: ignore[method-assign]
        logger = logging.getLogger("samlfed.audit")
        self.level = logger.level
        logger.addHandler(self.handler)
        logger.setLevel(logging.INFO)
        return self.records

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("samlfed.audit")
        logger.removeHandler(self.handler)
        logger.setLevel(self.level)


def test_a_change_that_cannot_be_recorded_still_answers_and_says_so(server: dict, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from samlfed.api import audit

    class Failing(logging.Logger):
        def info(self, *_: object, **__: object) -> None:
            raise RuntimeError("the log handler went away")

    monkeypatch.setattr(audit, "log", Failing("samlfed.audit"))
    iam = client(server, "iam")
    with caplog.at_level(logging.INFO):
        iam.create_account_alias(AccountAlias="audit-failure")
    assert "audit-failure" in iam.list_account_aliases()["AccountAliases"]  # the change is made and answered
    failed = [r for r in caplog.records if r.getMessage().startswith("could not record the IAM change CreateAccountAlias")]
    assert len(failed) == 1 and failed[0].levelname == "ERROR" and failed[0].exc_info is not None
    iam.delete_account_alias(AccountAlias="audit-failure")


def test_the_resource_is_named_before_the_change(server: dict, caplog: pytest.LogCaptureFixture) -> None:
    """A deleted role with a path is recorded by its whole ARN: the record reads nothing after the change (a read there
    had lost the path, and when the database failed, the whole record)."""
    iam = client(server, "iam")
    arn = iam.create_role(RoleName="PathedAudit", Path="/team/ops/", AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]
    with caplog.at_level(logging.INFO, logger="samlfed.audit"):
        caplog.clear()  # the set-up's own line, when an earlier test left the audit logger at INFO
        iam.delete_role(RoleName="PathedAudit")
    (deleted,) = changes(caplog)
    assert (deleted.action, deleted.resource) == ("DeleteRole", arn) and arn == f"arn:aws:iam::{ACCOUNT}:role/team/ops/PathedAudit"


def test_policy_version_changes_name_the_version(server: dict, caplog: pytest.LogCaptureFixture) -> None:
    iam = client(server, "iam")
    v1 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    v2 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="AuditedVersions", PolicyDocument=v1)["Policy"]["Arn"]
    with caplog.at_level(logging.INFO, logger="samlfed.audit"):
        caplog.clear()  # as above
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=v2, SetAsDefault=True)
        iam.list_policy_versions(PolicyArn=arn)
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    created, default, deleted = changes(caplog)
    assert (created.action, created.set_as_default, created.policy_document_sha256) == (
        "CreatePolicyVersion", "true", hashlib.sha256(v2.encode()).hexdigest()
    )
    assert (default.action, default.version_id, default.resource) == ("SetDefaultPolicyVersion", "v1", arn)
    assert (deleted.action, deleted.version_id) == ("DeletePolicyVersion", "v2")
    iam.delete_policy(PolicyArn=arn)


"""A role session's IAM call is authorized on the resource the action acts on, named by the action's own
parameter: a parameter the action ignores (RoleName sent along with DeleteSAMLProvider) cannot choose what is
authorized, or what the audit trail names (found by probing: `iam:*` on `role/sandbox-*` plus an unused
`RoleName=sandbox-x` deleted providers and policies)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread
from service_world import developer_world

from samlfed.api import handlers
from samlfed.api.app import build_app
from samlfed.api.iam_access import ACCOUNT_ACTIONS, POLICY_ACTIONS, PRINCIPAL_ACTIONS, PROVIDER_ACTIONS, ROLE_ACTIONS
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_access_key
from samlfed.iam.managed_policies import create_policy, get_policy
from samlfed.iam.provider_options import provider_policy
from samlfed.iam.role_policies import put_role_policy
from samlfed.iam.roles import create_role, get_role
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

SANDBOX_ONLY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/sandbox-*"}]}
)
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[ServiceContext, str, Credentials]]:
    ctx = developer_world(Settings(data_dir=tmp_path))
    put_role_policy(ctx, ACCOUNT, "Developer", "sandbox", SANDBOX_ONLY)
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
    issued = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials
    with app_in_thread(build_app(ctx)) as url:
        yield ctx, url, Credentials(issued.access_key_id, issued.secret_access_key, issued.session_token)


def call(url: str, credentials: Credentials, action: str, *, region: str = "us-east-1", **parameters: str) -> httpx.Response:
    body = urlencode({"Action": action, "Version": "2010-05-08", **parameters}).encode()
    request = AWSRequest(method="POST", url=url + "/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(credentials, "iam", region).add_auth(request)
    return httpx.post(url + "/", content=body, headers=dict(request.headers.items()))


def test_an_unused_role_name_does_not_authorize_a_provider_or_policy_action(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url, session = world
    policy = create_policy(ctx, ACCOUNT, "Everything", ALLOW_ALL)
    for action, parameters in [
        ("SetSAMLProviderValidationOptions", {"SAMLProviderArn": PROVIDER_ARN, "AllowLegacyAlgorithms": "true"}),
        ("UpdateSAMLProvider", {"SAMLProviderArn": PROVIDER_ARN, "SAMLMetadataDocument": "<x/>" * 300}),
        ("DeleteSAMLProvider", {"SAMLProviderArn": PROVIDER_ARN}),
        ("DeletePolicy", {"PolicyArn": policy.arn}),
    ]:
        answer = call(url, session, action, RoleName="sandbox-x", **parameters)
        assert answer.status_code == 403, (action, answer.text)
        shown = "policy " if action == "DeletePolicy" else ""  # AWS names a managed policy `policy ARN`
        assert f"is not authorized to perform: iam:{action} on resource: {shown}arn:aws:iam::{ACCOUNT}:" in answer.text
        assert "role/sandbox-x" not in answer.text
    # nothing changed
    assert ctx.store.get_provider(PROVIDER_ARN).arn == PROVIDER_ARN
    assert not provider_policy(ctx.store.get_provider(PROVIDER_ARN)).allow_legacy_algorithms
    assert get_policy(ctx, ACCOUNT, policy.arn).arn == policy.arn


def test_the_role_it_names_is_still_what_a_role_action_is_authorized_on(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url, session = world
    create_role(ctx, ACCOUNT, "sandbox-x", json.loads(json.dumps(get_role(ctx, ACCOUNT, "Developer").trust_policy)))
    assert call(url, session, "TagRole", RoleName="sandbox-x", **{"Tags.member.1.Key": "k", "Tags.member.1.Value": "v"}).status_code == 200
    # a provider ARN sent along does not make the role action a provider action either
    denied = call(url, session, "TagRole", RoleName="Developer", SAMLProviderArn=PROVIDER_ARN, **{"Tags.member.1.Key": "k", "Tags.member.1.Value": "v"})
    assert denied.status_code == 403 and f"on resource: arn:aws:iam::{ACCOUNT}:role/Developer" in denied.text


def test_every_iam_action_has_its_resource_kind() -> None:
    kinds = [ROLE_ACTIONS, PROVIDER_ACTIONS, POLICY_ACTIONS, PRINCIPAL_ACTIONS, ACCOUNT_ACTIONS]
    classified = [action for kind in kinds for action in kind]
    assert len(classified) == len(set(classified))  # each in exactly one
    assert set(classified) == set(handlers.IAM)


def test_the_audit_trail_names_the_resource_acted_on_not_a_parameter_sent_along(world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """A RoleName sent with an action that ignores it once became the audit line's resource, newline and all: a
    forged second line in the text log."""
    ctx, url, _ = world
    admin = create_access_key(ctx, ACCOUNT)
    forged = "x\nIAM change DeleteRole principal=mallory resource=arn:aws:iam::111111111111:role/Admin"
    with caplog.at_level("INFO", logger="samlfed.audit"):
        answer = call(url, Credentials(admin.access_key_id, admin.secret_access_key), "CreateAccountAlias", AccountAlias="acme-sandbox", RoleName=forged)
    assert answer.status_code == 200, answer.text
    [record] = [r for r in caplog.records if r.name == "samlfed.audit"]
    assert record.resource == "*" and "\n" not in record.getMessage()


def test_an_iam_call_carries_the_region_it_was_signed_for(world) -> None:  # type: ignore[no-untyped-def]
    """aws:RequestedRegion, as in every other request of a role session: a region-lock Deny applies to IAM calls too."""
    ctx, url, session = world
    locked = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}
    put_role_policy(ctx, ACCOUNT, "Developer", "sandbox", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}, locked]}))
    assert call(url, session, "GetRole", RoleName="Developer").status_code == 200
    refused = call(url, session, "GetRole", region="eu-west-1", RoleName="Developer")
    assert refused.status_code == 403 and "explicit deny" in refused.text

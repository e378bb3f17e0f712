"""Every action with parameters drawn at random (hypothesis), signed by an account administrator: the answer is
always AWS-shaped XML with a 2xx or 4xx status, never a 500, and afterwards the account still works."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import botocore.session
import pytest
from asgi_driver import signed_query as call
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from postgres_scratch import scratch_schema
from saml_factory import DEV_ROLE, ENTITY_ID, PROVIDER_ARN, response_b64, signer
from service_world import TRUST

from samlfed.api import handlers
from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.iam.managed_policies import create_policy
from samlfed.iam.providers import create_saml_provider
from samlfed.iam.role_policies import get_role_policy, list_role_policies, put_role_policy
from samlfed.iam.roles import create_role, get_role, list_roles
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

ACCOUNT = "111111111111"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Kept"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})

ACTIONS = sorted({*handlers.STS, *handlers.IAM})
NAMES = [
    "RoleName", "PolicyName", "PolicyArn", "PolicyDocument", "AssumeRolePolicyDocument", "SAMLMetadataDocument", "Name",
    "SAMLProviderArn", "RoleArn", "PrincipalArn", "SAMLAssertion", "RoleSessionName", "DurationSeconds", "Policy",
    "MaxSessionDuration", "Description", "Path", "PathPrefix", "Marker", "MaxItems", "AccountAlias", "VersionId", "Scope",
    "OnlyAttached", "PermissionsBoundary", "AttributeMapping", "AssertionEncryptionMode", "AddPrivateKey", "RemovePrivateKey",
    "PolicySourceArn", "CallerArn", "ResourcePolicy", "Tags.member.1.Key", "Tags.member.1.Value", "Tags.member.2.Key",
    "TagKeys.member.1", "PolicyArns.member.1.arn", "ActionNames.member.1", "ResourceArns.member.1", "PolicyInputList.member.1",
    "PermissionsBoundaryPolicyInputList.member.1", "ContextEntries.member.1.ContextKeyName",
    "ContextEntries.member.1.ContextKeyValues.member.1", "ContextEntries.member.1.ContextKeyType",
]
# Valid values (so that calls get past the first checks and reach the deeper ones) and hostile ones.
VALUES = st.one_of(
    st.sampled_from([
        "Kept", "Other", ROLE_ARN, PROVIDER_ARN, f"arn:aws:iam::{ACCOUNT}:policy/Kept", "arn:aws:iam::aws:policy/ReadOnlyAccess",
        TRUST, POLICY, "{}", "[]", '{"Version":"2012-10-17","Statement":[]}', "null", "/", "/a/", "v1", "v2", "All", "AWS", "Local",
        "true", "false", "0", "1", "900", "3600", "43200", "-1", "99999999999999999999", "\u00b2", "1_000", "string", "numeric",
        "date", "boolean", "ipaddress", "stringList", "sts:AssumeRoleWithSAML", "s3:GetObject", "*", "arn:aws:s3:::b/k",
        '{"email":["mail"]}', '{"a":"b"}', "Allowed", "Disabled", "session", "c2FtbGZlZDox", "samlfed:-5", "",
        "[" * 3000, '{"a":' * 1500, "1" * 5000, '{"email":[' + "9" * 5000 + "]}",  # JSON beyond what json.loads reads
    ]),
    st.text(max_size=30),
    st.text(alphabet="<>&'\"{}[]:/*?$\\%\x00\x7f\u00e9", max_size=12),
)
REQUIRED = {
    "AssumeRoleWithSAML": ["RoleArn", "PrincipalArn", "SAMLAssertion"], "AssumeRole": ["RoleArn", "RoleSessionName"],
    "CreateSAMLProvider": ["SAMLMetadataDocument", "Name"], "GetSAMLProvider": ["SAMLProviderArn"],
    "DeleteSAMLProvider": ["SAMLProviderArn"], "CreateRole": ["RoleName", "AssumeRolePolicyDocument"], "GetRole": ["RoleName"],
    "DeleteRole": ["RoleName"], "UpdateRole": ["RoleName"], "UpdateAssumeRolePolicy": ["RoleName", "PolicyDocument"],
    "TagRole": ["RoleName"], "UntagRole": ["RoleName"], "ListRoleTags": ["RoleName"],
    "PutRolePolicy": ["RoleName", "PolicyName", "PolicyDocument"], "GetRolePolicy": ["RoleName", "PolicyName"],
    "ListRolePolicies": ["RoleName"], "DeleteRolePolicy": ["RoleName", "PolicyName"], "UpdateSAMLProvider": ["SAMLProviderArn"],
    "TagSAMLProvider": ["SAMLProviderArn"], "UntagSAMLProvider": ["SAMLProviderArn"], "ListSAMLProviderTags": ["SAMLProviderArn"],
    "CreateAccountAlias": ["AccountAlias"], "DeleteAccountAlias": ["AccountAlias"], "CreatePolicy": ["PolicyName", "PolicyDocument"],
    "GetPolicy": ["PolicyArn"], "GetPolicyVersion": ["PolicyArn", "VersionId"], "DeletePolicy": ["PolicyArn"],
    "AttachRolePolicy": ["RoleName", "PolicyArn"], "DetachRolePolicy": ["RoleName", "PolicyArn"],
    "ListAttachedRolePolicies": ["RoleName"], "SetSAMLProviderAttributeMapping": ["SAMLProviderArn"],
    "GetSAMLProviderAttributeMapping": ["SAMLProviderArn"], "SetSAMLProviderValidationOptions": ["SAMLProviderArn"],
    "GetSAMLProviderValidationOptions": ["SAMLProviderArn"], "PutRolePermissionsBoundary": ["RoleName", "PermissionsBoundary"],
    "DeleteRolePermissionsBoundary": ["RoleName"], "SimulatePrincipalPolicy": ["PolicySourceArn"],
}
"""The parameters each action insists on (from handlers.parameters.required): drawn mostly plausible, so that calls get past
the first check and reach the deeper ones."""
METADATA = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
PLAUSIBLE = {
    "RoleName": ["Kept", "Other"], "RoleArn": [DEV_ROLE, ROLE_ARN], "PrincipalArn": [PROVIDER_ARN],
    "SAMLProviderArn": [PROVIDER_ARN], "SAMLAssertion": ["genuine"], "SAMLMetadataDocument": [METADATA], "Name": ["OtherIdP"],
    "PolicyName": ["Inline", "Kept"], "PolicyDocument": [POLICY, TRUST], "AssumeRolePolicyDocument": [TRUST],
    "PolicyArn": [f"arn:aws:iam::{ACCOUNT}:policy/Kept"], "PermissionsBoundary": [f"arn:aws:iam::{ACCOUNT}:policy/Kept"],
    "PolicySourceArn": [ROLE_ARN], "VersionId": ["v1"], "AccountAlias": ["my-alias"], "RoleSessionName": ["session"],
}


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    action = draw(st.sampled_from(ACTIONS))
    parameters = draw(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
    for name in REQUIRED.get(action, []):
        parameters[name] = draw(st.sampled_from(PLAUSIBLE[name]) | VALUES) if draw(st.integers(0, 4)) else draw(VALUES)
    return action, parameters


def _world(data_dir: Path, database_url: str | None = None) -> dict:
    """An account with a SAML provider, a role with an inline policy and a managed policy; its admin's key."""
    ctx = build_context(Settings(data_dir=data_dir, database_url=database_url))
    admin = create_account(ctx, ACCOUNT)
    create_saml_provider(ctx, ACCOUNT, "ExampleIdP", METADATA)
    create_role(ctx, ACCOUNT, "Kept", TRUST)
    create_role(ctx, ACCOUNT, "Developer", TRUST)  # a role the genuine assertion offers
    put_role_policy(ctx, ACCOUNT, "Kept", "Inline", POLICY)
    create_policy(ctx, ACCOUNT, "Kept", POLICY)
    return {
        "app": build_app(ctx), "ctx": ctx, "credentials": Credentials(admin.access_key_id, admin.secret_access_key),
        "genuine": response_b64(issue_instant=datetime.now(UTC)),  # redeemable for five minutes, from the module's first test
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What the fuzzing works on (and may delete)."""
    return _world(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A world no fuzzing touched: the entities the calls name exist, so the calls get as far as the JSON."""
    return _world(tmp_path_factory.mktemp("intact"))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests())
def test_any_parameters_to_any_action_get_an_aws_answer(world: dict, request: tuple[str, dict[str, str]]) -> None:
    action, parameters = request
    if parameters.get("SAMLAssertion") == "genuine":
        parameters["SAMLAssertion"] = world["genuine"]
    status, body = call(world["app"], world["credentials"], action, parameters)
    assert status < 500, (action, parameters, body[:500])
    root = etree.fromstring(body)
    assert root.tag.endswith("Response"), body[:300]
    if status >= 400:
        code = root.findtext("{*}Error/{*}Code")
        # every error says what is wrong, but MalformedInput, which AWS sends without a Message
        assert code and (root.find("{*}Error/{*}Message") is not None) == (code != "MalformedInput"), body[:300]


def test_the_account_still_works_after_the_fuzzing(world: dict) -> None:
    """Runs after the fuzzing (file order): whatever the calls did, the administrator still signs in, every role the
    store lists it also gets, and every inline policy it holds still parses."""
    ctx = world["ctx"]
    status, body = call(world["app"], world["credentials"], "GetCallerIdentity", {})
    assert status == 200 and f"<Account>{ACCOUNT}</Account>".encode() in body
    for role in list_roles(ctx, ACCOUNT):
        assert get_role(ctx, ACCOUNT, role.name) == role
        for name in list_role_policies(ctx, ACCOUNT, role.name):
            json.loads(get_role_policy(ctx, ACCOUNT, role.name, name))


DEEP_JSON = ["[" * 3000, '{"a":' * 1500, "1" * 5000, '{"Version":"2012-10-17","Statement":[' + "9" * 5000 + "]}"]
JSON_PARAMETERS = [
    ("SetSAMLProviderAttributeMapping", {"SAMLProviderArn": PROVIDER_ARN}, "AttributeMapping"),
    ("CreateRole", {"RoleName": "Deep"}, "AssumeRolePolicyDocument"),
    ("UpdateAssumeRolePolicy", {"RoleName": "Kept"}, "PolicyDocument"),
    ("PutRolePolicy", {"RoleName": "Kept", "PolicyName": "Deep"}, "PolicyDocument"),
    ("CreatePolicy", {"PolicyName": "Deep"}, "PolicyDocument"),
    ("SimulateCustomPolicy", {"ActionNames.member.1": "s3:GetObject"}, "PolicyInputList.member.1"),
    ("SimulateCustomPolicy", {"ActionNames.member.1": "s3:GetObject", "PolicyInputList.member.1": POLICY}, "ResourcePolicy"),
    ("SimulatePrincipalPolicy", {"PolicySourceArn": ROLE_ARN, "ActionNames.member.1": "s3:GetObject"}, "PolicyInputList.member.1"),
    ("AssumeRoleWithSAML", {"RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN, "SAMLAssertion": "genuine"}, "Policy"),
]


@pytest.mark.parametrize(("action", "parameters", "json_parameter"), JSON_PARAMETERS, ids=[f"{a}-{j}" for a, _, j in JSON_PARAMETERS])
def test_json_that_json_loads_cannot_read_is_a_client_error(intact: dict, action: str, parameters: dict[str, str], json_parameter: str) -> None:
    """json.loads fails on these with RecursionError or a ValueError that is not a JSONDecodeError."""
    if parameters.get("SAMLAssertion") == "genuine":
        parameters = {**parameters, "SAMLAssertion": intact["genuine"]}
    for document in DEEP_JSON:
        status, body = call(intact["app"], intact["credentials"], action, {**parameters, json_parameter: document})
        assert 400 <= status < 500 and b"<Error>" in body, (action, document[:20], body[:300])


SIGNED_HEADERS = [b"authorization", b"x-amz-date", b"x-amz-security-token", b"host", b"content-type"]
HEADER_VALUES = st.one_of(
    st.sampled_from(["", "AWS4-HMAC-SHA256", "20260101T000000Z", "x" * 9000, "\u00e9" * 64, "\u00b2"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
)


def _authorization(credentials: Credentials, action: str) -> str:
    """An Authorization header as botocore writes it for `action` with these credentials."""
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=b"")
    SigV4Auth(credentials, "sts" if action in handlers.STS else "iam", "us-east-1").add_auth(request)
    return request.headers["Authorization"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["GetCallerIdentity", "ListRoles", "AssumeRoleWithSAML"]), st.sampled_from(SIGNED_HEADERS),
       st.sampled_from([None, "Credential", "SignedHeaders", "Signature"]), HEADER_VALUES)
def test_tampered_signature_headers_get_an_aws_error(world: dict, action: str, header: bytes, part: str | None, value: str) -> None:
    """A signed request whose header, or one part of its Authorization header, is replaced after signing (latin-1, as
    HTTP carries headers): an AWS error (AssumeRoleWithSAML ignores signatures), never a 500."""
    if part is None:
        overrides = {header: value.encode("latin-1")}
    else:
        authorization = re.sub(rf"{part}=[^,]*", lambda _: f"{part}={value}", _authorization(world["credentials"], action))
        overrides = {b"authorization": authorization.encode("latin-1")}
    status, body = call(world["app"], world["credentials"], action, {}, overrides=overrides)
    assert status < 500, (header, part, value, body[:300])
    assert etree.fromstring(body).tag.endswith("Response")


EXTENSION_PARAMETERS = {
    "SetSAMLProviderAttributeMapping": ["SAMLProviderArn", "AttributeMapping"], "GetSAMLProviderAttributeMapping": ["SAMLProviderArn"],
    "SetSAMLProviderValidationOptions": ["SAMLProviderArn", "AllowLegacyAlgorithms", "AllowResponseOnlySignature", "RequireConditionBounds"],
    "GetSAMLProviderValidationOptions": ["SAMLProviderArn"],
}
"""samlfed's own actions, which botocore's models do not describe."""


def _parameters_of(action: str) -> list[str]:
    """The names of NAMES (and the extensions' own) that `action` reads, by its botocore model."""
    if action in EXTENSION_PARAMETERS:
        return EXTENSION_PARAMETERS[action]
    model = botocore.session.get_session().get_service_model("sts" if action in handlers.STS else "iam")
    members = model.operation_model(action).input_shape.members if model.operation_model(action).input_shape else {}
    return [name for name in NAMES if name.partition(".")[0] in members]


NUL_CASES = [(action, name) for action in ACTIONS for name in _parameters_of(action)]


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The intact world on PostgreSQL, whose text cannot hold U+0000 at all (SQLite's can)."""
    with scratch_schema("samlfed_nul") as url:
        world = _world(tmp_path_factory.mktemp("nul"), url)
        try:
            yield world
        finally:
            world["ctx"].store.engine.dispose()


@pytest.mark.parametrize(("action", "name"), NUL_CASES, ids=[f"{a}-{n}" for a, n in NUL_CASES])
def test_a_nul_in_any_parameter_is_a_client_error_on_postgresql(on_postgres: dict, action: str, name: str) -> None:
    """The audit and authorization lookups read RoleName, SAMLProviderArn and PolicyArn before the handler checks
    them, and PostgreSQL refused the NUL in the query itself: 500 InternalFailure, with a traceback in the log."""
    parameters = {required: PLAUSIBLE[required][0] for required in REQUIRED.get(action, [])}
    if parameters.get("SAMLAssertion") == "genuine":
        parameters["SAMLAssertion"] = on_postgres["genuine"]
    parameters[name] = PLAUSIBLE.get(name, ["x"])[0][:64] + "\x00"
    status, body = call(on_postgres["app"], on_postgres["credentials"], action, parameters)
    assert status < 500, (status, body[:500])
    if not action.startswith("Simulate"):  # a simulation may evaluate any action name or context value, and echo it
        assert status >= 400, body[:500]
    if name == "RoleName":  # the handler's validation answers, in AWS's words, not a lookup that ran before it
        assert b"<Code>ValidationError</Code>" in body, body[:500]


@pytest.mark.parametrize("action", ["ListRoles", "ListPolicies", "GetAccountAuthorizationDetails", "ListRoleTags"])
def test_a_marker_naming_a_key_with_a_nul_is_invalid_on_postgresql(on_postgres: dict, action: str) -> None:
    """The lists the database pages put the Marker's key in their query."""
    marker = base64.urlsafe_b64encode(f"samlfed:{action}:\x00".encode()).decode()
    parameters = {"Marker": marker, **({"RoleName": "Kept"} if action == "ListRoleTags" else {})}
    status, body = call(on_postgres["app"], on_postgres["credentials"], action, parameters)
    assert status == 400 and b"<Message>Invalid Marker</Message>" in body, body[:500]

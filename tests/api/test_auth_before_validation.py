"""A signed action authenticates before its parameters are checked, as AWS does: a caller without a valid signature
learns that it has none (MissingAuthenticationToken, InvalidClientTokenId, SignatureDoesNotMatch), never which of
its parameters the operation would refuse. AssumeRoleWithSAML takes no signature, so its parameters answer at once."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from asgi_driver import asgi_call, signed_query
from botocore.credentials import Credentials

from samlfed.api import handlers
from samlfed.api.app import QueryApi, build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context

BAD_PARAMETERS = [
    ("CreateRole", {"RoleName": "not a name", "AssumeRolePolicyDocument": "{}"}),
    ("GetRole", {}),  # RoleName missing
    ("ListRoles", {"MaxItems": "0"}),
    ("TagRole", {"RoleName": "Developer", "Tags.member.0.Key": "k", "Tags.member.0.Value": "v"}),  # no member 0
]
STS_BAD_PARAMETERS = {"RoleArn": "x", "RoleSessionName": "s", "DurationSeconds": "1"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[QueryApi, Credentials]:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("order")))
    key = create_account(ctx, "111111111111")
    return build_app(ctx), Credentials(key.access_key_id, key.secret_access_key)


def code_of(body: bytes) -> str:
    found = re.search(rb"<Code>(.*?)</Code>", body)
    assert found is not None, body
    return found.group(1).decode()


def unsigned(app: QueryApi, action: str, parameters: dict[str, str]) -> tuple[int, str]:
    version = "2011-06-15" if action in handlers.STS else "2010-05-08"
    form = urlencode({"Action": action, "Version": version, **parameters}).encode()
    start, body = asgi_call(app, "POST", "/", [form], [(b"content-type", b"application/x-www-form-urlencoded")])
    return start["status"], code_of(body["body"])


@pytest.mark.parametrize(("action", "parameters"), BAD_PARAMETERS)
def test_authentication_answers_before_the_parameters(world: tuple[QueryApi, Credentials], action: str, parameters: dict[str, str]) -> None:
    app, credentials = world
    status, body = signed_query(app, credentials, action, parameters)
    assert (status, code_of(body)) == (400, "ValidationError")  # the parameters are bad: the signer is told so
    assert_refused_unauthenticated(app, credentials, action, parameters)


def test_an_sts_call_authenticates_before_its_parameters(world: tuple[QueryApi, Credentials]) -> None:
    assert_refused_unauthenticated(*world, "AssumeRole", STS_BAD_PARAMETERS)


def assert_refused_unauthenticated(app: QueryApi, credentials: Credentials, action: str, parameters: dict[str, str]) -> None:
    assert unsigned(app, action, parameters) == (403, "MissingAuthenticationToken")
    status, body = signed_query(app, Credentials("AKIAUNKNOWNKEY000000", credentials.secret_key), action, parameters)
    assert (status, code_of(body)) == (403, "InvalidClientTokenId")
    status, body = signed_query(app, Credentials(credentials.access_key, "wrong" + credentials.secret_key[5:]), action, parameters)
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")


def test_assume_role_with_saml_checks_its_parameters_unsigned(world: tuple[QueryApi, Credentials]) -> None:
    app, _ = world
    assert unsigned(app, "AssumeRoleWithSAML", {"RoleArn": "", "PrincipalArn": "", "SAMLAssertion": "x"}) == (400, "ValidationError")


@pytest.mark.parametrize("parameters", [
    {"RoleArn": "arn:aws:iam::111111111111:role/Target"},  # RoleSessionName missing
    {"RoleArn": "arn:aws:iam::111111111111:role/Target", "RoleSessionName": "s"},  # too short: malformed
    {"RoleArn": "arn:aws:iam::111111111111:role/Target", "RoleSessionName": "ok", "DurationSeconds": "1"},
])
def test_an_administrator_key_is_told_of_bad_parameters_before_it_is_refused(world: tuple[QueryApi, Credentials], parameters: dict[str, str]) -> None:
    """AWS reports a missing parameter and a malformed one in the same ValidationError, so the two answer alike to the
    account's administrator (root) key; before, a missing one did and a malformed one got the root refusal."""
    app, credentials = world
    status, body = signed_query(app, credentials, "AssumeRole", parameters)
    assert (status, code_of(body)) == (400, "ValidationError")
    status, body = signed_query(app, credentials, "AssumeRole", {**parameters, "RoleSessionName": "fine", "DurationSeconds": "900"})
    assert (status, code_of(body)) == (403, "AccessDenied")  # well formed: the root caller is refused

"""What the query API accepts on the wire besides the parameters: the methods, the credential scope's region and
the Authorization header's grammar, with requests botocore signed."""

from __future__ import annotations

import pytest
from asgi_driver import signed_query
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree
from service_world import TRUST

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context

ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("wire")))
    admin = create_account(ctx, ACCOUNT)
    return {"app": build_app(ctx), "credentials": Credentials(admin.access_key_id, admin.secret_access_key)}


def error(body: bytes) -> tuple[str | None, str | None]:
    root = etree.fromstring(body)
    return root.findtext("{*}Error/{*}Code"), root.findtext("{*}Error/{*}Message")


def authorization(credentials: Credentials) -> str:
    """The Authorization header botocore gives a GetCallerIdentity of `credentials` (the body the driver sends)."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    return request.headers["Authorization"]


@pytest.mark.parametrize("region", ["us-east-1", "US-EAST-1", "lab.local_1", "r" * 63])
def test_any_region_a_client_may_be_configured_with_is_accepted(world: dict, region: str) -> None:
    """Contract §2: accept any region in the SigV4 scope. botocore lets through host labels of up to 63 characters,
    upper case included; the scope allowed only 32 lower-case ones."""
    status, body = signed_query(world["app"], world["credentials"], "GetCallerIdentity", {}, region=region)
    assert status == 200 and b"<Account>111111111111</Account>" in body


def test_a_region_longer_than_a_host_label_is_an_incomplete_signature(world: dict) -> None:
    status, body = signed_query(world["app"], world["credentials"], "GetCallerIdentity", {}, region="r" * 64)
    code, message = error(body)
    assert (status, code) == (400, "IncompleteSignature") and message.startswith("Credential should be scoped to a valid region")


@pytest.mark.parametrize(("change", "message"), [
    (lambda header: header + ", junk", "'junk' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'."),
    (lambda header: header + ",", "'' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'."),
    (lambda header: header + ", Signature=" + "0" * 64, "Authorization header has the parameter 'Signature' more than once. Authorization={}"),
    (lambda header: header.replace(", SignedHeaders=", ", Credential=AKIAOTHER0000000000/20260101/us-east-1/sts/aws4_request, SignedHeaders="),
     "Authorization header has the parameter 'Credential' more than once. Authorization={}"),
    # A second header of one field: its name read "AWS4-HMAC-SHA256 Signature", unknown, so it was ignored (docs probe).
    (lambda header: header + ", AWS4-HMAC-SHA256 Signature=" + "f" * 64,
     "Authorization header holds more than one authorization ('AWS4-HMAC-SHA256 Signature=" + "f" * 64 + "'). Authorization={}"),
    (lambda header: header + ",AWS4-HMAC-SHA256 Credential=AKIAOTHER0000000000/20260101/us-east-1/sts/aws4_request",
     "Authorization header holds more than one authorization ('AWS4-HMAC-SHA256 Credential=AKIAOTHER0000000000/20260101/us-east-1/sts/"
     "aws4_request'). Authorization={}"),
], ids=["no-equals", "trailing-comma", "second-signature", "second-credential", "second-header-signature-only", "second-header-credential-only"])
def test_a_malformed_authorization_header_is_an_incomplete_signature(world: dict, change, message: str) -> None:  # noqa: ANN001
    """Which of two Signatures counts must not be a guess: the last one did, and a part without '=' was skipped."""
    header = change(authorization(world["credentials"]))
    status, body = signed_query(world["app"], world["credentials"], "GetCallerIdentity", {}, overrides={b"authorization": header.encode()})
    assert (status, *error(body)) == (400, "IncompleteSignature", message.format(header))


def test_a_second_authorization_header_is_refused(world: dict) -> None:
    """The server joins repeated headers with commas (as SigV4 canonicalizes them): the second header's fields
    repeat the first's. Before, the second's Signature silently replaced the first's."""
    credentials = world["credentials"]
    assert signed_query(world["app"], credentials, "GetCallerIdentity", {})[0] == 200
    second = authorization(credentials).encode()
    status, body = signed_query(world["app"], credentials, "GetCallerIdentity", {}, added=[(b"authorization", second)])
    code, message = error(body)
    assert (status, code) == (400, "IncompleteSignature") and "more than one authorization" in message


def test_head_runs_no_action(world: dict) -> None:
    """Every action runs on GET, so a HEAD ran one too and lost its answer: a signed HEAD CreateRole made the role."""
    credentials = world["credentials"]
    status, body = signed_query(world["app"], credentials, "CreateRole", {"RoleName": "ByHead", "AssumeRolePolicyDocument": TRUST}, method="HEAD")
    assert (status, body) == (405, b"Method Not Allowed")
    status, body = signed_query(world["app"], credentials, "GetRole", {"RoleName": "ByHead"})
    assert (status, error(body)[0]) == (404, "NoSuchEntity")
    status, _ = signed_query(world["app"], credentials, "GetRole", {"RoleName": "ByHead"}, method="GET")
    assert status == 404  # the same signed call by GET runs


def test_a_get_query_with_spaces_runs(world: dict) -> None:
    """Parameters with spaces (a trust policy, a description) in a signed GET's query, written as botocore writes
    them (%20), verify and are read as sent."""
    credentials = world["credentials"]
    parameters = {"RoleName": "ByGet", "AssumeRolePolicyDocument": TRUST, "Description": "made by a GET"}
    assert " " in TRUST and signed_query(world["app"], credentials, "CreateRole", parameters, method="GET")[0] == 200
    status, body = signed_query(world["app"], credentials, "GetRole", {"RoleName": "ByGet"}, method="GET")
    assert status == 200 and b"<Description>made by a GET</Description>" in body

@pytest.mark.parametrize(("action", "parameters"), [
    ("ListRoles", {"MaxItems": "ten"}),
    ("ListRoles", {"MaxItems": "2147483648"}),  # past 32 bits
    ("UpdateRole", {"RoleName": "Any", "MaxSessionDuration": "3600.0"}),
    ("CreateRole", {"RoleName": "Any", "AssumeRolePolicyDocument": TRUST, "MaxSessionDuration": "99999999999"}),
])
def test_an_integer_parameter_that_is_no_integer_is_malformed_input_without_a_message(world: dict, action: str, parameters: dict) -> None:
    """As AWS answers a DurationSeconds that is no integer (the query frameworks of STS and IAM read integers alike)."""
    status, body = signed_query(world["app"], world["credentials"], action, parameters)
    assert (status, *error(body)) == (400, "MalformedInput", None), body


def test_an_integer_with_leading_zeros_is_read_as_java_reads_it(world: dict) -> None:
    status, body = signed_query(world["app"], world["credentials"], "ListRoles", {"MaxItems": "00000000000001"})
    assert status == 200, body
    status, body = signed_query(world["app"], world["credentials"], "ListRoles", {"MaxItems": "-2147483648"})
    assert (status, error(body)[0]) == (400, "ValidationError")  # an integer, below the model's minimum


@pytest.mark.parametrize(("value", "malformed"), [("0" * 5000 + "5", False), ("-" + "0" * 5000, False), ("1" * 5000, True), ("+" + "0" * 4300 + "2147483648", True)])
def test_an_integer_of_thousands_of_digits_is_read_without_a_500(world: dict, value: str, malformed: bool) -> None:
    """int() raises ValueError on over 4,300 digits: leading zeros past that answered 500 InternalFailure."""
    status, body = signed_query(world["app"], world["credentials"], "ListRoles", {"MaxItems": value})
    if malformed:
        assert (status, *error(body)) == (400, "MalformedInput", None), body
    elif value.startswith("-"):
        assert (status, error(body)[0]) == (400, "ValidationError"), body  # 0: an integer, below the model's minimum
    else:
        assert status == 200, body

"""`log_format = json`: the fields of each decision docs/operations.md lists, beyond AssumeRoleWithSAML.

One real `samlfed demo --log-format json` process (stderr to a file) serves the whole module; real boto3 and httpx
clients act on it: role chaining (AssumeRole), IAM calls denied to a role session, console sign-in, the
authorization API, and the built-in IdP's sign-ins, responses, ECP and logout. Each test looks only at the lines its
own requests added. Every stderr line must parse as one JSON object, and no secret the module saw (secret access
keys, session tokens, passwords, SAML responses and their signatures, sign-in tokens, cookies, the authorization
key) may appear in any line.

The table's rule is that a decision's keys are present, `null` when unknown: the tests assert each documented key
is present, and its value where the request makes it known.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import signal
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from demo_stack import forms
from lxml import etree
from saml_factory import response_b64, signer
from servers import SAMLFED, free_port, wait_until_up

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DEV_ACCOUNT, PROD_ACCOUNT = "111111111111", "222222222222"
DEVELOPER = f"arn:aws:iam::{DEV_ACCOUNT}:role/Developer"
PROD_READ_ONLY = f"arn:aws:iam::{PROD_ACCOUNT}:role/ReadOnly"
PROVIDER = f"arn:aws:iam::{DEV_ACCOUNT}:saml-provider/samlfed-idp"
PROD_PROVIDER = f"arn:aws:iam::{PROD_ACCOUNT}:saml-provider/samlfed-idp"
ALICE_SESSION = "alice@acme.example"  # the demo's role_session_name claim is the user's email
ALICE_ARN = f"arn:aws:sts::{DEV_ACCOUNT}:assumed-role/Developer/{ALICE_SESSION}"
AWS_ACS = "https://signin.aws.amazon.com/saml"
LOCAL = "127.0.0.1"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
IDP_KEYS = ("user", "source_ip", "sp", "acs")
CONSOLE_KEYS = ("issuer", "assertion_id", "key_thumbprint", "subject", "role", "session_name", "session_seconds", "issue_instant", "authn_instant")


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trusting(principal: str, actions: tuple[str, ...] = ("sts:AssumeRole", "sts:SetSourceIdentity")) -> str:
    """The demo's sessions carry a SourceIdentity: chaining from them also needs sts:SetSourceIdentity."""
    return _policy({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": list(actions)})


class Demo:
    """The running demo: its URL, log, users' passwords, administrator keys, and every secret seen so far."""

    def __init__(self, url: str, log: Path, data: Path, stdout: str) -> None:
        self.url, self.log, self.data = url, log, data
        self.passwords = dict(re.findall(r"^  (alice|bob|admin)\s+(\S+)", stdout, re.MULTILINE))
        self.admin = {account: (key_id, secret) for account, key_id, secret in
                      re.findall(r"^  (\d{12}) \S+\s+(AKIA\w+) (\S+)$", stdout, re.MULTILINE)}
        assert set(self.passwords) == {"alice", "bob", "admin"} and set(self.admin) == {DEV_ACCOUNT, PROD_ACCOUNT}, stdout
        self.secrets: set[str] = {*self.passwords.values(), *(secret for _, secret in self.admin.values())}
        self.secrets.update(re.findall(r"TOTP secret (\S+)", stdout))
        self.entity_id = etree.fromstring(httpx.get(f"{url}/idp/metadata").content).get("entityID")

    def client(self, service: str, credentials: dict | tuple[str, str] | None = None, account: str = DEV_ACCOUNT):  # type: ignore[no-untyped-def]
        if credentials is None:
            credentials = self.admin[account]
        if isinstance(credentials, tuple):
            keys = {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]}
        else:
            keys = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
                    "aws_session_token": credentials["SessionToken"]}
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", **keys)

    def credentials(self, role: str, provider: str, saml_response: str) -> dict:
        sts = boto3.client("sts", endpoint_url=self.url, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
        issued = sts.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=saml_response)["Credentials"]
        self.secrets.update((issued["SecretAccessKey"], issued["SessionToken"]))
        return issued

    def keep_secret_response(self, saml_response: str) -> None:
        """A SAMLResponse and the signature values inside it."""
        self.secrets.add(saml_response)
        xml = base64.b64decode(saml_response)
        self.secrets.update(value.strip() for value in re.findall(rb"<(?:\w+:)?SignatureValue[^>]*>([^<]+)<", xml) for value in [value.decode()])

    def mark(self) -> int:
        return len(self.log.read_text().splitlines())

    def entries(self, since: int = 0) -> list[dict]:
        """Every line of the log as a JSON object (fails on any other line, or on a secret in any line); those
        from line `since` on."""
        text = self.log.read_text()
        lines = text.splitlines()
        parsed = [json.loads(line) for line in lines]
        assert all(isinstance(entry, dict) and TIME.fullmatch(entry["time"]) for entry in parsed)
        assert all({"level", "logger", "message"} <= entry.keys() for entry in parsed)
        leaked = [secret for secret in self.secrets if secret and secret in text]
        assert not leaked, f"{len(leaked)} secret(s) in the log"
        return parsed[since:]

    def decisions(self, since: int, action: str, outcome: str | None = None) -> list[dict]:
        return [entry for entry in self.entries(since) if entry.get("action") == action and (outcome is None or entry.get("outcome") == outcome)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("logfields")
    port = free_port()
    out, log = root / "stdout.txt", root / "stderr.log"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        process = subprocess.Popen([SAMLFED, "demo", "--port", str(port), "--data-dir", str(root / "data"), "--log-format", "json"],
                                   stdout=stdout, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    running = None
    try:
        assert wait_until_up(f"{url}/healthz", seconds=60, gave_up=lambda: process.poll() is not None), log.read_text()[-2000:]
        running = Demo(url, log, root / "data", out.read_text())
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    running.entries()  # the shutdown lines too: each one JSON, no secret


# --- the IdP: helpers ---------------------------------------------------------------------------------------------


def _csrf(browser: httpx.Client) -> str:
    return forms(browser.get("/idp/login"))[0]["fields"]["csrf"]


def _web_login(demo: Demo, browser: httpx.Client, username: str, password: str) -> httpx.Response:
    if password != demo.passwords.get(username):
        demo.secrets.add(password)
    return browser.post("/idp/login", data={"csrf": _csrf(browser), "username": username, "password": password, "otp": ""})


def _autopost(page: httpx.Response) -> tuple[str, dict]:
    form = next(f for f in forms(page) if "SAMLResponse" in f["fields"])
    return form["action"], form["fields"]


def _authn_request(request_id: str, *, acs: str | None = None, binding: str | None = None, attributes: str = "") -> bytes:
    extra = (f' AssertionConsumerServiceURL="{acs}"' if acs else "") + (f' ProtocolBinding="{binding}"' if binding else "") + attributes
    return (
        f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"{extra}>'
        f"<saml:Issuer>urn:amazon:webservices</saml:Issuer></samlp:AuthnRequest>"
    ).encode()


def _ecp_envelope(request_id: str) -> bytes:
    request = _authn_request(request_id, acs=AWS_ACS, binding="urn:oasis:names:tc:SAML:2.0:bindings:PAOS")
    return b'<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>' + request + b"</S:Body></S:Envelope>"


def _ecp(demo: Demo, username: str, password: str, request_id: str) -> httpx.Response:
    if password != demo.passwords.get(username):
        demo.secrets.add(password)
    return httpx.post(f"{demo.url}/idp/ecp", content=_ecp_envelope(request_id), auth=(username, password), headers={"Content-Type": "text/xml"})


def ecp_response(demo: Demo, username: str, request_id: str) -> str:
    """The base64 SAMLResponse the IdP answers an ECP request with (for AWS's ACS)."""
    answer = _ecp(demo, username, demo.passwords[username], request_id)
    assert answer.status_code == 200, answer.text
    response = etree.fromstring(answer.content).find(f"{SOAP}Body/{{urn:oasis:names:tc:SAML:2.0:protocol}}Response")
    saml_response = base64.b64encode(etree.tostring(response)).decode()
    demo.keep_secret_response(saml_response)
    return saml_response


def _one(entries: list[dict]) -> dict:
    assert len(entries) == 1, entries
    return entries[0]


def _missing(entry: dict, keys: tuple[str, ...]) -> list[str]:
    return [key for key in keys if key not in entry]


# --- the world the STS, IAM, console and authz tests share ----------------------------------------------------------


@pytest.fixture(scope="module")
def world(demo: Demo) -> dict:
    """Roles to chain to (one per way AssumeRole can be denied), an explicit IAM deny on Developer, ReadOnly in
    acme-prod closed to alice (for the console's role_refused), and alice's Developer credentials."""
    iam = demo.client("iam")
    iam.create_role(RoleName="ChainTarget", AssumeRolePolicyDocument=_trusting(DEVELOPER))
    iam.create_role(RoleName="ChainNoTrust", AssumeRolePolicyDocument=_trusting(f"arn:aws:iam::{DEV_ACCOUNT}:role/ReadOnly"))
    iam.create_role(RoleName="ChainNoSourceIdentity", AssumeRolePolicyDocument=_trusting(DEVELOPER, ("sts:AssumeRole",)))
    iam.create_role(RoleName="ChainAccount", AssumeRolePolicyDocument=_trusting(f"arn:aws:iam::{DEV_ACCOUNT}:root"))
    iam.put_role_policy(RoleName="Developer", PolicyName="no-listing",
                        PolicyDocument=_policy({"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}))
    prod = demo.client("iam", account=PROD_ACCOUNT)
    prod.create_role(RoleName="ChainCross", AssumeRolePolicyDocument=_trusting(DEVELOPER))
    closed = {"Effect": "Allow", "Principal": {"Federated": PROD_PROVIDER}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
              "Condition": {"StringEquals": {"SAML:sub": "admin"}}}
    prod.update_assume_role_policy(RoleName="ReadOnly", PolicyDocument=_policy(closed))
    developer = demo.credentials(DEVELOPER, PROVIDER, ecp_response(demo, "alice", "_world-1"))
    return {"developer": developer}


# --- AssumeRole (role chaining) --------------------------------------------------------------------------------------


CHAIN_KEYS = ("caller", "role", "session_name", "source_ip")


def test_assume_role_allowed_carries_caller_role_session_name_and_source_ip(demo: Demo, world: dict) -> None:
    since = demo.mark()
    sts = demo.client("sts", world["developer"])
    chained = sts.assume_role(RoleArn=f"arn:aws:iam::{DEV_ACCOUNT}:role/ChainTarget", RoleSessionName="chained-alice")["Credentials"]
    demo.secrets.update((chained["SecretAccessKey"], chained["SessionToken"]))
    allowed = _one(demo.decisions(since, "AssumeRole", "allowed"))
    assert (allowed["level"], allowed["logger"]) == ("INFO", "samlfed.sts")
    assert not _missing(allowed, CHAIN_KEYS)
    assert allowed["caller"] == ALICE_ARN and allowed["role"] == f"arn:aws:iam::{DEV_ACCOUNT}:role/ChainTarget"
    assert (allowed["session_name"], allowed["source_ip"]) == ("chained-alice", LOCAL)
    assert allowed["message"].startswith("AssumeRole allowed caller=")


@pytest.mark.parametrize(("role", "denied_by", "policy_action"), [
    (f"arn:aws:iam::{DEV_ACCOUNT}:role/ChainNoTrust", "trust", "sts:AssumeRole"),
    (f"arn:aws:iam::{DEV_ACCOUNT}:role/ChainNoSourceIdentity", "trust", "sts:SetSourceIdentity"),
    (f"arn:aws:iam::{DEV_ACCOUNT}:role/ChainAccount", "caller_policies", "sts:AssumeRole"),
    (f"arn:aws:iam::{PROD_ACCOUNT}:role/ChainCross", "identity_policies", "sts:AssumeRole"),
    (f"arn:aws:iam::{DEV_ACCOUNT}:role/NoSuchRole", "no_such_role", "sts:AssumeRole"),
    (f"arn:aws:iam::{DEV_ACCOUNT}:role/chaintarget", "no_such_role", "sts:AssumeRole"),  # ARNs compare exactly
])
def test_assume_role_denied_says_which_policies_denied_it(demo: Demo, world: dict, role: str, denied_by: str, policy_action: str) -> None:
    since = demo.mark()
    sts = demo.client("sts", world["developer"])
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=role, RoleSessionName="denied-alice")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    denied = _one(demo.decisions(since, "AssumeRole", "denied"))
    assert not _missing(denied, (*CHAIN_KEYS, "denied_by", "policy_action", "error_code"))
    assert (denied["caller"], denied["role"], denied["session_name"], denied["source_ip"]) == (ALICE_ARN, role, "denied-alice", LOCAL)
    assert (denied["denied_by"], denied["policy_action"], denied["error_code"]) == (denied_by, policy_action, "AccessDenied")


# --- IAM calls denied to a role session ------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "action", "resource", "decision"), [
    (lambda iam: iam.delete_role(RoleName="ChainTarget"), "DeleteRole", f"arn:aws:iam::{DEV_ACCOUNT}:role/ChainTarget", "implicitDeny"),
    (lambda iam: iam.list_roles(), "ListRoles", f"arn:aws:iam::{DEV_ACCOUNT}:role/", "explicitDeny"),
])
def test_an_iam_call_denied_to_a_role_session_logs_its_fields(demo: Demo, world: dict, call, action: str, resource: str, decision: str) -> None:  # type: ignore[no-untyped-def]
    since = demo.mark()
    with pytest.raises(ClientError) as raised:
        call(demo.client("iam", world["developer"]))
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    denied = _one(demo.decisions(since, action, "denied"))
    assert (denied["level"], denied["logger"]) == ("INFO", "samlfed.api")
    assert not _missing(denied, ("principal", "policy_action", "resource", "decision", "source_ip", "error_code"))
    assert (denied["principal"], denied["policy_action"], denied["resource"]) == (ALICE_ARN, f"iam:{action}", resource)
    assert (denied["decision"], denied["source_ip"], denied["error_code"]) == (decision, LOCAL, "AccessDenied")


# --- console sign-in -------------------------------------------------------------------------------------------------


def _console_sign_in(demo: Demo, browser: httpx.Client) -> tuple[httpx.Response, str]:
    """SP-initiated: /console → the IdP → alice signs in → the response posted to /saml → the chooser; returns the
    chooser page and the SAMLResponse."""
    to_idp = browser.get("/console")
    assert to_idp.status_code == 303 and "/idp/sso?" in to_idp.headers["location"]
    to_login = browser.get(to_idp.headers["location"])
    assert to_login.status_code == 303 and to_login.headers["location"].endswith("/idp/login")
    page = _web_login(demo, browser, "alice", demo.passwords["alice"])
    acs, fields = _autopost(page)
    demo.keep_secret_response(fields["SAMLResponse"])
    assert acs == f"{demo.url}/saml"
    chooser = browser.post("/saml", data={k: v for k, v in fields.items() if k in ("SAMLResponse", "RelayState")})
    assert chooser.status_code == 200, chooser.text[-500:]
    return chooser, fields["SAMLResponse"]


def test_console_sign_in_allowed_and_role_refused(demo: Demo, world: dict) -> None:
    since = demo.mark()
    with httpx.Client(base_url=demo.url) as browser:
        chooser, _ = _console_sign_in(demo, browser)
        form = next(f for f in forms(chooser) if "csrf" in f["fields"] and "SAMLResponse" in f["fields"])
        signed_in = browser.post(form["action"] or "/saml", data={**form["fields"], "roleIndex": DEVELOPER})
        assert signed_in.status_code == 303, signed_in.text[-500:]
        demo.secrets.update(browser.cookies.values())
    allowed = _one(demo.decisions(since, "ConsoleSignIn", "allowed"))
    assert (allowed["level"], allowed["logger"]) == ("INFO", "samlfed.console")
    assert not _missing(allowed, CONSOLE_KEYS)
    assert (allowed["issuer"], allowed["subject"], allowed["role"], allowed["session_name"]) == (demo.entity_id, "alice", DEVELOPER, ALICE_SESSION)
    assert re.fullmatch(r"[0-9a-f]{64}", allowed["key_thumbprint"]) and allowed["assertion_id"]
    assert 0 < int(allowed["session_seconds"]) <= 3600
    # The response is checked at each post of it (the chooser's, then the sign-in's): one line for each.
    refused = demo.decisions(since, "ConsoleSignIn", "role_refused")
    assert len(refused) == 2 and all(entry["role"] == PROD_READ_ONLY for entry in refused), refused
    # The table: ConsoleSignIn's keys for all of its outcomes (null when unknown); here all of them are known.
    assert not _missing(refused[0], CONSOLE_KEYS), f"role_refused lacks {_missing(refused[0], CONSOLE_KEYS)}"
    for entry in refused:
        assert (entry["issuer"], entry["subject"], entry["assertion_id"]) == (demo.entity_id, "alice", allowed["assertion_id"])
        assert (entry["key_thumbprint"], entry["session_name"]) == (allowed["key_thumbprint"], ALICE_SESSION)


def test_console_sign_in_rejected_carries_the_failing_check(demo: Demo, world: dict) -> None:
    forged = response_b64(by=signer("stranger"), issue_instant=datetime.now(UTC) - timedelta(seconds=5), roles=[f"{DEVELOPER},{PROVIDER}"])
    demo.keep_secret_response(forged)
    since = demo.mark()
    with httpx.Client(base_url=demo.url) as browser:
        assert browser.post("/saml", data={"SAMLResponse": forged}).status_code in (400, 403)
    rejected = _one(demo.decisions(since, "ConsoleSignIn", "rejected"))
    assert (rejected["provider"], rejected["level"], rejected["logger"]) == (PROVIDER, "INFO", "samlfed.console")
    assert rejected["check"] and rejected["reason"]
    assert not _missing(rejected, CONSOLE_KEYS), f"rejected lacks {_missing(rejected, CONSOLE_KEYS)}"


def test_a_federation_sign_in_token_never_reaches_the_log(demo: Demo, world: dict) -> None:
    developer = world["developer"]
    session = json.dumps({"sessionId": developer["AccessKeyId"], "sessionKey": developer["SecretAccessKey"], "sessionToken": developer["SessionToken"]})
    with httpx.Client(base_url=demo.url) as browser:
        answer = browser.get("/federation", params={"Action": "getSigninToken", "Session": session})
        assert answer.status_code == 200, answer.text
        token = answer.json()["SigninToken"]
        demo.secrets.add(token)
        signed_in = browser.get("/federation", params={"Action": "login", "SigninToken": token, "Destination": f"{demo.url}/console"})
        assert signed_in.status_code == 302
        demo.secrets.update(browser.cookies.values())
    demo.entries()


# --- the authorization API -------------------------------------------------------------------------------------------


def _authorize(demo: Demo, key: str, credentials: Credentials, resource: str) -> dict:
    request = AWSRequest(method="GET", url="https://s3.example/acme-dev-data/k")
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    parts = urlsplit(request.prepare().url)
    headers = {**{k.lower(): v for k, v in request.headers.items()}, "host": parts.netloc}
    demo.secrets.add(headers["authorization"].rsplit("Signature=", 1)[1])
    body = {"request": {"method": "GET", "path": parts.path, "query": parts.query, "headers": headers, "payload_hash": hashlib.sha256(b"").hexdigest()},
            "action": "s3:GetObject", "resource": resource}
    answer = httpx.post(f"{demo.url}/authz/v1/authorize", json=body, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_authorization_apis_decisions_carry_service_principal_and_decision(demo: Demo, world: dict) -> None:
    created = subprocess.run([SAMLFED, "authz-keys", "create", "--name", "s3-gateway", "--data-dir", str(demo.data)],
                             capture_output=True, text=True, timeout=60, check=True)
    key = created.stdout.strip()
    demo.secrets.add(key)
    developer = world["developer"]
    session = Credentials(developer["AccessKeyId"], developer["SecretAccessKey"], developer["SessionToken"])
    since = demo.mark()
    answers = [
        _authorize(demo, key, session, "arn:aws:s3:::acme-dev-data/k"),
        _authorize(demo, key, session, "arn:aws:s3:::someone-else/k"),
        _authorize(demo, key, Credentials(developer["AccessKeyId"], "not-the-secret-key-at-all", developer["SessionToken"]), "arn:aws:s3:::acme-dev-data/k"),
    ]
    assert [answer["decision"] for answer in answers] == ["allowed", "implicitDeny", "unauthenticated"]
    logged = demo.decisions(since, "Authorize")
    assert [(entry["level"], entry["logger"]) for entry in logged] == [("INFO", "samlfed.authz")] * 3
    assert all(not _missing(entry, ("service", "principal", "decision")) for entry in logged)
    assert [entry["outcome"] for entry in logged] == [entry["decision"] for entry in logged]  # counted in /metrics by it
    assert [(entry["service"], entry["principal"], entry["decision"]) for entry in logged] == [
        ("s3-gateway", ALICE_ARN, "allowed"), ("s3-gateway", ALICE_ARN, "implicitDeny"), ("s3-gateway", None, "unauthenticated"),
    ]


# --- the built-in IdP ------------------------------------------------------------------------------------------------


def test_idp_login_failed_and_allowed(demo: Demo) -> None:
    since = demo.mark()
    with httpx.Client(base_url=demo.url) as browser:
        assert _web_login(demo, browser, "alice", "a-wrong-password-7Qx").status_code == 401
        assert _web_login(demo, browser, "alice", demo.passwords["alice"]).status_code == 303
    failed = _one(demo.decisions(since, "IdpLogin", "failed"))
    allowed = _one(demo.decisions(since, "IdpLogin", "allowed"))
    for entry in (failed, allowed):
        assert (entry["level"], entry["logger"], entry["user"], entry["source_ip"]) == ("INFO", "samlfed.idp", "alice", LOCAL)
    # No application was asked for: sp and acs are unknown, so null (documented keys, null when unknown).
    missing = {"failed": _missing(failed, IDP_KEYS), "allowed": _missing(allowed, IDP_KEYS)}
    assert missing == {"failed": [], "allowed": []}, missing
    assert (failed["sp"], failed["acs"], allowed["sp"], allowed["acs"]) == (None, None, None, None)


def test_idp_login_throttled(demo: Demo) -> None:
    since = demo.mark()
    with httpx.Client(base_url=demo.url) as browser:
        statuses = [_web_login(demo, browser, "throttled-user", f"guess-number-{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    throttled = _one(demo.decisions(since, "IdpLogin", "throttled"))
    assert (throttled["user"], throttled["source_ip"]) == ("throttled-user", LOCAL)
    assert not _missing(throttled, IDP_KEYS), f"throttled lacks {_missing(throttled, IDP_KEYS)}"


def test_idp_login_for_an_application_and_its_issued_response(demo: Demo) -> None:
    """SP-initiated: the sign-in answers a pending request of the `aws` application; the response is issued to its ACS."""
    since = demo.mark()
    with httpx.Client(base_url=demo.url) as browser:
        _console_sign_in(demo, browser)
    allowed = _one(demo.decisions(since, "IdpLogin", "allowed"))
    issued = _one(demo.decisions(since, "IdpIssue", "issued"))
    assert (issued["level"], issued["logger"], issued["user"], issued["sp"], issued["acs"]) == ("INFO", "samlfed.idp", "alice", "aws", f"{demo.url}/saml")
    assert (allowed["user"], allowed["source_ip"]) == ("alice", LOCAL)
    missing = {"IdpIssue": _missing(issued, IDP_KEYS), "IdpLogin": _missing(allowed, IDP_KEYS)}
    assert missing == {"IdpIssue": [], "IdpLogin": []}, missing
    assert issued["source_ip"] == LOCAL
    # The sign-in answers the application's pending request: its sp and acs are known when the line is written.
    assert (allowed["sp"], allowed["acs"]) == ("aws", f"{demo.url}/saml")


def test_idp_portal_launch_and_logout(demo: Demo) -> None:
    since = demo.mark()
    with httpx.Client(base_url=demo.url) as browser:
        assert _web_login(demo, browser, "bob", demo.passwords["bob"]).status_code == 303
        portal = browser.get("/idp/")
        launch = next(f for f in forms(portal) if (f["action"] or "").endswith("/launch/aws"))
        page = browser.post(launch["action"].removeprefix(demo.url), data=launch["fields"])
        acs, fields = _autopost(page)
        demo.keep_secret_response(fields["SAMLResponse"])
        logout = next(f for f in forms(portal) if (f["action"] or "").endswith("/logout"))
        assert browser.post(logout["action"].removeprefix(demo.url), data=logout["fields"]).status_code == 303
    issued = _one(demo.decisions(since, "IdpIssue", "issued"))
    assert (issued["user"], issued["sp"], issued["acs"]) == ("bob", "aws", acs)
    logout_line = _one(demo.decisions(since, "IdpLogout", "allowed"))
    assert (logout_line["level"], logout_line["logger"], logout_line["user"]) == ("INFO", "samlfed.idp", "bob")
    missing = {"IdpIssue": _missing(issued, IDP_KEYS), "IdpLogout": _missing(logout_line, IDP_KEYS)}
    assert missing == {"IdpIssue": [], "IdpLogout": []}, missing
    assert (issued["source_ip"], logout_line["source_ip"], logout_line["sp"], logout_line["acs"]) == (LOCAL, LOCAL, None, None)


def test_idp_no_passive(demo: Demo) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    xml = _authn_request("_passive-logfields", attributes=' IsPassive="true"')
    query = urlencode({"SAMLRequest": base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()})
    since = demo.mark()
    with httpx.Client(base_url=demo.url) as browser:
        acs, fields = _autopost(browser.get(f"/idp/sso?{query}"))
    assert b"NoPassive" in base64.b64decode(fields["SAMLResponse"])
    no_passive = _one(demo.decisions(since, "IdpIssue", "no_passive"))
    assert (no_passive["level"], no_passive["logger"], no_passive["sp"], no_passive["acs"]) == ("INFO", "samlfed.idp", "aws", acs)
    assert not _missing(no_passive, IDP_KEYS), f"no_passive lacks {_missing(no_passive, IDP_KEYS)}"
    assert (no_passive["user"], no_passive["source_ip"]) == (None, LOCAL)


def test_idp_ecp_issued_and_failed(demo: Demo) -> None:
    since = demo.mark()
    ecp_response(demo, "alice", "_ecp-logfields-1")
    failed_answer = _ecp(demo, "alice", "an-ecp-wrong-password-9Kz", "_ecp-logfields-2")
    assert failed_answer.status_code == 401
    issued = _one(demo.decisions(since, "IdpEcpLogin", "issued"))
    failed = _one(demo.decisions(since, "IdpEcpLogin", "failed"))
    assert (issued["level"], issued["logger"], issued["user"], issued["sp"], issued["source_ip"]) == ("INFO", "samlfed.idp", "alice", "aws", LOCAL)
    assert (failed["user"], failed["source_ip"]) == ("alice", LOCAL)
    missing = {"issued": _missing(issued, IDP_KEYS), "failed": _missing(failed, IDP_KEYS)}
    assert missing == {"issued": [], "failed": []}, missing
    assert issued["acs"] == AWS_ACS and (failed["sp"], failed["acs"]) == ("aws", AWS_ACS)


def test_idp_ecp_throttled_is_logged(demo: Demo) -> None:
    since = demo.mark()
    statuses = [_ecp(demo, "ecp-throttled", f"ecp-guess-{n}", f"_ecp-throttle-{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert len(demo.decisions(since, "IdpEcpLogin", "failed")) == 5
    throttled = demo.decisions(since, "IdpEcpLogin", "throttled")
    assert len(throttled) == 1, "a throttled ECP attempt writes no log line (the web login's does)"
    assert not _missing(throttled[0], IDP_KEYS) and (throttled[0]["user"], throttled[0]["source_ip"]) == ("ecp-throttled", LOCAL)

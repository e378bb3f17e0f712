"""An STS endpoint that answers with something other than STS's XML (a web server's page, a proxy's refusal, an API's
JSON: the endpoint URL is wrong) is a one-line error that says so, never a traceback, and never a refusal of the
SAML response."""

from __future__ import annotations

from pathlib import Path

import pytest
from login_setup import samlfed
from saml_factory import response_b64
from servers import answering

from samlfed.login.roles import RoleOption
from samlfed.login.sts import AssumeFailed, assume

OPTION = RoleOption("arn:aws:iam::111111111111:role/Developer", "arn:aws:iam::111111111111:saml-provider/Idp")
NO_CREDENTIALS = (
    b'<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithSAMLResult/>'
    b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithSAMLResponse>"
)
ANSWERS = {
    "a proxy's plain-text refusal": (403, "text/plain", b"Forbidden"),
    "an API's JSON": (404, "application/json", b'{"message": "Not Found"}'),
    "a web page": (200, "text/html", b"<html><body><p>Welcome</p></body></html>"),
    "nothing": (200, "text/html", b""),
    "an STS answer without credentials": (200, "text/xml", NO_CREDENTIALS),
    "an error page that parses as XML": (403, "text/html", b"<html>Forbidden</html>"),
}
BAD_GATEWAY = (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>")


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_an_answer_not_from_sts_is_an_assume_failure(answer: str) -> None:
    with answering(*ANSWERS[answer]) as url, pytest.raises(AssumeFailed) as failure:
        assume(url, OPTION, response_b64(), None)
    assert failure.value.code == "NotAnStsAnswer" and failure.value.unanswered
    assert failure.value.message == f"STS at {url} gave an answer that is not from STS (a web page, a proxy's?): check the endpoint URL"


@pytest.mark.parametrize("answer", ["a proxy's plain-text refusal", "a web page"])
def test_login_says_so_in_one_line(tmp_path: Path, answer: str) -> None:
    captured = tmp_path / "captured.b64"
    captured.write_text(response_b64(roles=[f"{OPTION.role_arn},{OPTION.provider_arn}"]))
    with answering(*ANSWERS[answer]) as url:
        done = samlfed(tmp_path, "login", "--assertion-file", str(captured), "--endpoint", url, "--role", OPTION.role_arn, "--print", "env")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == (f"samlfed: {OPTION.role_arn}: STS at {url} gave an answer that is not from STS (a web page, a proxy's?): "
                           "check the endpoint URL (NotAnStsAnswer)\n")


def test_an_error_status_without_an_sts_error_is_not_a_refusal(tmp_path: Path) -> None:
    """botocore names it by its HTTP status (a proxy's 502 page): nothing at STS refused the response, and samlfed's log
    has nothing to say about it."""
    with answering(*BAD_GATEWAY) as url:
        with pytest.raises(AssumeFailed) as failure:
            assume(url, OPTION, response_b64(), None)
        assert (failure.value.code, failure.value.message, failure.value.unanswered) == ("502", "Bad Gateway", True)
        captured = tmp_path / "captured.b64"
        captured.write_text(response_b64(roles=[f"{OPTION.role_arn},{OPTION.provider_arn}"]))
        done = samlfed(tmp_path, "login", "--assertion-file", str(captured), "--endpoint", url, "--role", OPTION.role_arn, "--print", "env")
    assert done.returncode == 1 and done.stderr == f"samlfed: {OPTION.role_arn}: Bad Gateway (502)\n", done.stderr


def _answer_with(access_key_id: str, secret: str, token: str) -> bytes:
    return (
        '<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithSAMLResult><Credentials>'
        f"<AccessKeyId>{access_key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
        f"<SessionToken>{token}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"
        "</AssumeRoleWithSAMLResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithSAMLResponse>"
    ).encode()


SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOSTILE_CREDENTIALS = {
    "a command in the session token": ("ASIAEXAMPLE0000000001", SECRET, "tok$(touch pwned)"),
    "a profile added through a line break": ("ASIAEXAMPLE0000000001", SECRET, "tok\n[default]\ncredential_process = sh -c id"),
    "a quote in the secret key": ("ASIAEXAMPLE0000000001", "a'b\"c", "dG9rZW4="),
    "a space in the access key id": ("ASIA EXAMPLE 00001", SECRET, "dG9rZW4="),
}


@pytest.mark.parametrize("values", list(HOSTILE_CREDENTIALS))
def test_credentials_no_sts_would_answer_are_refused(tmp_path: Path, values: str) -> None:
    """A hostile or broken endpoint's values must reach neither the credentials file (a line break adds lines to it)
    nor a shell's eval of --print env."""
    with answering(200, "text/xml", _answer_with(*HOSTILE_CREDENTIALS[values])) as url:
        with pytest.raises(AssumeFailed) as failure:
            assume(url, OPTION, response_b64(), None)
        assert failure.value.code == "NotAnStsAnswer" and failure.value.unanswered
        captured = tmp_path / "captured.b64"
        captured.write_text(response_b64(roles=[f"{OPTION.role_arn},{OPTION.provider_arn}"]))
        done = samlfed(tmp_path, "login", "--assertion-file", str(captured), "--endpoint", url, "--role", OPTION.role_arn, "--print", "env")
    assert done.returncode == 1 and done.stdout == "" and "(NotAnStsAnswer)" in done.stderr, done.stderr


def test_aws_shaped_credentials_are_taken() -> None:
    token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/=="
    with answering(200, "text/xml", _answer_with("ASIAEXAMPLE0000000001", SECRET, token)) as url:
        credentials = assume(url, OPTION, response_b64(), None).credentials
    assert (credentials.access_key_id, credentials.secret_access_key, credentials.session_token) == ("ASIAEXAMPLE0000000001", SECRET, token)

"""What the IdP or STS says is printed on the user's terminal (a SOAP faultstring, STS's error Message): a hostile or
broken server's text must not drive the terminal (an 8-bit CSI, which XML allows, can clear the screen or move the
cursor) nor print lines of its own (a line break could add a "wrote profile" line login never wrote). Both were
printed as they came; they are now escaped as usage errors already were (terminal_text)."""

from __future__ import annotations

from pathlib import Path

from login_setup import samlfed, write_profile
from saml_factory import response_b64
from servers import answering

ROLE = "arn:aws:iam::111111111111:role/Developer"
PROVIDER = "arn:aws:iam::111111111111:saml-provider/Idp"
HOSTILE = "Not authorized\u009b2J\u202e\nsamlfed: wrote profile default"
ESCAPED = "Not authorized\\u009b2J\\u202e\\nsamlfed: wrote profile default"


def _sts_error(message: str) -> bytes:
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>AccessDenied</Code><Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    ).encode()


def _soap_fault(message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
        f"<S:Fault><faultcode>S:Client</faultcode><faultstring>{message}</faultstring></S:Fault></S:Body></S:Envelope>"
    ).encode()


def test_an_sts_error_message_is_printed_escaped(tmp_path: Path) -> None:
    captured = tmp_path / "captured.b64"
    captured.write_text(response_b64(roles=[f"{ROLE},{PROVIDER}"]))
    with answering(403, "text/xml", _sts_error(HOSTILE)) as url:
        done = samlfed(tmp_path, "login", "--assertion-file", str(captured), "--endpoint", url, "--role", ROLE, "--print", "env")
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr == (f"samlfed: {ROLE}: the SAML response was refused: {ESCAPED} (AccessDenied); "
                           "samlfed's log says which check or trust-policy statement refused it\n")


def test_an_identity_providers_fault_is_printed_escaped(tmp_path: Path) -> None:
    with answering(500, "text/xml", _soap_fault(HOSTILE)) as idp:
        write_profile(tmp_path, "https://sts.example", ecp_url=f"{idp}/ecp", username="alice")
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="pw\n")
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr == f"samlfed: the identity provider refused the sign-in: {ESCAPED}\n"

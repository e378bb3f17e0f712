"""Encrypted assertions end to end in the demo federation: the built-in IdP encrypts for the `aws` application
(`samlfed idp encryption-keypair`, the certificate in idp.yaml), samlfed's provider holds the private key, and
AssumeRoleWithSAML (ECP) and the console sign-in (IdP portal → /saml/acs/{SAMLProviderUUID}) both work."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from demo_stack import demo_server, forms, login, saml_response_of
from lxml import etree
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.iam.arns import role_arn
from samlfed.iam.provider_keys import EncryptionChange
from samlfed.iam.providers import update_saml_provider
from samlfed.iam.roles import update_trust_policy
from samlfed.idp.demo import AWS_ACS, provider_arn
from samlfed.idp.directory import read_yaml, write_yaml

DEV, PROD = "111111111111", "222222222222"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def _enable_encryption(ctx, idp, url: str) -> None:  # type: ignore[no-untyped-def]
    """What a team does: make a key pair, upload the key to the provider, give the IdP the certificate and the
    provider's own ACS URL, and admit that URL as SAML:aud in the role's trust policy."""
    out = idp.config_path.parent / "sp-encryption"
    made = CliRunner().invoke(app, ["idp", "encryption-keypair", str(out)])
    assert made.exit_code == 0, made.output
    update_saml_provider(
        ctx, DEV, provider_arn(DEV), encryption=EncryptionChange(add_private_key=(out / "encryption-key.pem").read_text()),
    )
    own_acs = f"{url}/saml/acs/{ctx.store.get_provider(provider_arn(DEV)).uuid}"
    config = read_yaml(idp.config_path)
    aws = config["service_providers"]["aws"]
    aws["encryption_certificate"] = (out / "encryption-cert.pem").read_text()
    aws["encryption"] = {"data_algorithm": "aes256-gcm", "key_transport": "rsa-oaep", "detached_key": True}
    aws["acs_urls"] = [own_acs, *aws["acs_urls"]]  # the portal posts to the first
    write_yaml(idp.config_path, config)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider_arn(DEV)},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
            "Condition": {"StringEquals": {"SAML:aud": [own_acs, f"{url}/saml", AWS_ACS]}},
        }],
    }
    update_trust_policy(ctx, DEV, "Developer", json.dumps(trust))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with demo_server(tmp_path_factory.mktemp("encrypted-demo"), _enable_encryption) as stack:
        stack["own_acs"] = f"{stack['url']}/saml/acs/{stack['ctx'].store.get_provider(provider_arn(DEV)).uuid}"
        yield stack


def _encrypted(saml_response: str, *plaintext: str) -> bool:
    """The response carries an EncryptedAssertion, no Assertion, and none of the given texts in clear."""
    xml = base64.b64decode(saml_response)
    root = etree.fromstring(xml)
    return (
        root.find(f"{{{SAML}}}EncryptedAssertion") is not None and root.find(f"{{{SAML}}}Assertion") is None
        and not any(text.encode() in xml for text in plaintext)
    )


def _ecp_response(demo: dict, username: str) -> str:
    request = (
        '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="_ecp-encrypted" Version="2.0" IssueInstant="{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}" '
        f'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:PAOS" AssertionConsumerServiceURL="{AWS_ACS}">'
        "<saml:Issuer>urn:amazon:webservices</saml:Issuer></samlp:AuthnRequest></S:Body></S:Envelope>"
    )
    answer = httpx.post(f"{demo['url']}/idp/ecp", content=request.encode(), auth=(username, demo["passwords"][username]),
                        headers={"Content-Type": "text/xml"})
    assert answer.status_code == 200, answer.text
    response = etree.fromstring(answer.content).find(f"{{{SOAP}}}Body/{{urn:oasis:names:tc:SAML:2.0:protocol}}Response")
    return base64.b64encode(etree.tostring(response)).decode()


def test_assume_role_with_saml_accepts_the_idps_encrypted_ecp_response(demo: dict) -> None:
    saml_response = _ecp_response(demo, "alice")
    assert _encrypted(saml_response, "alice@acme.example", "Developer")
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    result = sts.assume_role_with_saml(RoleArn=role_arn(DEV, "Developer"), PrincipalArn=provider_arn(DEV), SAMLAssertion=saml_response)
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
    assert result["SourceIdentity"] == "alice"
    # the other account's provider holds no private key: it cannot read the assertion
    with pytest.raises(ClientError) as refused:
        sts.assume_role_with_saml(RoleArn=role_arn(PROD, "ReadOnly"), PrincipalArn=provider_arn(PROD), SAMLAssertion=_ecp_response(demo, "alice"))
    assert refused.value.response["Error"]["Code"] == "InvalidIdentityToken"


def test_idp_assertion_prints_an_encrypted_response_sts_accepts(demo: dict) -> None:
    settings = demo["settings"]
    printed = CliRunner().invoke(app, [
        "idp", "assertion", "--user", "alice", "--acs", AWS_ACS, "--data-dir", str(Path(settings.data_dir)), "--public-url", demo["url"],
    ])
    assert printed.exit_code == 0, printed.output
    saml_response = printed.output.strip()
    assert _encrypted(saml_response, "alice@acme.example")
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    result = sts.assume_role_with_saml(RoleArn=role_arn(DEV, "Developer"), PrincipalArn=provider_arn(DEV), SAMLAssertion=saml_response)
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_idp_initiated_console_sign_in_posts_to_the_providers_own_acs_url(demo: dict) -> None:
    with httpx.Client() as browser:
        login(demo, browser, "alice")
        portal = browser.get(f"{demo['url']}/idp/")
        launch = next(f for f in forms(portal) if "/launch/aws" in (f["action"] or ""))
        acs, saml_response, _ = saml_response_of(browser.post(launch["action"], data=launch["fields"]))
        assert acs == demo["own_acs"]
        assert _encrypted(saml_response, "alice@acme.example")

        chooser = browser.post(acs, data={"SAMLResponse": saml_response})
        assert chooser.status_code == 200, chooser.text[-800:]
        assert role_arn(DEV, "Developer") in chooser.text
        form = next(f for f in forms(chooser) if "SAMLResponse" in f["fields"])
        assert form["action"] == acs.removeprefix(demo["url"])
        signed_in = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": role_arn(DEV, "Developer")})
        assert signed_in.status_code == 303, signed_in.text[-800:]
        console = browser.get(f"{demo['url']}{signed_in.headers['location']}")
        assert console.status_code == 200 and "Developer" in console.text

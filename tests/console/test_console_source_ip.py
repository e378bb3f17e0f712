"""Console sign-in gives trust policies the browser's aws:SourceIp and aws:SecureTransport, as AssumeRoleWithSAML
does: choosing a role signs in when its trust policy admits the browser's network, and only then."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest
from demo_stack import forms, idp_initiated

from samlfed.iam.arns import role_arn

PROD = "222222222222"
READ_ONLY = role_arn(PROD, "ReadOnly")


def signs_in_after_requiring(demo: dict, condition: dict) -> bool:
    """Adds `condition` to ReadOnly's trust policy, signs alice in, and tells whether choosing ReadOnly signs her in
    (the chooser lists it either way, as AWS's does)."""
    key_id, secret = demo["seed"].admin_keys[PROD]
    iam = boto3.client("iam", endpoint_url=demo["url"], region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret)
    original = iam.get_role(RoleName="ReadOnly")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(json.dumps(original))
    for statement in trust["Statement"]:
        statement.setdefault("Condition", {}).update(condition)
    iam.update_assume_role_policy(RoleName="ReadOnly", PolicyDocument=json.dumps(trust))
    try:
        with httpx.Client() as browser:
            chooser = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": idp_initiated(demo, browser, "alice")})
            assert chooser.status_code == 200 and READ_ONLY in chooser.text, chooser.text[:500]
            form = forms(chooser)[0]
            chosen = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": READ_ONLY})
        assert chosen.status_code in (303, 403), chosen.text[:500]
        return chosen.status_code == 303
    finally:
        iam.update_assume_role_policy(RoleName="ReadOnly", PolicyDocument=json.dumps(original))


@pytest.mark.parametrize(
    ("condition", "admitted"),
    [
        ({"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}, True),
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, False),
    ],
    ids=["own-address", "other-network", "plain-http", "https-required"],
)
def test_a_role_signs_in_when_its_trust_policy_admits_the_browser(demo: dict, condition: dict, admitted: bool) -> None:
    assert signs_in_after_requiring(demo, condition) is admitted

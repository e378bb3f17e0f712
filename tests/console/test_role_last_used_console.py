"""A console sign-in is a use of the role chosen (GetRole's RoleLastUsed); a role only offered is not used."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import httpx
from demo_stack import forms, idp_initiated

from samlfed.iam.arns import role_arn

DEV, PROD = "111111111111", "222222222222"


def iam_of(demo: dict, account_id: str):  # type: ignore[no-untyped-def]
    key_id, secret = demo["seed"].admin_keys[account_id]
    return boto3.client("iam", endpoint_url=demo["url"], region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret)


def test_the_role_signed_in_to_is_used_and_the_other_offered_role_is_not(demo: dict) -> None:
    prod, dev = iam_of(demo, PROD), iam_of(demo, DEV)
    assert prod.get_role(RoleName="ReadOnly")["Role"]["RoleLastUsed"] == {}
    with httpx.Client() as browser:
        saml_response = idp_initiated(demo, browser, "alice")
        chooser = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": saml_response})
        form = forms(chooser)[0]
        before = datetime.now(UTC).replace(microsecond=0)  # IAM dates are whole seconds
        answer = browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": role_arn(PROD, "ReadOnly")})
        after = datetime.now(UTC)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    last_used = prod.get_role(RoleName="ReadOnly")["Role"]["RoleLastUsed"]
    assert before <= last_used["LastUsedDate"] <= after and last_used["Region"] == "us-east-1"
    assert dev.get_role(RoleName="Developer")["Role"]["RoleLastUsed"] == {}  # offered in the chooser, not chosen

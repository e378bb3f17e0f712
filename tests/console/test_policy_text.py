"""The console's policy documents read as written: "Équipe", not "\\u00c9quipe" (found by a Unicode probe)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.api.auth import Session
from samlfed.config import Settings
from samlfed.console.web import _readable_role_policies
from samlfed.iam.role_policies import put_role_policy
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


def test_a_policys_non_ascii_text_is_shown_as_written(tmp_path: Path) -> None:
    ctx = developer_world(Settings(data_dir=tmp_path))
    reads = {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["Équipe ñ", "山田", "admin\u200b\u202eniamda\u0085"]}}}
    document = json.dumps({"Version": "2012-10-17", "Statement": [reads]})  # written with \u escapes, as json.dumps does
    assert "\\u00c9quipe" in document
    put_role_policy(ctx, ACCOUNT, "Developer", "reads", document)
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5), principal_tags={"team": "Équipe ñ"})
    claims = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials.claims
    shown = _readable_role_policies(ctx, Session(claims, "ASIAEXAMPLE", "us-east-1"), "Developer", {"source_ip": None, "secure_transport": True})
    (text,) = [policy["document"] for policy in shown["policies"]]
    assert '"Équipe ñ"' in text and '"山田"' in text
    # but what would not show, or would show as something else (a bidirectional override), stays escaped (the review)
    assert '"admin\\u200b\\u202eniamda\\u0085"' in text and not any(ch in text for ch in "\u200b\u202e\u0085")
    assert json.loads(text) == json.loads(document)

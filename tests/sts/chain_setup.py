"""The world of the role-chaining tests: the developer world plus a role Target whose trust policy names the
Developer role, Developer sessions from signed assertions, and the policy documents the tests write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.roles import create_role
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from samlfed.sts.credentials import SessionClaims, TemporaryCredentials

TARGET = f"arn:aws:iam::{ACCOUNT}:role/Target"
SAML_TRUST = {
    "Effect": "Allow",
    "Principal": {"Federated": PROVIDER_ARN},
    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
}
"""A Developer trust statement that admits assertions carrying session tags and a SourceIdentity."""


def chain_world(data_dir: Path) -> ServiceContext:
    context = developer_world(Settings(data_dir=data_dir))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sts:AssumeRole"}]}
    create_role(context, ACCOUNT, "Target", json.dumps(trust))
    return context


def developer_session(ctx: ServiceContext, session_policy: str | None = None, **assertion: object) -> SessionClaims:
    """A Developer session; `assertion` overrides the signed response's fields (saml_factory.spec)."""
    return developer_credentials(ctx, session_policy, **assertion).claims


def developer_credentials(ctx: ServiceContext, session_policy: str | None = None, **assertion: object) -> TemporaryCredentials:
    """developer_session's credentials, for a client of a running server."""
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5), **assertion)
    return assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh, policy=session_policy)).credentials


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trusting(principal: str, *actions: str, condition: dict | None = None) -> dict:
    """A trust statement admitting `principal` (a role ARN) for `actions` (sts:AssumeRole when none are named)."""
    return {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": list(actions or ("sts:AssumeRole",)),
        **({"Condition": condition} if condition else {}),
    }


def allowing(action: str, condition: dict) -> dict:
    """An identity policy statement allowing `action` on every resource under `condition`."""
    return {"Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition}

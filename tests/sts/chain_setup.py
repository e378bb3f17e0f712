"""The world of the role-chaining tests: the developer world plus a role Target whose trust policy names the
Developer role, and Developer sessions from signed assertions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam import service
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from samlfed.sts.credentials import SessionClaims

TARGET = f"arn:aws:iam::{ACCOUNT}:role/Target"


def chain_world(data_dir: Path) -> ServiceContext:
    context = developer_world(Settings(data_dir=data_dir))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sts:AssumeRole"}]}
    service.create_role(context, ACCOUNT, "Target", json.dumps(trust))
    return context


def developer_session(ctx: ServiceContext, session_policy: str | None = None, **assertion: object) -> SessionClaims:
    """A Developer session; `assertion` overrides the signed response's fields (saml_factory.spec)."""
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5), **assertion)
    return assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh, policy=session_policy)).credentials.claims

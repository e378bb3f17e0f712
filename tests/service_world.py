"""saml_factory's IdP in an in-process samlfed: its account, the IdP as a SAML provider, and a Developer role that
trusts it for sts:AssumeRoleWithSAML and sts:TagSession."""

from __future__ import annotations

import json

from saml_factory import ACCOUNT, ENTITY_ID, PROVIDER_ARN, signer

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider
from samlfed.iam.roles import create_role
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]})


def developer_world(settings: Settings) -> ServiceContext:
    ctx = build_context(settings)
    create_account(ctx, ACCOUNT)
    create_saml_provider(ctx, ACCOUNT, "ExampleIdP", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode())
    create_role(ctx, ACCOUNT, "Developer", TRUST)
    return ctx

"""The console tests' world: the demo federation, plus an account whose provider is the test factory's IdP (any assertion shape)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from saml_factory import ENTITY_ID, response_b64, signer

from samlfed.console.sp import service_provider_key
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider
from samlfed.iam.roles import create_role
from samlfed.idp.directory import read_yaml, write_yaml
from samlfed.saml.metadata import build_idp_metadata

FACTORY_ACCOUNT = "333333333333"
FACTORY_PROVIDER = f"arn:aws:iam::{FACTORY_ACCOUNT}:saml-provider/ExampleIdP"
VIEWER = f"arn:aws:iam::{FACTORY_ACCOUNT}:role/Viewer"


def prepare(ctx, idp, _url) -> None:  # type: ignore[no-untyped-def]
    """The IdP requires our AuthnRequests to be signed, with the key /saml/metadata publishes; plus the factory account."""
    config = read_yaml(idp.config_path)
    config["service_providers"]["aws"]["request_certificate"] = service_provider_key(ctx).cert_pem().decode()
    config["service_providers"]["aws"]["require_signed_requests"] = True
    write_yaml(idp.config_path, config)
    add_factory_account(ctx)


def add_factory_account(ctx) -> None:  # type: ignore[no-untyped-def]
    create_account(ctx, FACTORY_ACCOUNT, None)
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    create_saml_provider(ctx, FACTORY_ACCOUNT, "ExampleIdP", metadata)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": FACTORY_PROVIDER},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
        }],
    }
    create_role(ctx, FACTORY_ACCOUNT, "Viewer", json.dumps(trust), max_session_duration=3600)


def factory_response(**overrides: object) -> str:
    """A response from the factory IdP for the Viewer role, issued now, addressed to AWS's ACS."""
    values: dict[str, object] = {
        "roles": [f"{VIEWER},{FACTORY_PROVIDER}"], "issue_instant": datetime.now(UTC) - timedelta(seconds=5),
        "session_duration": None, "principal_tags": {},
    }
    values.update(overrides)
    return response_b64(**values)

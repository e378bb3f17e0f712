"""A samlfed server on 127.0.0.1 for the end-to-end tests, with one account and its administrator key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_setup import ACCOUNT, TRUST_POLICY, client
from saml_factory import ENTITY_ID, PROVIDER_ARN, signer
from servers import app_in_thread

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("data")))
    admin = create_account(ctx, ACCOUNT, "acme-dev")
    with app_in_thread(build_app(ctx)) as url:
        yield {"url": url, "admin": admin}


@pytest.fixture(scope="module")
def registered(server: dict) -> dict:
    iam = client(server, "iam")
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    arn = iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="ExampleIdP")["SAMLProviderArn"]
    assert arn == PROVIDER_ARN
    role = iam.create_role(RoleName="Developer", AssumeRolePolicyDocument=TRUST_POLICY, MaxSessionDuration=7200)["Role"]
    return {"role": role}



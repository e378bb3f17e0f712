"""AssumeRoleWithSAML over state that the IAM API would never have stored: it must fail closed, never crash."""

from __future__ import annotations

import json
import logging
from copy import deepcopy
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, NOW, PROVIDER_ARN, response_b64, signer
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.saml import constants as c
from samlfed.saml.metadata import build_idp_metadata
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    ctx = developer_world(Settings(data_dir=tmp_path))
    ctx.clock = lambda: NOW + timedelta(seconds=5)
    return ctx


def assume(ctx: ServiceContext) -> object:
    request = AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=response_b64(issue_instant=NOW))
    return assume_role_with_saml(ctx, request)


@pytest.mark.parametrize("stored", ["{not json", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}), ""])
def test_a_stored_trust_policy_that_does_not_parse_admits_no_one(ctx: ServiceContext, stored: str) -> None:
    """A trust policy written around the API (a hand-edited database, an older grammar) is a denial, not a 500."""
    assert assume(ctx).role.arn == DEV_ROLE  # the control: the role as created admits the assertion
    ctx.store.update_role(ACCOUNT, "Developer", trust_policy=stored)
    with pytest.raises(ServiceError) as info:
        assume(ctx)
    assert (info.value.code, info.value.message, info.value.status) == ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)


def test_stored_metadata_that_no_longer_parses_trusts_no_key(ctx: ServiceContext, caplog: pytest.LogCaptureFixture) -> None:
    """Metadata an older, laxer parser stored (here a KeyDescriptor with two ds:KeyInfo, refused since) verifies
    nothing: the response is refused as unsigned would be, not answered with a 500, and the log says why."""
    assert assume(ctx).role.arn == DEV_ROLE
    root = etree.fromstring(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    key_info = root.find(f".//{c.DS_KEY_INFO}")
    key_info.addnext(deepcopy(key_info))
    ctx.store.update_provider(PROVIDER_ARN, metadata=(etree.tostring(root).decode(), None))
    with caplog.at_level(logging.INFO, logger="samlfed.sts"), pytest.raises(ServiceError) as info:
        assume(ctx)
    assert (info.value.code, info.value.message, info.value.status) == ("InvalidIdentityToken", "Response signature invalid", 400)
    assert f"the registered metadata of {PROVIDER_ARN} no longer parses: a KeyDescriptor holds more than one ds:KeyInfo" in caplog.text

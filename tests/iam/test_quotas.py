"""IAM quotas answer LimitExceeded, as AWS does (the limits are patched down to keep the test small)."""

from __future__ import annotations

import json

import pytest
from saml_factory import ENTITY_ID, signer

from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam import service
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111111111111:saml-provider/P0"}, "Action": "sts:AssumeRoleWithSAML"}]})


def test_quotas(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = build_context(Settings(data_dir=tmp_path))
    service.create_account(ctx, "111111111111")
    monkeypatch.setattr(service, "MAX_ROLES", 2)
    monkeypatch.setattr(service, "MAX_PROVIDERS", 1)
    service.create_role(ctx, "111111111111", "R0", TRUST)
    service.create_role(ctx, "111111111111", "R1", TRUST)
    with pytest.raises(ServiceError) as info:
        service.create_role(ctx, "111111111111", "R2", TRUST)
    assert (info.value.code, info.value.message, info.value.status) == ("LimitExceeded", "Cannot exceed quota for RolesPerAccount: 2", 409)
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    service.create_saml_provider(ctx, "111111111111", "P0", metadata)
    with pytest.raises(ServiceError) as info:
        service.create_saml_provider(ctx, "111111111111", "P1", metadata)
    assert info.value.code == "LimitExceeded"
    with pytest.raises(ServiceError) as info:
        service.create_saml_provider(ctx, "111111111111", "P2", "<x/>")
    assert info.value.code == "ValidationError" and "greater than or equal to 1000" in info.value.message

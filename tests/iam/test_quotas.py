"""IAM quotas answer LimitExceeded, as AWS does (the limits are patched down to keep the test small)."""

from __future__ import annotations

import json

import pytest
from saml_factory import ENTITY_ID, signer

from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam import providers, roles
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider
from samlfed.iam.role_policies import list_role_policies, put_role_policy
from samlfed.iam.roles import create_role
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111111111111:saml-provider/P0"}, "Action": "sts:AssumeRoleWithSAML"}]})


def test_quotas(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, "111111111111")
    monkeypatch.setattr(roles, "MAX_ROLES", 2)
    monkeypatch.setattr(providers, "MAX_PROVIDERS", 1)
    create_role(ctx, "111111111111", "R0", TRUST)
    create_role(ctx, "111111111111", "R1", TRUST)
    with pytest.raises(ServiceError) as info:
        create_role(ctx, "111111111111", "R2", TRUST)
    assert (info.value.code, info.value.message, info.value.status) == ("LimitExceeded", "Cannot exceed quota for RolesPerAccount: 2", 409)
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    create_saml_provider(ctx, "111111111111", "P0", metadata)
    with pytest.raises(ServiceError) as info:
        create_saml_provider(ctx, "111111111111", "P1", metadata)
    assert info.value.code == "LimitExceeded"
    with pytest.raises(ServiceError) as info:
        create_saml_provider(ctx, "111111111111", "P2", "<x/>")
    assert info.value.code == "ValidationError" and "greater than or equal to 1000" in info.value.message


def _policy_of_size(size: int) -> str:
    """An identity policy of exactly `size` characters other than whitespace (and some whitespace besides)."""
    head = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::'
    tail = '"}]}'
    counted = len("".join((head + tail).split()))
    return head + "b" * (size - counted) + tail


def test_a_roles_inline_policies_hold_at_most_10240_characters_without_whitespace(tmp_path) -> None:
    """Found by probing: several 200,000-character inline policies were accepted on one role."""
    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, "111111111111")
    create_role(ctx, "111111111111", "R0", TRUST)
    put_role_policy(ctx, "111111111111", "R0", "a", _policy_of_size(6000))
    put_role_policy(ctx, "111111111111", "R0", "b", _policy_of_size(4240))  # 10,240 in all: at the quota
    with pytest.raises(ServiceError) as info:
        put_role_policy(ctx, "111111111111", "R0", "c", _policy_of_size(100))
    assert (info.value.code, info.value.message, info.value.status) == ("LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role R0", 409)
    assert list_role_policies(ctx, "111111111111", "R0") == ["a", "b"]
    put_role_policy(ctx, "111111111111", "R0", "b", _policy_of_size(4000))  # a replaced policy counts once
    put_role_policy(ctx, "111111111111", "R0", "c", _policy_of_size(240))

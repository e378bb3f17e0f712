"""AWS's name and ARN patterns are Java regexes, where \\w and \\d are ASCII: so are samlfed's."""

from __future__ import annotations

import pytest
from saml_factory import ENTITY_ID, signer

from samlfed.api.sigv4 import _CREDENTIAL
from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam import arns
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider
from samlfed.policy.conditions import _date
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

ARABIC_INDIC_ACCOUNT = "\u0661" * 12  # twelve Unicode digits, not ASCII ones


def test_arns_with_non_ascii_names_or_digits_are_not_arns() -> None:
    assert arns.parse_role_arn("arn:aws:iam::111111111111:role/Dev") is not None
    assert arns.parse_provider_arn("arn:aws:iam::111111111111:saml-provider/IdP") is not None
    for arn in ("arn:aws:iam::111111111111:role/Dév", f"arn:aws:iam::{ARABIC_INDIC_ACCOUNT}:role/Dev", "arn:aws:iam::111111111111:role/pâth/Dev"):
        assert arns.parse_role_arn(arn) is None, arn
    for arn in ("arn:aws:iam::111111111111:saml-provider/IdPé", f"arn:aws:iam::{ARABIC_INDIC_ACCOUNT}:saml-provider/IdP"):
        assert arns.parse_provider_arn(arn) is None, arn


def test_provider_names_and_account_ids_are_ascii(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx = build_context(Settings(data_dir=tmp_path))
    with pytest.raises(ServiceError) as info:
        create_account(ctx, ARABIC_INDIC_ACCOUNT)
    assert info.value.message == "An account ID is 12 digits"
    create_account(ctx, "111111111111")
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    with pytest.raises(ServiceError) as info:
        create_saml_provider(ctx, "111111111111", "Dév", metadata)
    assert info.value.code == "ValidationError" and "Member must satisfy regular expression pattern: [\\w._-]+" in info.value.message
    assert create_saml_provider(ctx, "111111111111", "Dev_1.a-b", metadata).name == "Dev_1.a-b"


def test_dates_and_credential_scopes_take_ascii_digits_only() -> None:
    assert _date("1700000000").year == 2023
    with pytest.raises(ValueError):
        _date("\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660")
    assert _CREDENTIAL.fullmatch("AKIAEXAMPLEEXAMPLE00/20261201/us-east-1/sts/aws4_request")
    assert not _CREDENTIAL.fullmatch("AKIAEXAMPLEEXAMPLE00/\u0662\u0660\u0662\u0666\u0661\u0662\u0660\u0661/us-east-1/sts/aws4_request")

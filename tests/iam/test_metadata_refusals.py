"""A refused metadata document answers AWS's one message ("Could not parse metadata."); what was wrong with it goes
to the log, where the validation guide sends the operator. It was dropped (the docs walkthrough probe)."""

from __future__ import annotations

from pathlib import Path

import pytest
from saml_factory import ENTITY_ID, signer

from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider, list_saml_providers, update_saml_provider
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

ACCOUNT = "111111111111"
ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"


def _two_idps() -> str:
    """An EntitiesDescriptor holding two IdPs: which one the provider stands for would be a guess."""
    one = build_idp_metadata(ENTITY_ID, [signer().certificate])
    other = build_idp_metadata("https://other.example.test/idp", [signer().certificate])
    strip = lambda xml: xml.decode().split("?>", 1)[-1] if xml.startswith(b"<?xml") else xml.decode()  # noqa: E731
    return f'<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">{strip(one)}{strip(other)}</EntitiesDescriptor>'


def test_create_and_update_log_why_the_metadata_was_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, ACCOUNT)
    good = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    for call in (
        lambda document: create_saml_provider(ctx, ACCOUNT, "Corp", document),
        lambda document: update_saml_provider(ctx, ACCOUNT, ARN, document),
    ):
        caplog.clear()
        with caplog.at_level("INFO", logger="samlfed.iam"), pytest.raises(ServiceError) as refused:
            call(_two_idps())
        assert (refused.value.code, refused.value.message) == ("InvalidInput", "Could not parse metadata.")
        [line] = [r.getMessage() for r in caplog.records if "metadata refused" in r.getMessage()]
        assert line == f"SAML provider {ARN}: metadata refused: 'the metadata describes 2 identity providers; register them one at a time'"
        if not list_saml_providers(ctx, ACCOUNT):  # for the update
            create_saml_provider(ctx, ACCOUNT, "Corp", good)

"""A provider's validation opt-ins (legacy algorithms, response-only signatures, required condition bounds): stored
on both backends, set through the service and the CLI, and applied by the server's AssumeRoleWithSAML."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from postgres_scratch import fresh_store
from saml_factory import ACCOUNT, DEV_ROLE, NOW, PROVIDER_ARN, response_b64, signer
from service_world import developer_world
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.provider_options import provider_policy, set_validation_options
from samlfed.iam.providers import get_saml_provider
from samlfed.saml import ProviderPolicy
from samlfed.saml import constants as c
from samlfed.saml.signing import sign_element
from samlfed.store import Account, SamlProvider
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

LATER = NOW + timedelta(seconds=5)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_store_keeps_the_options_on_both_backends(backend: str, tmp_path: Path) -> None:
    with fresh_store(backend, tmp_path) as store:
        store.create_account(Account(ACCOUNT, None, NOW))
        store.create_provider(SamlProvider(PROVIDER_ARN, ACCOUNT, "ExampleIdP", "ABCDEFGHIJKLMNOPQRSTUV", "<md/>", None, NOW))
        assert store.get_provider(PROVIDER_ARN).validation_options is None
        store.set_validation_options(PROVIDER_ARN, lambda current: {**(current or {}), "allow_response_only_signature": True})
        assert store.get_provider(PROVIDER_ARN).validation_options == {"allow_response_only_signature": True}
        store.set_validation_options(PROVIDER_ARN, lambda current: None)
        assert store.get_provider(PROVIDER_ARN).validation_options is None


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    ctx = developer_world(Settings(data_dir=tmp_path))
    ctx.clock = lambda: LATER
    return ctx


def test_options_change_one_at_a_time_and_store_only_departures_from_strict(ctx: ServiceContext) -> None:
    assert provider_policy(get_saml_provider(ctx, ACCOUNT, PROVIDER_ARN)) == ProviderPolicy()
    after = set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_legacy_algorithms": True})
    assert after == ProviderPolicy(allow_legacy_algorithms=True)
    after = set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"require_condition_bounds": True})
    assert after == ProviderPolicy(allow_legacy_algorithms=True, require_condition_bounds=True)
    assert ctx.store.get_provider(PROVIDER_ARN).validation_options == {"allow_legacy_algorithms": True, "require_condition_bounds": True}
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_legacy_algorithms": False, "require_condition_bounds": False})
    assert ctx.store.get_provider(PROVIDER_ARN).validation_options is None


def test_unknown_options_and_providers_are_refused(ctx: ServiceContext) -> None:
    with pytest.raises(ServiceError) as info:
        set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_everything": True})
    assert (info.value.code, info.value.status) == ("InvalidInput", 400) and "allow_everything" in info.value.message
    with pytest.raises(ServiceError) as info:
        set_validation_options(ctx, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:saml-provider/Nobody", {"allow_legacy_algorithms": True})
    assert info.value.code == "NoSuchEntity"
    assert ctx.store.get_provider(PROVIDER_ARN).validation_options is None


def assume(ctx: ServiceContext, saml: str) -> str:
    """'allowed', or the AWS error code."""
    try:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml))
    except ServiceError as error:
        return f"{error.code}: {error.message}"
    return "allowed"


REFUSED = "InvalidIdentityToken: Response signature invalid"


def test_a_response_only_signature_needs_the_providers_opt_in(ctx: ServiceContext) -> None:
    saml = response_b64("response", issue_instant=NOW)
    assert assume(ctx, saml) == REFUSED
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_response_only_signature": True})
    assert assume(ctx, saml) == "allowed"
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_response_only_signature": False})
    assert assume(ctx, saml) == REFUSED


def _sha1_signed(issue_instant) -> str:  # type: ignore[no-untyped-def]
    def sign_sha1(root) -> None:  # type: ignore[no-untyped-def]
        sign_element(root.find(c.ASSERTION), signer(), signature_algorithm=c.ALG_RSA_SHA1, digest_algorithm=c.ALG_SHA1)

    return response_b64("none", issue_instant=issue_instant, after_sign=sign_sha1)


def test_sha1_needs_the_legacy_opt_in(ctx: ServiceContext) -> None:
    saml = _sha1_signed(NOW)
    assert assume(ctx, saml) == REFUSED
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_legacy_algorithms": True})
    assert assume(ctx, saml) == "allowed"


def test_required_condition_bounds_refuse_an_open_ended_assertion(ctx: ServiceContext) -> None:
    def drop_not_before(root) -> None:  # type: ignore[no-untyped-def]
        conditions = root.find(f"{c.ASSERTION}/{c.CONDITIONS}")
        del conditions.attrib["NotBefore"]

    saml = response_b64(issue_instant=NOW, before_sign=drop_not_before)
    assert assume(ctx, saml) == "allowed"  # AWS requires only the SubjectConfirmationData bound
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"require_condition_bounds": True})
    assert assume(ctx, saml).startswith("InvalidIdentityToken")


# --- the command line ----------------------------------------------------------------------------------


def test_cli_sets_and_gets_the_options(ctx: ServiceContext, tmp_path: Path) -> None:
    runner = CliRunner()
    get = runner.invoke(app, ["providers", "validation-options", "get", PROVIDER_ARN, "--data-dir", str(tmp_path)])
    assert get.exit_code == 0, get.output
    assert json.loads(get.output) == {"allow_legacy_algorithms": False, "allow_response_only_signature": False, "require_condition_bounds": False}
    changed = runner.invoke(app, ["providers", "validation-options", "set", PROVIDER_ARN, "--allow-response-only-signature", "--data-dir", str(tmp_path)])
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output)["allow_response_only_signature"] is True
    again = runner.invoke(app, ["providers", "validation-options", "set", PROVIDER_ARN, "--no-allow-response-only-signature", "--data-dir", str(tmp_path)])
    assert json.loads(again.output)["allow_response_only_signature"] is False


def test_cli_refuses_an_empty_change_and_a_bad_arn(ctx: ServiceContext, tmp_path: Path) -> None:
    runner = CliRunner()
    nothing = runner.invoke(app, ["providers", "validation-options", "set", PROVIDER_ARN, "--data-dir", str(tmp_path)])
    assert nothing.exit_code == 2 and "name at least one option" in nothing.output
    bad = runner.invoke(app, ["providers", "validation-options", "get", "ExampleIdP", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "is not a SAML provider ARN" in bad.output


def test_the_doctor_tries_each_option_with_the_servers_verdict(ctx: ServiceContext, tmp_path: Path) -> None:
    """The doctor's --allow-*/--require-* flags are the provider's options: same response, same verdict."""
    from samlfed.saml.metadata import build_idp_metadata

    def drop_not_before(root) -> None:  # type: ignore[no-untyped-def]
        del root.find(f"{c.ASSERTION}/{c.CONDITIONS}").attrib["NotBefore"]

    metadata = tmp_path / "idp.xml"
    metadata.write_bytes(build_idp_metadata("https://idp.example.test/saml", [signer().certificate]))
    cases = [
        ("allow_response_only_signature", "--allow-response-only-signature", response_b64("response", issue_instant=NOW)),
        ("allow_legacy_algorithms", "--allow-legacy-algorithms", _sha1_signed(NOW)),
        ("require_condition_bounds", "--require-condition-bounds", response_b64(issue_instant=NOW, before_sign=drop_not_before)),
    ]
    for option, flag, saml in cases:
        response = tmp_path / f"{option}.b64"
        response.write_text(saml)
        for on in (False, True):
            set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {option: on})
            server = assume(ctx, saml) == "allowed"
            args = ["doctor", str(response), "--metadata", str(metadata), "--now", "2026-11-24T12:00:05Z", *([flag] if on else [])]
            doctor = CliRunner().invoke(app, args).exit_code
            assert doctor == (0 if server else 1), (option, on)
        set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {option: False})

"""`samlfed doctor --trust-policy`: the trust policy's verdict on a valid response is the server's, and a refusal
names the action, the statement and the condition that refused it."""

from __future__ import annotations

import json
import random
import string
from datetime import timedelta
from pathlib import Path

import pytest
from saml_factory import ACCOUNT, DEV_ROLE, NOW, PROVIDER_ARN, response_b64, signer, trust
from service_world import developer_world
from typer.testing import CliRunner

from samlfed import doctor
from samlfed.cli import app
from samlfed.config import Settings
from samlfed.console.signin import SignInRefused, make_offer
from samlfed.context import ServiceContext
from samlfed.doctor import RoleTrust, TrustChoice, diagnose
from samlfed.doctor_report import verdict
from samlfed.errors import ServiceError
from samlfed.iam.provider_options import set_attribute_mapping, set_validation_options
from samlfed.saml import RolePair, ValidationSettings, validate
from samlfed.saml.metadata import build_idp_metadata
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from samlfed.sts.trust_context import SESSION_TAGS_TITLE

AUD = "https://signin.aws.amazon.com/saml"
LATER = NOW + timedelta(seconds=5)


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: object = ("sts:AssumeRoleWithSAML", "sts:TagSession"), condition: dict | None = None, principal: str = PROVIDER_ARN, sid: str | None = None) -> dict:
    statement: dict = {"Effect": "Allow", "Principal": {"Federated": principal}, "Action": list(actions) if isinstance(actions, tuple) else actions}
    if condition:
        statement["Condition"] = condition
    if sid:
        statement["Sid"] = sid
    return statement


# (id, trust policy, assertion overrides, source IP, attribute mapping)
CASES = [
    ("plain", policy(allow()), {}, None, None),
    ("aud matches", policy(allow(condition={"StringEquals": {"SAML:aud": AUD}})), {}, None, None),
    ("aud is regional", policy(allow(condition={"StringEquals": {"SAML:aud": "https://eu-west-1.signin.aws.amazon.com/saml"}})), {}, None, None),
    ("no TagSession with tags", policy(allow(actions="sts:AssumeRoleWithSAML")), {}, None, None),
    ("no TagSession, no tags", policy(allow(actions="sts:AssumeRoleWithSAML")), {"principal_tags": {}}, None, None),
    ("source identity not allowed", policy(allow()), {"source_identity": "alice"}, None, None),
    ("source identity allowed", policy(allow(actions=("sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"))), {"source_identity": "alice"}, None, None),
    ("other provider", policy(allow(principal=f"arn:aws:iam::{ACCOUNT}:saml-provider/Other")), {}, None, None),
    ("explicit deny", policy(allow(), {"Sid": "NoApollo", "Effect": "Deny", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:*",
                                       "Condition": {"StringEquals": {"aws:RequestTag/project": "apollo"}}}), {}, None, None),
    ("tag condition", policy(allow(condition={"StringEquals": {"aws:RequestTag/department": "Engineering"}})), {}, None, None),
    ("attribute condition fails", policy(allow(condition={"StringEquals": {"saml:sub": "bob@example.com"}})), {}, None, None),
    ("network allowed", policy(allow(condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), {}, "10.1.2.3", None),
    ("network refused", policy(allow(condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), {}, "192.0.2.7", None),
    ("network unknown", policy(allow(condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), {}, None, None),
    ("mapped tag needs TagSession", policy(allow(actions="sts:AssumeRoleWithSAML")), {"principal_tags": {}, "extra_attributes": {"mail": ["alice@example.com"]}},
     None, {"email": ["mail"]}),
    ("malformed", "{not json", {}, None, None),
]


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    ctx = developer_world(Settings(data_dir=tmp_path))
    ctx.clock = lambda: LATER
    return ctx


def server_allows(ctx: ServiceContext, trust_policy: str, saml: str, source_ip: str | None, mapping: dict | None) -> bool:
    ctx.store.update_role(ACCOUNT, "Developer", trust_policy=trust_policy)  # the store: IAM would refuse "malformed"
    set_attribute_mapping(ctx, ACCOUNT, PROVIDER_ARN, mapping)
    try:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml, source_ip=source_ip))
    except ServiceError as error:
        assert (error.code, error.status) == ("AccessDenied", 403), error.message
        return False
    return True


def doctor_says(trust_policy: str, saml: str, source_ip: str | None, mapping: dict | None):  # type: ignore[no-untyped-def]
    choice = TrustChoice(trust(), (), ())
    return diagnose(saml, choice, now=LATER, settings=ValidationSettings(), requested_role=RolePair(DEV_ROLE, PROVIDER_ARN),
                    role_trust=RoleTrust(trust_policy, source_ip=source_ip, attribute_mapping=mapping))


def _assertion(overrides: dict) -> str:
    extra = overrides.get("extra_attributes")
    rest = {k: v for k, v in overrides.items() if k != "extra_attributes"}
    return response_b64(issue_instant=NOW, **rest, **({"attributes": extra} if extra else {}))


@pytest.mark.parametrize(("name", "trust_policy", "overrides", "source_ip", "mapping"), CASES, ids=[c[0] for c in CASES])
def test_the_doctor_reaches_the_servers_verdict(ctx: ServiceContext, name: str, trust_policy: str, overrides: dict, source_ip: str | None, mapping: dict | None) -> None:
    saml = _assertion(overrides)
    diagnosis = doctor_says(trust_policy, saml, source_ip, mapping)
    assert diagnosis.verified is not None and diagnosis.error is None  # every case is a valid response
    assert diagnosis.valid == server_allows(ctx, trust_policy, saml, source_ip, mapping)
    trust_checks = [c for c in diagnosis.checks if c.id.startswith("trust.")]
    assert trust_checks and all(c.status in ("pass", "fail") for c in trust_checks)
    assert (diagnosis.refused_by_trust is None) == diagnosis.valid


def test_the_table_has_both_verdicts(ctx: ServiceContext) -> None:
    verdicts = {doctor_says(p, _assertion(o), ip, m).valid for _, p, o, ip, m in CASES}
    assert verdicts == {True, False}


def _checks(diagnosis) -> dict[str, tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    return {c.id: (c.status, c.message, c.hint) for c in diagnosis.checks if c.id.startswith("trust.")}


def test_a_wrong_audience_names_both_sides_and_the_recipient() -> None:
    regional = "https://eu-west-1.signin.aws.amazon.com/saml"
    diagnosis = doctor_says(policy(allow(condition={"StringEquals": {"SAML:aud": regional}}, sid="Federation")), _assertion({}), None, None)
    status, message, hint = _checks(diagnosis)["trust.assume_role_with_saml"]
    assert status == "fail"
    assert "statement 1 (Federation)" in message and "StringEquals SAML:aud fails" in message
    assert repr([AUD]) in message and repr([regional]) in message
    assert hint is not None and f"Recipient ({AUD})" in hint
    assert diagnosis.refused_by_trust == "trust.assume_role_with_saml"


def test_missing_tag_session_is_explained_and_the_assume_check_passes() -> None:
    diagnosis = doctor_says(policy(allow(actions="sts:AssumeRoleWithSAML")), _assertion({}), None, None)
    checks = _checks(diagnosis)
    assert checks["trust.assume_role_with_saml"][0] == "pass"
    status, message, hint = checks["trust.tag_session"]
    assert (status, message) == ("fail", "no Allow statement names sts:TagSession")
    assert hint is not None and "sts:TagSession" in hint and "PrincipalTag" in hint
    assert diagnosis.refused_by_trust == "trust.tag_session"


def test_an_explicit_deny_is_named() -> None:
    deny = {"Sid": "NoApollo", "Effect": "Deny", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:*",
            "Condition": {"StringEquals": {"aws:RequestTag/project": "apollo"}}}
    checks = _checks(doctor_says(policy(allow(), deny), _assertion({}), None, None))
    assert checks["trust.assume_role_with_saml"][:2] == ("fail", "sts:AssumeRoleWithSAML denied explicitly by statement 2 (NoApollo)")


def test_another_principal_is_told_how_to_name_the_provider() -> None:
    checks = _checks(doctor_says(policy(allow(principal=f"arn:aws:iam::{ACCOUNT}:saml-provider/Other")), _assertion({}), None, None))
    status, message, hint = checks["trust.assume_role_with_saml"]
    assert status == "fail" and PROVIDER_ARN in message
    assert hint == f'The statement needs "Principal": {{"Federated": "{PROVIDER_ARN}"}} (the exact provider ARN).'


def test_an_unknown_source_ip_fails_an_ip_condition_and_says_so() -> None:
    checks = _checks(doctor_says(policy(allow(condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), _assertion({}), None, None))
    status, message, hint = checks["trust.assume_role_with_saml"]
    assert status == "fail" and "the sign-in has no value" in message
    assert hint == "The doctor cannot know the client's address: give it with --source-ip (the server knows it)."


def test_secure_transport_is_what_the_doctor_is_told() -> None:
    secure_only = policy(allow(condition={"Bool": {"aws:SecureTransport": "true"}}))
    unknown = _checks(doctor_says(secure_only, _assertion({}), None, None))["trust.assume_role_with_saml"]
    assert unknown[0] == "fail" and unknown[2] is not None and "--secure-transport" in unknown[2]
    choice = TrustChoice(trust(), (), ())
    for https, status in ((True, "pass"), (False, "fail")):
        told = diagnose(_assertion({}), choice, now=LATER, settings=ValidationSettings(), requested_role=RolePair(DEV_ROLE, PROVIDER_ARN),
                        role_trust=RoleTrust(secure_only, secure_transport=https))
        assert _checks(told)["trust.assume_role_with_saml"][0] == status


def test_a_role_in_another_account_is_refused_before_the_policy() -> None:
    choice = TrustChoice(trust(), (), ())
    other_role = "arn:aws:iam::222222222222:role/Developer"
    saml = response_b64(issue_instant=NOW, roles=[f"{other_role},{PROVIDER_ARN}"])
    diagnosis = diagnose(saml, choice, now=LATER, settings=ValidationSettings(), requested_role=RolePair(other_role, PROVIDER_ARN),
                         role_trust=RoleTrust(policy(allow())))
    status, message, _ = _checks(diagnosis)["trust.assume_role_with_saml"]
    assert status == "fail" and "account 222222222222" in message and not diagnosis.valid


# --- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"metadata": tmp_path / "idp.xml", "response": tmp_path / "response.b64", "trust": tmp_path / "trust.json"}
    paths["metadata"].write_bytes(build_idp_metadata("https://idp.example.test/saml", [signer().certificate]))
    paths["response"].write_text(response_b64(issue_instant=NOW))
    paths["trust"].write_text(policy(allow(actions="sts:AssumeRoleWithSAML")))
    return paths


def run(files: dict[str, Path], *extra: str):  # type: ignore[no-untyped-def]
    args = ["doctor", str(files["response"]), "--metadata", str(files["metadata"]), "--now", "2026-11-24T12:00:05Z",
            "--role-arn", DEV_ROLE, "--principal-arn", PROVIDER_ARN, *extra]
    return CliRunner().invoke(app, args)


def test_cli_refusal_exits_1_with_the_aws_error(files: dict[str, Path]) -> None:
    result = run(files, "--trust-policy", str(files["trust"]), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["valid"] is False
    assert report["error"] == {"check": "trust.tag_session", "code": "AccessDenied", "status": 403, "message": "Not authorized to perform sts:AssumeRoleWithSAML"}
    assert report["assertion"]["role_session_name"] == "alice@example.com"  # the response itself is valid
    text = run(files, "--trust-policy", str(files["trust"]))
    assert text.exit_code == 1
    assert "REFUSED by the role's trust policy at trust.tag_session" in text.output
    assert "FAIL trust.tag_session" in text.output and "PASS trust.assume_role_with_saml" in text.output


def test_cli_admitted_exits_0(files: dict[str, Path]) -> None:
    files["trust"].write_text(policy(allow()))
    result = run(files, "--trust-policy", str(files["trust"]), "--source-ip", "192.0.2.1")
    assert result.exit_code == 0, result.output
    assert "VALID: AWS would accept this response and the role's trust policy admits it." in result.output


def test_cli_without_trust_policy_is_unchanged(files: dict[str, Path]) -> None:
    result = run(files)
    assert result.exit_code == 0 and "trust." not in result.output
    assert "VALID: AWS would accept this response." in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--source-ip", "10.0.0.1"], "--source-ip and --secure-transport only matter when a trust policy is checked"),
        (["--no-secure-transport"], "--source-ip and --secure-transport only matter when a trust policy is checked"),
        (["--trust-policy", "TRUST", "--source-ip", "ten"], "--source-ip 'ten' is not an IP address"),
        (["--trust-policy", "missing.json"], "cannot read missing.json"),
    ],
)
def test_cli_usage_errors_exit_2(files: dict[str, Path], extra: list[str], message: str) -> None:
    result = run(files, *[str(files["trust"]) if e == "TRUST" else e for e in extra])
    assert result.exit_code == 2 and message in result.output


def test_cli_trust_policy_needs_well_formed_arns(files: dict[str, Path]) -> None:
    base = ["doctor", str(files["response"]), "--metadata", str(files["metadata"]), "--trust-policy", str(files["trust"])]
    alone = CliRunner().invoke(app, base)
    assert alone.exit_code == 2 and "--trust-policy needs --role-arn and --principal-arn" in alone.output
    bad = CliRunner().invoke(app, [*base, "--role-arn", "Developer", "--principal-arn", PROVIDER_ARN])
    assert bad.exit_code == 2 and "is not a role ARN" in bad.output
    bad = CliRunner().invoke(app, [*base, "--role-arn", DEV_ROLE, "--principal-arn", "ExampleIdP"])
    assert bad.exit_code == 2 and "is not a SAML provider ARN" in bad.output


def test_cli_role_and_provider_of_different_accounts_are_refused_as_sts_refuses_them(files: dict[str, Path], tmp_path: Path) -> None:
    other_account_role = DEV_ROLE.replace(f"::{ACCOUNT}:", "::222222222222:")
    standalone = ["doctor", str(files["response"]), "--metadata", str(files["metadata"])]
    registered = ["doctor", str(files["response"]), "--data-dir", str(tmp_path / "data")]
    for base in (standalone, registered):
        refused = CliRunner().invoke(app, [*base, "--role-arn", other_account_role, "--principal-arn", PROVIDER_ARN])
        assert refused.exit_code == 2, refused.output
        assert "Principal exists outside the account of the Role being assumed." in refused.output
    assert not (tmp_path / "data").exists()  # refused before the data directory is opened


# --- against what a samlfed data directory has registered ------------------------------------------------


@pytest.fixture
def registered_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    developer_world(Settings(data_dir=data))  # the provider, and the Developer role trusting it for AssumeRoleWithSAML + TagSession
    return data


def run_registered(files: dict[str, Path], data: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["doctor", str(files["response"]), "--data-dir", str(data), "--now", "2026-11-24T12:00:05Z", "--principal-arn", PROVIDER_ARN, *extra]
    return CliRunner().invoke(app, args)


def test_registered_provider_and_role_give_the_servers_verdict(files: dict[str, Path], registered_dir: Path) -> None:
    admitted = run_registered(files, registered_dir, "--role-arn", DEV_ROLE, "--json")
    assert admitted.exit_code == 0, admitted.output
    report = json.loads(admitted.output)
    assert [c["id"] for c in report["checks"] if c["id"].startswith("trust.")] == ["trust.assume_role_with_saml", "trust.tag_session"]
    # The role's stored trust policy changes: the doctor reads the new one, as the server would.
    ctx = developer_world_again(registered_dir)
    ctx.store.update_role(ACCOUNT, "Developer", trust_policy=policy(allow(actions="sts:AssumeRoleWithSAML")))
    refused = run_registered(files, registered_dir, "--role-arn", DEV_ROLE, "--json")
    assert refused.exit_code == 1 and json.loads(refused.output)["error"]["check"] == "trust.tag_session"
    # An explicit --trust-policy is tried instead of the stored one.
    files["trust"].write_text(policy(allow()))
    tried = run_registered(files, registered_dir, "--role-arn", DEV_ROLE, "--trust-policy", str(files["trust"]))
    assert tried.exit_code == 0, tried.output


def developer_world_again(data: Path) -> ServiceContext:
    from samlfed.server import build_context

    return build_context(Settings(data_dir=data))


def test_registered_provider_options_apply_and_can_be_tried(files: dict[str, Path], registered_dir: Path) -> None:
    files["response"].write_text(response_b64("response", issue_instant=NOW))
    assert run_registered(files, registered_dir).exit_code == 1  # response-only signature, strict provider
    assert run_registered(files, registered_dir, "--allow-response-only-signature").exit_code == 0  # tried
    ctx = developer_world_again(registered_dir)
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_response_only_signature": True})
    assert run_registered(files, registered_dir).exit_code == 0  # applied


def test_registered_mode_uses_the_servers_accepted_urls(files: dict[str, Path], registered_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = "https://samlfed.example.com/saml"
    files["response"].write_text(response_b64(issue_instant=NOW, recipient=own, destination=own))
    assert run_registered(files, registered_dir).exit_code == 1  # not an AWS ACS URL, and no public URL set
    monkeypatch.setenv("SAMLFED_PUBLIC_URL", "https://samlfed.example.com")
    result = run_registered(files, registered_dir)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metadata", "METADATA"], "leave out --metadata, --cert and --private-key"),
        (["--role-arn", DEV_ROLE.replace("Developer", "Nobody")], "Nobody"),
        (["--role-arn", DEV_ROLE.replace("Developer", "DEVELOPER")], "there is " + DEV_ROLE),
    ],
)
def test_registered_mode_usage_errors(files: dict[str, Path], registered_dir: Path, extra: list[str], message: str) -> None:
    result = run_registered(files, registered_dir, *[str(files["metadata"]) if e == "METADATA" else e for e in extra])
    assert result.exit_code == 2 and message in result.output, result.output


def test_registered_mode_needs_a_provider_that_exists(files: dict[str, Path], registered_dir: Path) -> None:
    base = ["doctor", str(files["response"]), "--data-dir", str(registered_dir)]
    alone = CliRunner().invoke(app, base)
    assert alone.exit_code == 2 and "need --principal-arn" in alone.output
    missing = CliRunner().invoke(app, [*base, "--principal-arn", PROVIDER_ARN.replace("ExampleIdP", "Nobody")])
    assert missing.exit_code == 2 and "Nobody" in missing.output


def test_registered_mode_takes_the_servers_public_url_or_settings_file(files: dict[str, Path], registered_dir: Path, tmp_path: Path) -> None:
    """Found by a walkthrough: the server's accepted URLs come from its settings, which the data directory does not
    hold; a server on another port or public URL got another verdict than the doctor's."""
    own = "https://federation.example.com/saml"
    files["response"].write_text(response_b64(issue_instant=NOW, recipient=own, destination=own))
    refused = run_registered(files, registered_dir, "--json")
    assert refused.exit_code == 1
    assert any("--public-url, --config" in note for note in json.loads(refused.output)["notes"])
    assert run_registered(files, registered_dir, "--public-url", "https://federation.example.com").exit_code == 0
    settings_file = tmp_path / "samlfed.toml"
    settings_file.write_text('public_url = "https://federation.example.com"\n')
    assert run_registered(files, registered_dir, "--config", str(settings_file)).exit_code == 0
    unregistered = CliRunner().invoke(app, ["doctor", str(files["response"]), "--metadata", str(files["metadata"]), "--public-url", "https://x.example"])
    assert unregistered.exit_code == 2 and "--acs and --audience" in unregistered.output


def test_tags_the_attribute_mapping_adds_are_listed_with_the_others() -> None:
    """aws.session_tags is the validator's check of the PrincipalTag attributes; the provider's mapping adds its tags
    after it, so the doctor lists the session's whole set when there are such."""
    saml = _assertion({"principal_tags": {"department": "Engineering"}, "extra_attributes": {"mail": ["alice@example.com"]}})
    checks = _checks(doctor_says(policy(allow()), saml, None, {"email": ["mail"], "department": ["mail"]}))
    assert checks["trust.session_tags"] == ("pass", "session tags department=Engineering, email=alice@example.com (email from the provider's attribute mapping)", None)
    assert "trust.session_tags" not in _checks(doctor_says(policy(allow()), saml, None, None))


def test_session_tags_that_break_a_rule_get_sts_answer_from_the_server_the_doctor_and_the_console(
    ctx: ServiceContext, caplog: pytest.LogCaptureFixture,
) -> None:
    """A TransitiveTagKeys naming a key no session tag has: STS answered InvalidIdentityToken but logged nothing; the
    doctor blamed the trust policy with AccessDenied; the console said "not authorized" (the docs walkthrough probe)."""
    saml = response_b64(issue_instant=NOW, transitive_tag_keys=["nothere"])
    with caplog.at_level("INFO", logger="samlfed.sts"), pytest.raises(ServiceError) as refused:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml))
    assert (refused.value.code, refused.value.message, refused.value.status) == ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)
    [record] = [r for r in caplog.records if getattr(r, "outcome", None) == "rejected"]
    assert (record.check, record.error_code, record.role) == ("trust.session_tags", "InvalidIdentityToken", DEV_ROLE)
    assert record.reason == "TransitiveTagKeys names 'nothere', which is not a session tag of this sign-in"

    diagnosis = doctor_says(policy(allow()), saml, None, None)
    assert diagnosis.verified is not None and not diagnosis.valid and diagnosis.refused_by_trust == "trust.session_tags"
    assert _checks(diagnosis)["trust.session_tags"][:2] == ("fail", record.reason)
    assert verdict(diagnosis) == ("REFUSED", " by its session tags at trust.session_tags: the response is valid, but STS answers "
                                             "InvalidIdentityToken (400) 'Session tags in AuthnResponse are invalid'")

    with caplog.at_level("INFO", logger="samlfed.console"), pytest.raises(SignInRefused) as console:
        make_offer(ctx, saml, LATER)
    assert (console.value.message, console.value.check, console.value.status) == ("Session tags in AuthnResponse are invalid", SESSION_TAGS_TITLE, 400)
    not_offered = [r for r in caplog.records if getattr(r, "outcome", None) == "role_not_offered"]
    assert len(not_offered) == 2 and {r.reason for r in not_offered} == {record.reason}  # each of the response's two roles
    assert not [r for r in caplog.records if getattr(r, "outcome", None) == "role_refused"]  # tags refuse the response, not a role


def test_session_tags_come_before_the_role_attribute_for_the_server_and_the_doctor(ctx: ServiceContext) -> None:
    """Contract §3.4: step 20 (session tags) before step 21 (the pair is in the Role attribute). A TransitiveTagKeys
    naming no tag in a response that does not list the pair got AccessDenied from STS, and the doctor agreed."""
    ops = f"arn:aws:iam::{ACCOUNT}:role/Operator"
    saml = response_b64(issue_instant=NOW, transitive_tag_keys=["nothere"], roles=[f"{ops},{PROVIDER_ARN}"])
    with pytest.raises(ServiceError) as refused:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml))
    answer = (refused.value.code, refused.value.message, refused.value.status)
    assert answer == ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)
    diagnosis = doctor_says(policy(allow()), saml, None, None)
    assert not diagnosis.valid and diagnosis.error is not None and diagnosis.error.check_id == "aws.session_tags"
    assert (diagnosis.error.aws.code, diagnosis.error.aws.message, diagnosis.error.aws.status) == answer


def test_the_doctor_validates_a_response_failing_at_the_role_attribute_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """To learn whether the session tags failed first, the doctor ran the whole validator a second time; it now notes
    the tags' fault in the one run, as the console does, and still answers STS's refusal of the tags."""
    calls: list[str] = []

    def counted(*args: object, **kwargs: object) -> object:
        calls.append("validate")
        return validate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(doctor, "validate", counted)
    ops = f"arn:aws:iam::{ACCOUNT}:role/Operator"
    saml = response_b64(issue_instant=NOW, transitive_tag_keys=["nothere"], roles=[f"{ops},{PROVIDER_ARN}"])
    diagnosis = doctor_says(policy(allow()), saml, None, None)
    assert diagnosis.error is not None and diagnosis.error.check_id == "aws.session_tags"
    assert len(calls) == 1


def _incompressible_tags(count: int) -> dict[str, str]:
    """Tags each within AWS's limits whose packed size together passes the budget (random values do not compress)."""
    rng = random.Random(7)
    return {f"tag{n}": "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(256)) for n in range(count)}


def test_tags_past_the_packed_budget_are_refused_by_all_three_as_sts_refuses_them(ctx: ServiceContext) -> None:
    """STS refused with PackedPolicyTooLarge; the doctor said VALID and the console granted a session with the tags
    (the differential probe)."""
    saml = response_b64(issue_instant=NOW, principal_tags=_incompressible_tags(12))
    with pytest.raises(ServiceError) as refused:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml))
    code, message, status = refused.value.code, refused.value.message, refused.value.status
    assert (code, status) == ("PackedPolicyTooLarge", 400) and message.startswith("Packed size of session tags consumes ") and message.endswith("% of allotted space.")

    diagnosis = doctor_says(policy(allow()), saml, None, None)
    assert not diagnosis.valid and diagnosis.refused_by_trust == "trust.packed_size"
    assert verdict(diagnosis)[1].endswith(f"STS answers PackedPolicyTooLarge (400) {message!r}")
    with pytest.raises(SignInRefused) as console:
        make_offer(ctx, saml, LATER)
    assert (console.value.message, console.value.status) == (message, 400)
    fewer = response_b64(issue_instant=NOW, principal_tags=_incompressible_tags(6))
    assert doctor_says(policy(allow()), fewer, None, None).valid and make_offer(ctx, fewer, LATER).choices


def test_a_pair_across_accounts_gets_stss_validation_error_from_the_doctor() -> None:
    other = "arn:aws:iam::222222222222:role/Developer"
    saml = response_b64(issue_instant=NOW, roles=[f"{other},{PROVIDER_ARN}"])
    diagnosis = diagnose(saml, TrustChoice(trust(), (), ()), now=LATER, settings=ValidationSettings(), requested_role=RolePair(other, PROVIDER_ARN),
                         role_trust=RoleTrust(policy(allow())))
    assert verdict(diagnosis) == ("REFUSED", " by the request's ARNs at trust.assume_role_with_saml: the response is valid, but STS answers "
                                             "ValidationError (400) 'Principal exists outside the account of the Role being assumed.'")


def test_a_mapped_attributes_value_is_trimmed_as_a_principal_tags_is(ctx: ServiceContext) -> None:
    """IdPs and pretty-printers pad values with ASCII whitespace: a PrincipalTag attribute's value was trimmed, a
    mapped attribute's kept its padding, and a trailing newline made it a value tags cannot hold (a Unicode probe)."""
    saml = _assertion({"principal_tags": {"department": "\n  Engineering \n"}, "extra_attributes": {"mail": ["\n  alice@example.com\t"]}})
    mapping = {"email": ["mail"]}
    checks = _checks(doctor_says(policy(allow()), saml, None, mapping))
    assert checks["trust.session_tags"][1] == "session tags department=Engineering, email=alice@example.com (email from the provider's attribute mapping)"
    set_attribute_mapping(ctx, ACCOUNT, PROVIDER_ARN, mapping)
    issued = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml))
    assert issued.credentials.claims.tags == {"department": "Engineering", "email": "alice@example.com"}


def test_a_pair_across_accounts_is_refused_without_a_trust_policy_too() -> None:
    """STS refuses such a request before any trust policy is read: without --trust-policy, the doctor said 'VALID: AWS
    would accept this response' (with a caveat about the trust policy it did not check)."""
    other = "arn:aws:iam::222222222222:role/Developer"
    saml = response_b64(issue_instant=NOW, roles=[f"{other},{PROVIDER_ARN}"])
    diagnosis = diagnose(saml, TrustChoice(trust(), (), ()), now=LATER, settings=ValidationSettings(), requested_role=RolePair(other, PROVIDER_ARN))
    assert not diagnosis.valid
    assert verdict(diagnosis) == ("REFUSED", " by the request's ARNs at trust.assume_role_with_saml: the response is valid, but STS answers "
                                             "ValidationError (400) 'Principal exists outside the account of the Role being assumed.'")
    same_account = diagnose(response_b64(issue_instant=NOW), TrustChoice(trust(), (), ()), now=LATER, settings=ValidationSettings(),
                            requested_role=RolePair(DEV_ROLE, PROVIDER_ARN))
    assert same_account.valid and same_account.trust is None


def test_a_deny_outside_a_network_that_applies_for_want_of_the_address_asks_for_it() -> None:
    """A Deny with NotIpAddress aws:SourceIp applies when the doctor does not know the address (the server always
    does): the fix is --source-ip, not narrowing the Deny or changing what the IdP sends."""
    outside = {"Sid": "OnlyCorp", "Effect": "Deny", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:*",
               "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    unknown = _checks(doctor_says(policy(allow(), outside), _assertion({}), None, None))["trust.assume_role_with_saml"]
    assert unknown[0] == "fail" and "--source-ip" in (unknown[2] or "") and "narrow its conditions" not in (unknown[2] or "")
    known = _checks(doctor_says(policy(allow(), outside), _assertion({}), "192.0.2.7", None))["trust.assume_role_with_saml"]
    assert known[0] == "fail" and "narrow its conditions" in (known[2] or "")  # a real refusal keeps its hint
    assert doctor_says(policy(allow(), outside), _assertion({}), "10.1.2.3", None).valid


def test_tags_past_the_packed_budget_are_refused_without_a_trust_policy_too() -> None:
    """Whatever role a trust policy admits, STS then refuses these tags: without --trust-policy the doctor answered
    'VALID: AWS would accept this response'."""
    saml = response_b64(issue_instant=NOW, principal_tags=_incompressible_tags(12))
    diagnosis = diagnose(saml, TrustChoice(trust(), (), ()), now=LATER, settings=ValidationSettings(), requested_role=RolePair(DEV_ROLE, PROVIDER_ARN))
    assert not diagnosis.valid and diagnosis.refused_by_trust == "trust.packed_size"
    assert verdict(diagnosis)[1].endswith("STS answers PackedPolicyTooLarge (400) 'Packed size of session tags consumes 108% of allotted space.'")
    unnamed = diagnose(saml, TrustChoice(trust(), (), ()), now=LATER, settings=ValidationSettings())
    assert unnamed.refused_by_trust == "trust.packed_size"
    fewer = response_b64(issue_instant=NOW, principal_tags=_incompressible_tags(6))
    assert diagnose(fewer, TrustChoice(trust(), (), ()), now=LATER, settings=ValidationSettings(), requested_role=RolePair(DEV_ROLE, PROVIDER_ARN)).valid

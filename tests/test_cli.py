"""The `samlfed` command line: `doctor` and `sample` through typer and the installed console script."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from saml_factory import DEV_ROLE, ENTITY_ID, NOW, PROVIDER_ARN, encode, response_b64, signer, spec
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.saml import CHECK_ORDER
from samlfed.saml import constants as c
from samlfed.saml.metadata import build_idp_metadata
from samlfed.saml.signing import IdpSigner, build_response, sign_element

NOW_ARG = "2026-11-24T12:00:00Z"
runner = CliRunner()
_COLOUR_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _COLOUR_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    public_key = signer().certificate.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    contents = {
        "metadata": build_idp_metadata(ENTITY_ID, [signer().certificate]),
        "other_metadata": build_idp_metadata("https://other.example/idp", [signer("other").certificate]),
        "old_key_metadata": build_idp_metadata(ENTITY_ID, [signer("old").certificate]),
        "cert": signer().cert_pem(),
        "public_key": public_key,
        "response": response_b64().encode(),
    }
    paths = {name: folder / name for name in contents}
    for name, data in contents.items():
        paths[name].write_bytes(data)
    return paths


def doctor(*args: str | Path, input: str | bytes | None = None, now: str = NOW_ARG):
    return runner.invoke(app, ["doctor", *map(str, args), "--now", now], input=input)


def write(tmp_path: Path, b64: str) -> Path:
    path = tmp_path / "response.b64"
    path.write_text(b64)
    return path


def check_lines(output: str) -> list[tuple[str, str]]:
    return re.findall(r"^(PASS|FAIL|WARN|SKIP) (\S+)", output, re.MULTILINE)


def test_valid_response_text(files) -> None:
    result = doctor(files["response"], "--metadata", files["metadata"])
    assert result.exit_code == 0, result.output
    lines = check_lines(result.output)
    assert [check_id for _, check_id in lines] == list(CHECK_ORDER)
    assert {status for status, _ in lines} <= {"PASS", "SKIP"}
    assert "VALID: AWS would accept this response." in result.output
    assert "\x1b[" not in result.output and "<saml:NameID" in result.output


def test_valid_response_json(files) -> None:
    result = doctor(files["response"], "--metadata", files["metadata"], "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert {"valid", "checks", "assertion", "error"} <= set(document)
    assert document["valid"] is True and document["error"] is None
    assert [check["id"] for check in document["checks"]] == list(CHECK_ORDER)
    assert document["assertion"]["name_id"] == "alice@example.com"


def _tamper(root) -> None:
    root.find(f".//{c.NAME_ID}").text = "admin@example.com"


@pytest.mark.parametrize(
    ("b64", "extra", "check_id"),
    [
        (response_b64(after_sign=_tamper), [], "signature.verify"),
        (response_b64(issue_instant=NOW - timedelta(hours=1)), [], "conditions.not_on_or_after"),
        (response_b64(audience="https://sp.example/"), [], "audience"),
        (response_b64(destination="https://sp.example/acs", recipient="https://sp.example/acs"), [], "destination"),
        (response_b64(), ["--role-arn", DEV_ROLE.replace("Developer", "Admin"), "--principal-arn", PROVIDER_ARN], "aws.role"),
        (response_b64("response"), [], "signature.required"),
        (response_b64(by=signer("stranger")), [], "signature.verify"),
    ],
    ids=["tampered", "expired", "wrong-audience", "wrong-acs", "role-not-granted", "response-only-signature", "unknown-key"],
)
def test_invalid_responses_exit_1_naming_the_check(files, tmp_path, b64, extra, check_id) -> None:
    result = doctor(write(tmp_path, b64), "--metadata", files["metadata"], "--json", *extra)
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    assert document["valid"] is False and document["assertion"] is None
    assert document["error"]["check"] == check_id
    [failure] = [check for check in document["checks"] if check["status"] == "fail"]
    assert failure["id"] == check_id and failure["message"]


def test_later_now_expires_a_response(files) -> None:
    result = doctor(files["response"], "--metadata", files["metadata"], "--json", now="2026-11-24T13:00:00+00:00")
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["check"] == "conditions.not_on_or_after"


def test_tampered_text_shows_the_hint(files, tmp_path) -> None:
    result = doctor(write(tmp_path, response_b64(after_sign=_tamper)), "--metadata", files["metadata"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("FAIL signature.verify ")]
    assert "fix:" in lines[at + 1]
    assert "INVALID at signature.verify" in result.output and "admin@example.com" in result.output


def _sha1_signed() -> str:
    root = build_response(spec())
    sign_element(root.find(c.ASSERTION), signer(), signature_algorithm=c.ALG_RSA_SHA1, digest_algorithm=c.ALG_SHA1)
    return encode(root)


@pytest.mark.parametrize(
    ("b64", "options"),
    [
        (response_b64(audience="https://sp.example/"), ["--audience", "https://sp.example/"]),
        (response_b64(destination="https://sp.example/acs", recipient="https://sp.example/acs"), ["--acs", "https://sp.example/acs"]),
        (response_b64(), ["--role-arn", DEV_ROLE, "--principal-arn", PROVIDER_ARN]),
        (response_b64("response"), ["--allow-response-only-signature"]),
        (_sha1_signed(), ["--allow-legacy-algorithms"]),
    ],
    ids=["audience", "acs", "role-granted", "response-only-signature", "legacy-algorithms"],
)
def test_options_that_make_a_response_acceptable(files, tmp_path, b64, options) -> None:
    path = write(tmp_path, b64)
    if options[0].startswith("--allow"):
        assert doctor(path, "--metadata", files["metadata"]).exit_code == 1  # the strict default refuses it
    result = doctor(path, "--metadata", files["metadata"], *options)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("file_argument", [["-"], []], ids=["dash", "absent"])
def test_input_forms_on_stdin(files, file_argument) -> None:
    b64 = files["response"].read_text()
    xml = base64.b64decode(b64)
    inputs = [
        b64,
        "\ufeff" + "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64)) + "\n",
        xml,
        f"SAMLResponse={quote(b64, safe='')}&RelayState=https%3A%2F%2Fconsole.aws.amazon.com%2F",
        f"RelayState=abc&SAMLResponse={quote(b64, safe='')}",
    ]
    for data in inputs:
        result = doctor(*file_argument, "--metadata", files["metadata"], input=data)
        assert result.exit_code == 0, result.output


def test_metadata_is_chosen_by_issuer(files, tmp_path) -> None:
    for order in (["other_metadata", "metadata"], ["metadata", "other_metadata"]):
        options = [arg for name in order for arg in ("--metadata", files[name])]
        result = doctor(files["response"], *options)
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"provider {ENTITY_ID} ")
    stranger = write(tmp_path, response_b64(issuer="https://stranger.example/idp", by=signer("other")))
    result = doctor(stranger, "--metadata", files["other_metadata"], "--metadata", files["metadata"], "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["error"]["check"] == "issuer" and document["provider"] == "https://other.example/idp"
    assert document["notes"] == [f"registered entityIDs: https://other.example/idp, {ENTITY_ID}; none is the response's Issuer"]


@pytest.mark.parametrize("key_file", ["cert", "public_key"])
def test_cert_only_warns_that_the_issuer_is_not_checked(files, key_file) -> None:
    result = doctor(files["response"], "--cert", files[key_file])
    assert result.exit_code == 0, result.output
    assert "warning: issuer not checked: no metadata given" in result.output
    document = json.loads(doctor(files["response"], "--cert", files[key_file], "--json").output)
    assert document["valid"] is True and document["warnings"][0].startswith("issuer not checked: no metadata given")


def test_cert_adds_a_key_to_the_metadata(files) -> None:
    """The IdP rotated its key: the old metadata fails, the new certificate given beside it verifies."""
    assert doctor(files["response"], "--metadata", files["old_key_metadata"]).exit_code == 1
    result = doctor(files["response"], "--metadata", files["old_key_metadata"], "--cert", files["cert"])
    assert result.exit_code == 0, result.output
    assert "(2 signing key(s))" in result.output


def test_metadata_warnings_are_printed(tmp_path) -> None:
    expired = IdpSigner.generate("expired idp", not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1))
    metadata = tmp_path / "expired.xml"
    metadata.write_bytes(build_idp_metadata(ENTITY_ID, [expired.certificate]))
    result = doctor(write(tmp_path, response_b64(by=expired)), "--metadata", metadata)
    assert result.exit_code == 0, result.output  # an expired certificate still verifies, as with AWS
    assert re.search(r"^warning: metadata: .*CN=expired idp.* expired", result.output, re.MULTILINE)
    assert ("WARN", "signature.certificate") in check_lines(result.output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing-file.b64", "--cert", "{cert}"], "cannot read missing-file.b64"),
        (["{response}"], "--metadata"),
        (["{response}", "--metadata", "{response}"], "Could not parse metadata: "),
        (["{response}", "--metadata", "missing.xml"], "cannot read missing.xml"),
        (["{response}", "--cert", "{response}"], "is not a PEM RSA certificate or public key"),
        (["{response}", "--cert", "{cert}", "--now", "yesterday"], "--now"),
        (["{response}", "--cert", "{cert}", "--now", "2026-11-24T12:00:00"], "--now"),
        (["{response}", "--cert", "{cert}", "--role-arn", DEV_ROLE], "--principal-arn"),
        (["{response}", "--cert", "{cert}", "--principal-arn", PROVIDER_ARN], "--role-arn"),
        (["-", "--cert", "{cert}"], "the input is empty"),
        (["", "--cert", "{cert}"], "no FILE given"),
    ],
    ids=["missing-file", "no-trust", "bad-metadata", "missing-metadata", "bad-cert", "bad-now", "now-without-zone", "role-only", "principal-only", "empty-input", "empty-name"],
)
def test_usage_errors_exit_2(files, args, message) -> None:
    resolved = [a.format(cert=files["cert"], response=files["response"]) for a in args]
    result = runner.invoke(app, ["doctor", *resolved], input="")
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_sample_writes_what_the_doctor_accepts_and_rejects(tmp_path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["sample", "--out", str(out), "--now", NOW_ARG])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["idp-metadata.xml", "response.b64", "tampered.b64"]
    assert all(b"PRIVATE KEY" not in p.read_bytes() for p in out.iterdir())
    for name in ("idp-metadata.xml", "response.b64", "tampered.b64"):
        assert str(out / name) in result.output

    ok = doctor(out / "response.b64", "--metadata", out / "idp-metadata.xml", "--json")
    assert ok.exit_code == 0, ok.output
    facts = json.loads(ok.output)["assertion"]
    provider = "arn:aws:iam::111111111111:saml-provider/ExampleIdP"
    assert [pair["provider_arn"] for pair in facts["roles"]] == [provider, provider]
    assert all(pair["role_arn"].startswith("arn:aws:iam::111111111111:role/") for pair in facts["roles"])
    assert facts["issuer"] == "https://idp.example.test/saml" and facts["role_session_name"]
    assert facts["session_duration"] == 3600 and set(facts["principal_tags"]) == {"department", "project"}
    assert facts["recipient"] == "https://signin.aws.amazon.com/saml" and facts["audiences"] == ["urn:amazon:webservices"]
    assert facts["signed"] == "assertion"

    bad = doctor(out / "tampered.b64", "--metadata", out / "idp-metadata.xml", "--json")
    assert bad.exit_code == 1
    document = json.loads(bad.output)
    [failure] = [check for check in document["checks"] if check["status"] == "fail"]
    assert failure["id"] == "signature.verify" and failure["hint"]


def test_sample_requires_out() -> None:
    assert runner.invoke(app, ["sample"]).exit_code == 2


@pytest.mark.parametrize("now", [
    "9999-12-31T23:59:59Z", "1949-06-01T00:00:00Z", "0001-01-01T00:00:00Z", "9998-12-31T23:59:59-01:00", "9999-12-31T23:59:59-14:00",
])
def test_sample_at_an_instant_no_certificate_can_cover_is_a_usage_error(tmp_path, now: str) -> None:
    """The sample's certificate runs from a day before --now to a year after: an instant near the calendar's ends
    was an OverflowError (or X.509's refusal of a date before 1950) and a traceback."""
    result = runner.invoke(app, ["sample", "--out", str(tmp_path / "s"), "--now", now])
    assert result.exit_code == 2, result.output
    assert f"--now {now} is out of range" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("now", ["1950-01-02T00:00:00Z", "9998-12-31T23:59:59Z"])
def test_sample_at_the_ends_of_its_range(tmp_path, now: str) -> None:
    result = runner.invoke(app, ["sample", "--out", str(tmp_path / "s"), "--now", now])
    assert result.exit_code == 0, result.output
    checked = doctor(tmp_path / "s" / "response.b64", "--metadata", tmp_path / "s" / "idp-metadata.xml", now=now)
    assert checked.exit_code == 0, checked.output


def _script_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _COLOUR_ENV}


def test_console_script(tmp_path) -> None:
    """The installed `samlfed` script itself, as `make demo` runs it (output to a pipe: plain text)."""
    script = Path(sys.executable).with_name("samlfed")
    env = _script_env()
    subprocess.run([str(script), "sample", "--out", str(tmp_path)], check=True, capture_output=True, env=env)
    metadata = str(tmp_path / "idp-metadata.xml")
    ok = subprocess.run([str(script), "doctor", str(tmp_path / "response.b64"), "--metadata", metadata], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout and "\x1b[" not in ok.stdout
    form = "RelayState=x&SAMLResponse=" + quote((tmp_path / "tampered.b64").read_text(), safe="")
    bad = subprocess.run([str(script), "doctor", "--metadata", metadata, "--json"], input=form, capture_output=True, text=True, env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert json.loads(bad.stdout)["error"]["check"] == "signature.verify"
    usage = subprocess.run([str(script), "doctor", str(tmp_path / "response.b64")], capture_output=True, text=True, env=env)
    assert usage.returncode == 2 and "--metadata" in usage.stderr


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_doctor_prints_non_ascii_values_to_an_ascii_only_output(tmp_path, output: list[str]) -> None:
    """A redirect to a file under PYTHONIOENCODING=ascii (or a legacy Windows code page) cannot encode 'ü': the
    doctor escapes it rather than dying with a UnicodeEncodeError traceback."""
    script = Path(sys.executable).with_name("samlfed")
    metadata = tmp_path / "idp.xml"
    metadata.write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    response = write(tmp_path, response_b64(name_id="jürgen@example.com"))
    env = {**_script_env(), "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([str(script), "doctor", str(response), "--metadata", str(metadata), "--now", NOW_ARG, *output],
                          capture_output=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"Traceback" not in done.stderr
    if output:  # the JSON goes out as UTF-8 bytes whatever the encoding
        assert json.loads(done.stdout)["assertion"]["name_id"] == "jürgen@example.com"
    else:
        assert b"j\\xfcrgen@example.com" in done.stdout


def test_providers_attribute_mapping_cli(tmp_path) -> None:
    from samlfed.config import Settings
    from samlfed.iam.accounts import create_account
    from samlfed.iam.providers import create_saml_provider
    from samlfed.server import build_context

    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, "111111111111")
    arn = create_saml_provider(ctx, "111111111111", "Corp", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()).arn
    data = ["--data-dir", str(tmp_path)]
    set_ = runner.invoke(app, ["providers", "attribute-mapping", "set", arn, '{"email": ["mail", "email"]}', *data])
    assert set_.exit_code == 0 and json.loads(set_.output) == {"email": ["mail", "email"]}  # says what it stored
    shown = runner.invoke(app, ["providers", "attribute-mapping", "get", arn, *data])
    assert json.loads(shown.output) == {"email": ["mail", "email"]}
    assert runner.invoke(app, ["providers", "attribute-mapping", "set", arn, "not json", *data]).exit_code == 2
    missing = runner.invoke(app, ["providers", "attribute-mapping", "get", arn + "x", *data])
    assert missing.exit_code == 2 and f"no SAML provider {arn}x in this samlfed" in missing.output  # not "Manifest not found"
    cleared = runner.invoke(app, ["providers", "attribute-mapping", "clear", arn, *data])
    assert cleared.exit_code == 0 and cleared.output == "{}\n"
    assert json.loads(runner.invoke(app, ["providers", "attribute-mapping", "get", arn, *data]).output) == {}


@pytest.mark.parametrize(("mapping", "said"), [
    ('{"email": ["mail"], "EMAIL": ["e"]}', "'email' and 'EMAIL' differ only in case"),
    ('{"email": ' + json.dumps([f"a{i}" for i in range(11)]) + "}", "must be a list of 1 to 10 attribute names"),
    ('{"email": ["' + "a" * 1025 + '"]}', "of 1 to 1024 characters"),
    ('{"email": []}', "must be a list of 1 to 10 attribute names"),
], ids=["case", "too-many-names", "long-name", "no-name"])
def test_an_attribute_mapping_no_sign_in_could_use_is_refused(mapping: str, said: str) -> None:
    """Found by a CLI probe: tag keys differing only in case were stored (every sign-in carrying both would then be
    refused: session tag keys are case-insensitive), and so were 1,000 attribute names for one tag."""
    from samlfed.errors import ServiceError
    from samlfed.iam.provider_options import parse_attribute_mapping

    with pytest.raises(ServiceError, match=said):
        parse_attribute_mapping(mapping)


@pytest.mark.parametrize(("mapping", "said"), [
    ('{"email": ["mail"], "email": ["e"]}', "cannot be read as JSON: the JSON repeats a key in one object."),
    ('{"email": ["mail"],}', "cannot be read as JSON: Expecting property name enclosed in double quotes: line 1 column 20 (char 19)."),
], ids=["repeated-key", "trailing-comma"])
def test_an_attribute_mapping_that_cannot_be_read_says_why(mapping: str, said: str) -> None:
    """Found by a CLI probe: every mapping json could not read, a key written twice among them (which is valid JSON
    syntax, refused because parsers disagree on which value wins), was answered only "The attribute mapping is not
    JSON.", leaving the writer to hunt for a syntax error that may not be there."""
    from samlfed.errors import ServiceError
    from samlfed.iam.provider_options import parse_attribute_mapping

    with pytest.raises(ServiceError, match=re.escape(said)):
        parse_attribute_mapping(mapping)


def test_authz_keys_create_list_delete(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from samlfed.authz.keys import verify_authz_key
    from samlfed.config import Settings
    from samlfed.server import build_context

    created = runner.invoke(app, ["authz-keys", "create", "--name", "s3-gateway", "--data-dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    assert key.startswith("sfk_")
    ctx = build_context(Settings(data_dir=tmp_path))
    assert verify_authz_key(ctx, key) == "s3-gateway"
    assert verify_authz_key(ctx, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    key_id = key.split("_")[1]
    listed = runner.invoke(app, ["authz-keys", "list", "--data-dir", str(tmp_path)])
    assert listed.output.startswith(f"{key_id}  s3-gateway  ") and key.split("_", 2)[2] not in listed.output
    deleted = runner.invoke(app, ["authz-keys", "delete", key_id, "--data-dir", str(tmp_path)])
    assert deleted.exit_code == 0 and deleted.output == f"deleted {key_id}\n"
    assert verify_authz_key(ctx, key) is None
    assert runner.invoke(app, ["authz-keys", "delete", key_id, "--data-dir", str(tmp_path)]).exit_code == 2


def test_authz_keys_delete_never_repeats_a_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Found by an audit: the whole key pasted instead of its id came back in the error, secret and all. The whole key
    deletes by its id part; the secret part alone (or any other non-id) is refused without being repeated. A secret is
    URL-safe base64, so one in 64 starts with '-' (a CI run met one): click took it for an option and printed it back."""
    data = ["--data-dir", str(tmp_path)]
    key = runner.invoke(app, ["authz-keys", "create", "--name", "gw", *data]).stdout.strip()
    key_id, secret = key.removeprefix("sfk_").split("_", 1)
    for not_an_id in (secret, f"x{key}", f"-c{secret}", f"--{secret}"):
        refused = runner.invoke(app, ["authz-keys", "delete", not_an_id, *data])
        assert refused.exit_code == 2 and "is not an authorization key id" in refused.output and secret not in refused.output, refused.output
    deleted = runner.invoke(app, ["authz-keys", "delete", key, *data])
    assert (deleted.exit_code, deleted.output) == (0, f"deleted {key_id}\n")
    again = runner.invoke(app, ["authz-keys", "delete", key, *data])
    assert again.exit_code == 2 and again.output == f"samlfed: no authorization key {key_id}\n"


@pytest.mark.parametrize("command", [["accounts", "create"], ["authz-keys", "create", "--name", "s3"], ["serve"]])
def test_a_store_that_cannot_be_opened_is_a_message_and_exit_2(tmp_path, command) -> None:
    not_a_directory = tmp_path / "afile"
    not_a_directory.write_text("x")
    result = runner.invoke(app, [*command, "--data-dir", str(not_a_directory)])
    assert result.exit_code == 2, result.output
    assert "cannot use the data directory" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("key_before", [None, b"k" * 32], ids=["new-directory", "its-own-key"])
def test_a_database_that_cannot_be_reached_leaves_no_new_master_key(tmp_path, key_before: bytes | None) -> None:
    """Found by an audit: `accounts create --data-dir NEW --database-url` to a database that could not be reached left
    a master.key in NEW, which the run with the right URL took for that database's key. A key there before stays."""
    data = tmp_path / "data"
    if key_before is not None:
        data.mkdir(mode=0o700)
        (data / "master.key").write_bytes(key_before)
        (data / "master.key").chmod(0o600)
    result = runner.invoke(app, ["accounts", "create", "--data-dir", str(data), "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/test"])
    assert result.exit_code == 2 and "cannot open the database" in result.output, result.output
    if key_before is None:
        assert not (data / "master.key").exists()
    else:
        assert (data / "master.key").read_bytes() == key_before


def test_serve_refuses_more_workers_than_any_machine_uses(tmp_path) -> None:
    """Found by a CLI probe: --workers 1000000 forked until the kernel's OOM killer ended other processes. (The data
    directory is a file, so that were the count let through, serve would stop there, not fork.)"""
    not_a_directory = tmp_path / "afile"
    not_a_directory.write_text("x")
    result = runner.invoke(app, ["serve", "--workers", "1000000", "--data-dir", str(not_a_directory)])
    assert result.exit_code == 2 and "workers must be a whole number from 1 to 512, not 1000000" in result.output, result.output


@pytest.mark.parametrize("options", [["--id", "4444"], ["--id", "444444444444", "--alias", "u0"]], ids=["bad-id", "bad-alias"])
def test_an_account_refused_makes_no_data_directory(tmp_path, options) -> None:
    fresh = tmp_path / "fresh"
    result = runner.invoke(app, ["accounts", "create", *options, "--data-dir", str(fresh)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert not fresh.exists()


@pytest.mark.parametrize("emptied", [False, True], ids=["removed", "emptied"])
def test_commands_on_a_key_without_its_database_say_what_serve_says(tmp_path, emptied) -> None:
    """Not 'create it with accounts create', which would then refuse the same directory."""
    data = tmp_path / "data"
    assert runner.invoke(app, ["accounts", "create", "--id", "111111111111", "--data-dir", str(data)]).exit_code == 0
    for leftover in data.glob("samlfed.db*"):
        leftover.unlink()
    if emptied:
        (data / "samlfed.db").write_bytes(b"")
    what = "an empty samlfed.db" if emptied else "no samlfed.db"
    for command in (["keys", "list"], ["accounts", "create", "--id", "222222222222"]):
        result = runner.invoke(app, [*command, "--data-dir", str(data)])
        assert result.exit_code == 2 and f"holds master.key but {what}: restore the database from your backup" in result.output, result.output


@pytest.mark.parametrize("command", [["accounts", "list"], ["keys", "rotate"], ["authz-keys", "list"], ["accounts", "keys", "create", "111111111111"]])
def test_only_creating_commands_make_a_new_store(tmp_path, command) -> None:
    typo = tmp_path / "tpyo"
    result = runner.invoke(app, [*command, "--data-dir", str(typo)])
    assert result.exit_code == 2, result.output
    assert f"no samlfed data in {typo}" in result.output
    assert not typo.exists()


def test_a_bad_setting_in_the_environment_is_a_message_and_exit_2(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SAMLFED_IDENTITY_CACHE_SECONDS", "100")
    result = runner.invoke(app, ["accounts", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "SAMLFED_IDENTITY_CACHE_SECONDS" in result.output


def test_listing_and_rotating_commands_speak_json_for_scripts(tmp_path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["accounts", "create", "--id", "111111111111", "--alias", "acme-dev", *data]).exit_code == 0
    assert runner.invoke(app, ["authz-keys", "create", "--name", "s3-gateway", *data]).exit_code == 0
    accounts = json.loads(runner.invoke(app, ["accounts", "list", "--json", *data]).output)["Accounts"]
    assert [(a["AccountId"], a["Alias"]) for a in accounts] == [("111111111111", "acme-dev")] and accounts[0]["CreatedAt"].endswith("Z")
    keys = json.loads(runner.invoke(app, ["authz-keys", "list", "--json", *data]).output)["Keys"]
    assert [k["Name"] for k in keys] == ["s3-gateway"] and keys[0]["KeyId"]
    first = json.loads(runner.invoke(app, ["keys", "rotate", "--json", *data]).output)
    second = json.loads(runner.invoke(app, ["keys", "rotate", "--json", *data]).output)
    assert second["KeyCount"] == first["KeyCount"] + 1 and second["ActiveKeyId"] != first["ActiveKeyId"]
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json", *data]).output)["Keys"]
    assert len(listed) == second["KeyCount"] and [k["KeyId"] for k in listed if k["Active"]] == [second["ActiveKeyId"]]


def test_accounts_keys_list_and_delete_say_what_there_is(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = ["--data-dir", str(tmp_path)]
    first = json.loads(runner.invoke(app, ["accounts", "create", "--id", "111111111111", "--json", *data]).stdout)["AccessKeyId"]
    second = json.loads(runner.invoke(app, ["accounts", "keys", "create", "111111111111", "--json", *data]).stdout)["AccessKeyId"]
    listed = json.loads(runner.invoke(app, ["accounts", "keys", "list", "111111111111", "--json", *data]).stdout)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted([first, second]) and {k["Status"] for k in listed} == {"Active"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", k["CreateDate"]) for k in listed)
    text = runner.invoke(app, ["accounts", "keys", "list", "111111111111", *data]).stdout
    assert sorted(line.split()[0] for line in text.splitlines()) == sorted([first, second]) and "Active" in text
    one = runner.invoke(app, ["accounts", "keys", "delete", first, *data])
    assert (one.exit_code, one.stdout, one.stderr) == (0, f"deleted {first}\n", "")
    last = runner.invoke(app, ["accounts", "keys", "delete", second, *data])
    assert (last.exit_code, last.stdout) == (0, f"deleted {second}\n")
    assert last.stderr == "note: account 111111111111 has no administrator key left; make one with: samlfed accounts keys create 111111111111\n"
    assert runner.invoke(app, ["accounts", "keys", "list", "111111111111", *data]).stdout == ""
    unknown = runner.invoke(app, ["accounts", "keys", "list", "222222222222", *data])
    assert unknown.exit_code == 2 and "no account 222222222222" in unknown.output


def test_accounts_keys_delete_never_repeats_a_secret_access_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Found by an audit: a secret access key pasted instead of its key ID came back in 'no access key …'."""
    data = ["--data-dir", str(tmp_path)]
    made = json.loads(runner.invoke(app, ["accounts", "create", "--id", "111111111111", "--json", *data]).stdout)
    refused = runner.invoke(app, ["accounts", "keys", "delete", made["SecretAccessKey"], *data])
    assert refused.exit_code == 2 and "is not an access key ID" in refused.output, refused.output
    assert made["SecretAccessKey"] not in refused.output
    unknown = runner.invoke(app, ["accounts", "keys", "delete", "AKIAAAAAAAAAAAAAAAAA", *data])
    assert unknown.exit_code == 2 and unknown.output == "samlfed: no access key AKIAAAAAAAAAAAAAAAAA\n"


def test_keys_rotate_counts_the_ring_in_words(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["accounts", "create", "--id", "111111111111", *data]).exit_code == 0
    first, second = (runner.invoke(app, ["keys", "rotate", *data]) for _ in range(2))
    assert first.exit_code == 0 and re.fullmatch(r"active key: \S+ \(1 key in the ring\)\n", first.output), first.output
    assert re.fullmatch(r"active key: \S+ \(2 keys in the ring\)\n", second.output), second.output


@pytest.mark.parametrize("command", [["doctor", "-", "--cert", "idp.pem"], ["idp", "users", "add", "zz"], ["configure", "--profile", "p1"]])
def test_a_closed_standard_input_reads_as_an_empty_one(tmp_path, command) -> None:
    """Found by a CLI probe: started with stdin closed (<&-, as some schedulers do), these ended in tracebacks
    ('NoneType' object has no attribute 'buffer', input(): lost sys.stdin)."""
    import subprocess

    from cryptography.hazmat.primitives.serialization import Encoding
    from saml_factory import signer
    from servers import SAMLFED

    (tmp_path / "idp.pem").write_bytes(signer().certificate.public_bytes(Encoding.PEM))
    args = [*command, "--data-dir", str(tmp_path / "data")] if command[0] == "idp" else command
    done = subprocess.run([SAMLFED, *args], preexec_fn=lambda: os.close(0), capture_output=True, text=True, timeout=60,  # noqa: PLW1509
                          env={**os.environ, "HOME": str(tmp_path)}, cwd=tmp_path)
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("command", [
    ["accounts", "create", "--id", "222222222222"], ["accounts", "keys", "create", "111111111111"], ["authz-keys", "create", "--name", "gw"],
], ids=["account", "admin-key", "authz-key"])
def test_a_secret_is_not_made_for_a_closed_standard_output(tmp_path, command) -> None:
    """Found by a CLI probe: started with stdout closed (>&-), these made the account or key, printed its secret
    nowhere and exited 0: a working credential no one had ever seen."""
    import subprocess

    from servers import SAMLFED

    data = ["--data-dir", str(tmp_path / "data")]
    assert subprocess.run([SAMLFED, "accounts", "create", "--id", "111111111111", *data], capture_output=True, timeout=60).returncode == 0
    before = subprocess.run([SAMLFED, "accounts", "keys", "list", "111111111111", *data], capture_output=True, text=True, timeout=60).stdout
    done = subprocess.run([SAMLFED, *command, *data], preexec_fn=lambda: os.close(1), capture_output=True, text=True, timeout=60)  # noqa: PLW1509
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == "samlfed: standard output is closed: the new secret would be shown to no one; nothing was done\n"
    listed = [[SAMLFED, "accounts", "list", *data], [SAMLFED, "accounts", "keys", "list", "111111111111", *data], [SAMLFED, "authz-keys", "list", *data]]
    after = [subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout for argv in listed]
    assert after == ["111111111111\n", before, ""]


def test_a_write_the_file_system_refuses_is_one_line(tmp_path) -> None:
    """Found by a CLI probe: `idp users add` on a read-only or full file system ended in a traceback. Stored data
    stays as it was (writes are atomic); the command says what the file system said."""
    import resource
    import subprocess

    from servers import SAMLFED

    data = str(tmp_path / "data")
    made = subprocess.run([SAMLFED, "idp", "users", "add", "alice", "--password", "correct horse", "--data-dir", data],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    users = (tmp_path / "data" / "idp" / "idp.yaml").read_bytes()

    def tiny_files() -> None:  # Python ignores SIGXFSZ: a write past the limit raises OSError (File too large)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))

    refused = subprocess.run([SAMLFED, "idp", "users", "add", "bob", "--password-stdin", "--data-dir", data], input="correct horse\n",
                             capture_output=True, text=True, timeout=60, preexec_fn=tiny_files)  # noqa: PLW1509
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.startswith("samlfed: cannot complete the command: File too large")
    assert (tmp_path / "data" / "idp" / "idp.yaml").read_bytes() == users


@pytest.mark.parametrize(("command", "said"), [
    ([b"accounts", b"keys", b"delete", b"AKIA\xff\xfe"], b"samlfed: that is not an access key ID (AKIA and capital letters and digits, "
                                                      b"as `samlfed accounts keys list` shows them); it is not repeated here, in case it is a secret access key"),
    ([b"accounts", b"keys", b"list", b"1234\xff\xfe"], b"samlfed: cannot complete the command: a value given is not UTF-8 text"),
    ([b"authz-keys", b"delete", b"k\xff"], b"samlfed: that is not an authorization key id (16 hexadecimal digits, as `samlfed authz-keys "
                                          b"list` shows them); it is not repeated here, in case it holds a secret"),
    ([b"serve", b"--host", b"h\xff", b"--port", b"18499"], b"samlfed: cannot listen on 'h\\udcff': it is not a host name or address"),
], ids=["keys-delete", "keys-list", "authz-delete", "serve-host"])
def test_an_argument_that_is_not_utf8_is_a_message_and_exit_2(tmp_path, command: list[bytes], said: bytes) -> None:
    """Found by a CLI probe: an argument typed on a Latin-1 terminal reached the database driver (UnicodeEncodeError)
    or the socket layer (TypeError) and ended in a traceback."""
    import subprocess

    from servers import SAMLFED

    data = str(tmp_path / "data")
    assert subprocess.run([SAMLFED, "accounts", "create", "--data-dir", data], capture_output=True, timeout=60).returncode == 0
    refused = subprocess.run([SAMLFED.encode(), *command, b"--data-dir", data.encode()], capture_output=True, timeout=60)
    assert refused.returncode == 2 and b"Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.strip() == said


@pytest.mark.parametrize("command", [
    ["providers", "private-keys", "add", "arn:aws:iam::111111111111:saml-provider/Corp", "/dev/zero"],
    ["doctor", "response.b64", "--metadata", "/dev/zero"],
    ["doctor", "response.b64", "--cert", "/dev/zero"],
    ["serve", "--config", "/dev/zero"],
    ["serve", "--tls-certfile", "/dev/zero", "--tls-keyfile", "/dev/zero"],
], ids=["private-key", "metadata", "cert", "settings", "tls"])
def test_an_endless_file_is_refused_without_reading_it_whole(tmp_path, command) -> None:
    """Found by a CLI probe: `private-keys add KEY /dev/zero` read until the OOM killer ended it, and the other
    files an operator names were read whole too. Each is read to its limit and refused past it."""
    import resource
    import subprocess

    from servers import SAMLFED

    def two_gigabytes() -> None:  # were a file read whole again, a MemoryError here, not the machine's memory
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    (tmp_path / "response.b64").write_text("PHNhbWxwOlJlc3BvbnNlLz4=")
    args = [*command, "--data-dir", str(tmp_path / "data")] if command[0] != "doctor" else command
    done = subprocess.run([SAMLFED, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path, preexec_fn=two_gigabytes)  # noqa: PLW1509
    assert done.returncode == 2, done.stderr
    assert "/dev/zero" in done.stderr and "larger than" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["", "a\nb", "s3\x1b[31mred", "x" * 129])
def test_an_authz_key_name_is_one_printable_line(tmp_path, name) -> None:
    """Found by a CLI probe: a name holding a line break or a terminal escape was stored and printed raw by `list`."""
    result = runner.invoke(app, ["authz-keys", "create", "--name", name, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "--name must be 1 to 128 printable characters" in result.output, result.output


def test_a_crash_never_prints_local_variables() -> None:
    """Found by a cryptography review: typer's pretty tracebacks showed each frame's locals by default in the
    releases pyproject admits, and a command's locals hold secrets (a new admin key, a password read at a
    prompt). A command that fails unexpectedly still shows its traceback, without the values."""
    script = (
        "import sys\n"
        "import typer\n"
        "made = typer.Typer.__init__\n"  # the default of the typer releases that showed them
        "def shown_by_default(self, *args, pretty_exceptions_show_locals=True, **kwargs):\n"
        "    made(self, *args, pretty_exceptions_show_locals=pretty_exceptions_show_locals, **kwargs)\n"
        "typer.Typer.__init__ = shown_by_default\n"
        "from samlfed import cli\n"
        "@cli.app.command('crash')\n"
        "def crash() -> None:\n"
        "    held_secret = 'wJalr-' + str(6 * 7)\n"
        "    raise RuntimeError('unexpected')\n"
        "sys.argv = ['samlfed', 'crash']\n"
        "cli.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200", "TERM": "dumb"})
    assert done.returncode == 1 and "RuntimeError" in done.stderr, done.stderr
    assert "wJalr-42" not in done.stderr and "held_secret" not in done.stderr, done.stderr


def test_the_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    said = CliRunner().invoke(app, ["--version"])
    assert (said.exit_code, said.output) == (0, f"samlfed {version('samlfed')}\n")
    as_module = subprocess.run([sys.executable, "-m", "samlfed", "--version"], capture_output=True, text=True, timeout=60)
    assert (as_module.returncode, as_module.stdout) == (0, said.output), as_module.stderr


@pytest.mark.parametrize("command", [
    ["serve", "--data-dir", ""], ["serve", "--idp-dir", ""], ["accounts", "create", "--data-dir", ""], ["keys", "rotate", "--data-dir", ""],
    ["backup", "copy", "--data-dir", ""], ["doctor", "response.b64", "--data-dir", "", "--principal-arn", PROVIDER_ARN],
    ["idp", "serve", "--data-dir", ""], ["idp", "serve", "--idp-dir", ""], ["demo", "--data-dir", ""],
])
def test_an_empty_directory_option_is_refused_not_taken_for_the_working_directory(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAMLFED_MASTER_KEY", "")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "is empty: name a directory" in result.output
    assert list(tmp_path.iterdir()) == []  # no database, key or IdP file made in the working directory


@pytest.mark.parametrize(("command", "made"), [
    (["accounts", "create", "--id", "222222222222"], "account 222222222222 with access key AKIA"),
    (["accounts", "create", "--json"], "account "),
    (["accounts", "keys", "create", "111111111111"], "access key AKIA"),
    (["authz-keys", "create", "--name", "gw"], "authorization key "),
    (["idp", "users", "add", "bob", "--password", "correct horse", "--totp"], "user bob"),
], ids=["account", "account-json", "admin-key", "authz-key", "idp-totp"])
def test_a_secret_standard_output_refuses_leaves_nothing_behind(tmp_path, command, made) -> None:
    """Found by a CLI probe: with standard output on a full disk (> /dev/full) these made the account or key, failed
    to print its secret and left it working: a credential no one had ever seen. What was made is removed again."""
    import subprocess

    from servers import SAMLFED

    data = ["--data-dir", str(tmp_path / "data")]
    assert subprocess.run([SAMLFED, "accounts", "create", "--id", "111111111111", *data], capture_output=True, timeout=60).returncode == 0
    listed = [["accounts", "list"], ["accounts", "keys", "list", "111111111111"], ["authz-keys", "list"], ["idp", "users", "list"]]
    before = [subprocess.run([SAMLFED, *argv, *data], capture_output=True, text=True, timeout=60).stdout for argv in listed]
    with open("/dev/full", "w") as full:
        done = subprocess.run([SAMLFED, *command, *data], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    said = done.stderr.splitlines()[-1]
    assert said.startswith(f"samlfed: cannot write the new secret to standard output (No space left on device); {made}"), said
    assert said.endswith(" was removed again, nothing was kept"), said
    after = [subprocess.run([SAMLFED, *argv, *data], capture_output=True, text=True, timeout=60).stdout for argv in listed]
    assert after == before


@pytest.mark.parametrize("command", [["serve"], ["accounts", "create"]], ids=["serve", "accounts-create"])
def test_a_bad_master_key_variable_makes_no_data_directory(tmp_path, command) -> None:
    """Found by a CLI probe: on a new data directory, a SAMLFED_MASTER_KEY that is not base64 of 32 bytes was
    refused only after the directory and an empty samlfed.db had been made, which later starts take for a lost
    database. The variable is checked first."""
    import subprocess

    from servers import SAMLFED, free_port

    data = tmp_path / "data"
    env = {**os.environ, "SAMLFED_MASTER_KEY": "not base64!"}
    port = ["--port", str(free_port())] if command == ["serve"] else []
    done = subprocess.run([SAMLFED, *command, *port, "--data-dir", str(data)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "samlfed: cannot load the master key: SAMLFED_MASTER_KEY is not base64 of 32 bytes\n"
    assert not data.exists()


TERMINAL_TITLE = "\x1b]0;pwned\x07"
"""An escape sequence (OSC: set the window title) that click's own ANSI stripping of piped output leaves alone."""
FORGED_LINE = "\nsamlfed: deleted everything"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["accounts", "keys", "list", f"12{TERMINAL_TITLE}{FORGED_LINE}"], "samlfed: no account 12"),
        (["accounts", "create", "--alias", f"dev{TERMINAL_TITLE}"], "samlfed: 1 validation error detected: Value 'dev"),
        (["providers", "encryption-mode", "get", f"arn:aws:iam::111111111111:saml-provider/idp{TERMINAL_TITLE}{FORGED_LINE}"],
         "samlfed: arn:aws:iam::111111111111:saml-provider/idp"),
        (["aws-policies", "delete", f"arn:aws:iam::aws:policy/x{TERMINAL_TITLE}{FORGED_LINE}"], "kept arn:aws:iam::aws:policy/x"),
    ],
    ids=["account-id", "alias", "provider-arn", "policy-arn"],
)
def test_a_typed_value_repeated_in_a_message_cannot_drive_the_terminal(tmp_path, argv: list[str], said: str) -> None:  # type: ignore[no-untyped-def]
    """Admin messages repeated the value as typed (`samlfed: no account …`): an escape sequence in it (pasted from a
    ticket, say) reached the operator's terminal, and a line break printed a line of its own. They are now escaped
    as refused catalogue names are: \\u001b and \\n, on one line."""
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["accounts", "create", "--id", "111111111111", *data]).exit_code == 0
    result = runner.invoke(app, [*argv, *data])
    assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(said) and "\\u001b]0;pwned\\u0007" in result.stderr, result.stderr

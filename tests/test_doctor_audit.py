"""`samlfed doctor` on hostile or awkwardly captured input: an answer and the right exit code, never a traceback."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from rich.console import Console
from saml_factory import ENTITY_ID, NOW, response_b64, signer
from typer.testing import CliRunner

from samlfed import doctor, doctor_report
from samlfed.cli import app
from samlfed.saml import CHECK_ORDER, MAX_INPUT_CHARS, ProviderPolicy, ValidationSettings
from samlfed.saml import constants as c
from samlfed.saml.metadata import build_idp_metadata, parse_metadata
from samlfed.saml.signing import IdpSigner

NOW_ARG = "2026-11-24T12:00:00Z"
runner = CliRunner()
RSA_ENCRYPTION_OID = bytes.fromhex("06092a864886f70d010101")  # 1.2.840.113549.1.1.1
UNKNOWN_KEY_OID = bytes.fromhex("06092a864886f70d010163")  # 1.2.840.113549.1.1.99: no key type cryptography knows


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def metadata_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("doctor-audit") / "idp-metadata.xml"
    path.write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    return path


def run_doctor(*args: str | Path, input: bytes | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["doctor", *map(str, args), "--now", NOW_ARG], input=input)


def assert_answered(result, exit_code: int) -> None:  # type: ignore[no-untyped-def]
    """The command ended through its own exit, not an exception (typer prints those as a traceback)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == exit_code, result.output


def der_of_idp_certificate() -> bytes:
    return signer().certificate.public_bytes(serialization.Encoding.DER)


def with_undecodable_subject(der: bytes) -> bytes:
    """The certificate with its subject CN (the second occurrence: the issuer comes first) made invalid UTF-8."""
    common_name = b"samlfed test idp"
    at = der.index(common_name, der.index(common_name) + 1)
    return der[:at] + b"\xff" * len(common_name) + der[at + len(common_name) :]


def with_bit_string_subject(der: bytes) -> bytes:
    """The certificate with its subject CN (the second occurrence) a BIT STRING: cryptography allows that type only
    for x500UniqueIdentifier, and decoding the subject raises TypeError."""
    common_name = b"samlfed test idp"
    utf8 = b"\x0c" + bytes([len(common_name)]) + common_name  # UTF8String
    at = der.index(utf8, der.index(utf8) + 1)
    return der[:at] + b"\x03" + bytes([len(common_name)]) + b"\x00" + common_name[1:] + der[at + len(utf8) :]


def with_invalid_version(der: bytes) -> bytes:
    """The certificate stating X.509 version number 5 (v3 is 2): cryptography raises x509.InvalidVersion, no ValueError."""
    v3 = b"\xa0\x03\x02\x01\x02"  # tbsCertificate's version: [0] EXPLICIT INTEGER 2
    assert der.count(v3) == 1
    return der.replace(v3, b"\xa0\x03\x02\x01\x05")


def keyinfo_replaced_by(der: bytes) -> str:
    """A response signed by an unregistered key whose (unsigned) KeyInfo then names `der` instead."""

    def replace(root: etree._Element) -> None:
        for element in root.iter(c.DS_X509_CERTIFICATE):
            element.text = base64.b64encode(der).decode()

    return response_b64(by=signer("rotated"), after_sign=replace)


# --- hostile KeyInfo and --cert ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "der",
    [
        der_of_idp_certificate().replace(RSA_ENCRYPTION_OID, UNKNOWN_KEY_OID), with_undecodable_subject(der_of_idp_certificate()),
        with_invalid_version(der_of_idp_certificate()), with_bit_string_subject(der_of_idp_certificate()),
    ],
    ids=["unknown-key-algorithm", "undecodable-subject", "invalid-version", "bit-string-subject"],
)
def test_unreadable_keyinfo_certificate_is_a_note_not_a_traceback(tmp_path: Path, metadata_file: Path, der: bytes) -> None:
    response = tmp_path / "response.b64"
    response.write_text(keyinfo_replaced_by(der))
    text = run_doctor(response, "--metadata", metadata_file)
    assert_answered(text, 1)
    assert "INVALID at signature.verify" in text.output
    assert "note: the response's KeyInfo holds a certificate that cannot be read" in text.output
    as_json = run_doctor(response, "--metadata", metadata_file, "--json")
    assert_answered(as_json, 1)
    assert "the response's KeyInfo holds a certificate that cannot be read" in json.loads(as_json.output)["notes"]


def test_cert_with_an_undecodable_subject_is_a_usage_error(tmp_path: Path) -> None:
    pem = tmp_path / "broken.pem"
    body = base64.encodebytes(with_undecodable_subject(der_of_idp_certificate()))
    pem.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n")
    response = tmp_path / "response.b64"
    response.write_text(response_b64(by=signer("rotated")))  # fails signature.verify, which lists the registered keys
    result = run_doctor(response, "--cert", pem)
    assert_answered(result, 2)
    assert "is not a PEM RSA certificate or public key" in result.output


@pytest.mark.parametrize("broken", [with_invalid_version, with_bit_string_subject], ids=["invalid-version", "bit-string-subject"])
@pytest.mark.parametrize("form", ["pem", "der"])
def test_cert_that_cryptography_refuses_without_a_value_error_is_a_usage_error(
    tmp_path: Path, form: str, broken: Callable[[bytes], bytes],
) -> None:
    """Found by mutating a certificate's DER: x509.InvalidVersion (a version other than v1-v3) and the TypeError of a
    BIT STRING common name, neither a ValueError, ended the doctor with a traceback, from a PEM file and a DER one."""
    der = broken(der_of_idp_certificate())
    cert = tmp_path / "broken.cer"
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n" if form == "pem" else der)
    result = run_doctor(tmp_path / "unread.b64", "--cert", cert)
    assert_answered(result, 2)
    assert f"{cert} is not a PEM RSA certificate or public key" in " ".join(result.output.split())


def _private_key_pem() -> bytes:
    return signer().private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.mark.parametrize(("content", "says"), [
    (lambda metadata: der_of_idp_certificate(), "it is a DER (binary) certificate; convert it to PEM: openssl x509 -inform DER -in "),
    (lambda metadata: base64.encodebytes(der_of_idp_certificate()), "it is a certificate's base64 without its PEM lines"),
    (lambda metadata: metadata.read_bytes(), "it is XML; give IdP metadata with --metadata"),
    (lambda metadata: _private_key_pem(), "it holds a private key; --cert takes the IdP's signing certificate"),
    (lambda metadata: b"", "the file is empty"),
    (lambda metadata: b"not a certificate", "it holds no PEM block"),
])
def test_a_file_that_is_no_pem_certificate_says_what_it_is(
    tmp_path: Path, metadata_file: Path, content: Callable[[Path], bytes], says: str,
) -> None:
    """An administrator's mix-ups (a .cer exported as DER, the metadata's base64, the metadata itself, a private key)
    were answered with cryptography's 'Unable to load PEM file. See https://cryptography.io/… MalformedFraming'."""
    cert = tmp_path / "idp.cer"
    cert.write_bytes(content(metadata_file))
    result = run_doctor(tmp_path / "unread.b64", "--cert", cert)
    assert_answered(result, 2)
    assert f"{cert} is not a PEM RSA certificate or public key: {says}" in " ".join(result.output.split())
    assert "cryptography.io" not in result.output


@pytest.mark.parametrize(("content", "says"), [
    (lambda: signer().certificate.public_bytes(serialization.Encoding.PEM), "give the IdP's signing certificate with --cert"),
    (_private_key_pem, "it holds a private key (the provider's private key, to decrypt encrypted assertions, goes to --private-key)"),
])
def test_a_pem_file_given_as_metadata_says_which_option_takes_it(tmp_path: Path, content: Callable[[], bytes], says: str) -> None:
    """It said 'Could not parse metadata: the metadata is not acceptable XML: not well-formed XML (Start tag expected…)'."""
    metadata = tmp_path / "idp.pem"
    metadata.write_bytes(content())
    result = run_doctor(tmp_path / "unread.b64", "--metadata", metadata)
    assert_answered(result, 2)
    assert f"{metadata} is a PEM file, not IdP metadata (XML): {says}" in " ".join(result.output.split())


OPENSSL_PREAMBLE = b"Bag Attributes\n    localKeyID: 01 00 00 00 \nsubject=CN = idp.example\nissuer=CN = idp.example\n"
"""What `openssl pkcs12 -nokeys` (or -nocerts) writes before each PEM block."""


@pytest.mark.parametrize(("content", "says"), [
    (lambda: signer().certificate.public_bytes(serialization.Encoding.PEM), "give the IdP's signing certificate with --cert"),
    (_private_key_pem, "it holds a private key (the provider's private key, to decrypt encrypted assertions, goes to --private-key)"),
])
def test_a_pem_file_with_openssl_lines_before_its_block_given_as_metadata_says_which_option_takes_it(
    tmp_path: Path, content: Callable[[], bytes], says: str,
) -> None:
    """--metadata knew a PEM file only when the file began with its -----BEGIN line, while --cert looked for the line
    anywhere: a certificate or key exported by `openssl pkcs12` (Bag Attributes first) got the XML parser's 'not
    well-formed' instead. Both options now recognise files alike (doctor._held)."""
    metadata = tmp_path / "idp.pem"
    metadata.write_bytes(OPENSSL_PREAMBLE + content())
    result = run_doctor(tmp_path / "unread.b64", "--metadata", metadata)
    assert_answered(result, 2)
    assert f"{metadata} is a PEM file, not IdP metadata (XML): {says}" in " ".join(result.output.split())


# --- input size ----------------------------------------------------------------------------------------


def test_oversized_input_is_not_parsed_to_choose_the_provider() -> None:
    small = response_b64()
    big = response_b64(attributes={"padding": ["x" * MAX_INPUT_CHARS]})
    assert len(big) > MAX_INPUT_CHARS and doctor.response_issuer(small) == ENTITY_ID
    assert doctor.response_issuer(big) is None  # the validator refuses it at input.size, unread: so does the doctor


# --- input forms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        quote(response_b64(), safe="").encode(),
        ("\ufeff" + response_b64() + "\r\n").encode("utf-16-le"),
        ("\ufeff" + response_b64()).encode("utf-16-be"),
        ("\ufeff" + "SAMLResponse=" + quote(response_b64(), safe="")).encode("utf-16-le"),
    ],
    ids=["url-encoded-value", "utf16le-with-bom", "utf16be-with-bom", "utf16-form"],
)
def test_more_captured_forms_are_recognised(metadata_file: Path, data: bytes) -> None:
    assert "%2B" in data.decode("latin-1") or data.startswith((b"\xff\xfe", b"\xfe\xff"))
    result = run_doctor("-", "--metadata", metadata_file, input=data)
    assert_answered(result, 0)
    assert "VALID: AWS would accept this response." in result.output


def test_an_xml_document_in_utf16_is_named_as_such(metadata_file: Path) -> None:
    """Found by a Unicode probe: the document, read as UTF-8, contradicted its own declaration and the doctor
    reported the parser's "Blank needed here"."""
    body = base64.b64decode(response_b64()).decode().split("?>", 1)[1].lstrip()  # without the factory's declaration
    xml = '<?xml version="1.0" encoding="UTF-16"?>\n' + body
    result = run_doctor("-", "--metadata", metadata_file, input=("\ufeff" + xml).encode("utf-16-le"))
    assert_answered(result, 2)
    assert "the input is an XML document in UTF-16 (its declaration says so)" in result.output
    # Without that declaration the file is a capture a Windows shell saved as UTF-16: read as the UTF-8 it was.
    assert_answered(run_doctor("-", "--metadata", metadata_file, input=("\ufeff" + body).encode("utf-16-le")), 0)


def test_undecodable_percent_escapes_are_handed_over_as_they_are() -> None:
    assert doctor.decode_input(b"abc%zz") == "abc%zz"


def _nested_forms(levels: int) -> bytes:
    text = b"QUFB"
    for _ in range(levels):
        text = b"SAMLResponse=" + text.replace(b"%", b"%25").replace(b"=", b"%3D")
    return text


@pytest.mark.parametrize(
    ("data", "exit_code", "answer"),
    [
        (b"%" + b"25" * 5000 + b"41", 1, "INVALID at input."),
        (_nested_forms(1100), 2, "over the limit of 400,000 bytes"),  # 1.2 MB: refused unread (doctor_capture.MAX_POSTED_BYTES)
    ],
    ids=["url-encoded-5000-times", "form-in-form-1100-times"],
)
def test_hostile_nesting_is_an_invalid_response_not_a_traceback(tmp_path: Path, metadata_file: Path, data: bytes, exit_code: int, answer: str) -> None:
    path = tmp_path / "nested.txt"
    path.write_bytes(data)
    result = run_doctor(path, "--metadata", metadata_file)
    assert_answered(result, exit_code)
    assert answer in result.output


def test_a_form_body_pasted_url_encoded_is_recognised(metadata_file: Path) -> None:
    form = f"RelayState=x&SAMLResponse={quote(response_b64(), safe='')}"
    result = run_doctor("-", "--metadata", metadata_file, input=quote(form, safe="").encode())
    assert_answered(result, 0)


# --- rendering -----------------------------------------------------------------------------------------


def test_emoji_codes_in_document_values_are_printed_as_written() -> None:
    b64 = response_b64(name_id="bob:thumbs_up:", attributes={"custom": [":smile: :cross_mark:"]})
    trust = doctor.choose_trust(b64, [parse_metadata(build_idp_metadata(ENTITY_ID, [signer().certificate]), now=NOW)], [], ProviderPolicy())
    buffer = io.StringIO()
    doctor_report.render_text(doctor.diagnose(b64, trust, now=NOW, settings=ValidationSettings()), Console(file=buffer, soft_wrap=True))
    output = buffer.getvalue()
    assert "name_id                  bob:thumbs_up:" in output
    assert ">:smile: :cross_mark:</saml:AttributeValue>" in output


# --- clock ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59Z", "9999-01-01T00:00:00Z", "0001-01-01T00:04:00Z", "0001-12-31T23:59:59Z"])
def test_now_at_the_ends_of_the_calendar_is_a_usage_error(metadata_file: Path, now: str) -> None:
    result = runner.invoke(app, ["doctor", "-", "--metadata", str(metadata_file), "--now", now], input=response_b64())
    assert_answered(result, 2)
    assert f"--now {now} is out of range" in result.output


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "10000-01-01T00:00:00Z"])
def test_now_past_the_calendar_once_in_utc_is_out_of_range_not_malformed(metadata_file: Path, now: str) -> None:
    """Well-formed instants that leave Python's calendar only when converted to UTC (or have five-digit years) were
    called "not an ISO 8601 instant", which sent the admin looking for a typo."""
    result = runner.invoke(app, ["doctor", "-", "--metadata", str(metadata_file), "--now", now], input=response_b64())
    assert_answered(result, 2)
    assert f"--now {now} is out of range: give an instant from 0002-01-01T00:00:00Z to 9998-12-31T23:59:59Z" in result.output
    assert "not an ISO 8601" not in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["missing.b64"], "cannot read missing.b64: No such file or directory"),
        (["-", "--now", "tomorrow"], "--now 'tomorrow' is not an ISO 8601 instant with a time zone (e.g. 2026-01-31T12:00:00Z)"),
    ],
)
def test_a_usage_error_with_json_is_a_json_object_on_stdout(metadata_file: Path, options: list[str], message: str) -> None:
    """A script reading --json's standard output gets something to parse; the stderr line and exit code 2 stay."""
    result = runner.invoke(app, ["doctor", *options, "--metadata", str(metadata_file), "--json"], input=response_b64())
    assert_answered(result, 2)
    assert json.loads(result.stdout) == {"error": {"message": message}}
    assert result.stderr == f"samlfed: {message}\n"
    text = runner.invoke(app, ["doctor", *options, "--metadata", str(metadata_file)], input=response_b64())
    assert (text.exit_code, text.stdout, text.stderr) == (2, "", f"samlfed: {message}\n")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--bogus"], "No such option: --bogus"),
        (["--data-dir", ""], "Invalid value for '--data-dir': is empty: name a directory, or leave the option out"),
        (["a.b64", "b.b64"], "Got unexpected extra argument(s) (b.b64)"),
        (["--now"], "Option '--now' requires an argument."),  # last: its value is missing
    ],
)
def test_a_usage_error_of_the_option_parser_with_json_is_a_json_object_on_stdout(metadata_file: Path, options: list[str], message: str) -> None:
    """click's own refusals, met while it reads the arguments, printed nothing on standard output with --json (only the
    doctor's own usage errors were said there), so a script reading the report got nothing to parse. Now they are the
    same JSON object; click's usage lines stay on stderr and the exit code stays 2. Without --json, stdout stays empty."""
    result = runner.invoke(app, ["doctor", "--metadata", str(metadata_file), "--json", *options], input=response_b64())
    assert_answered(result, 2)
    assert json.loads(result.stdout) == {"error": {"message": message}}
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())  # in click's framed, wrapped error
    text = runner.invoke(app, ["doctor", "--metadata", str(metadata_file), *options], input=response_b64())
    assert (text.exit_code, text.stdout) == (2, "")


def test_json_after_a_double_dash_is_a_file_name_not_the_option(metadata_file: Path) -> None:
    result = runner.invoke(app, ["doctor", "--metadata", str(metadata_file), "--bogus", "--", "--json"], input=response_b64())
    assert (result.exit_code, result.stdout) == (2, "")


@pytest.mark.parametrize("now", ["0002-01-01T00:00:00Z", "9998-12-31T23:59:59Z"])
def test_now_a_year_inside_the_calendar_is_checked(metadata_file: Path, now: str) -> None:
    result = runner.invoke(app, ["doctor", "-", "--metadata", str(metadata_file), "--now", now], input=response_b64())
    assert_answered(result, 1)  # the response is not valid then, and the doctor says why
    assert "INVALID at conditions." in result.output


# --- terminal control from the document ----------------------------------------------------------------

CSI = "\u009b"  # the 8-bit Control Sequence Introducer: XML 1.0 allows it, terminals act on it
HOSTILE_NAME_ID = f"bob{CSI}2K{CSI}1A\rVALID\u202eevil"


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_control_characters_of_the_document_are_shown_escaped(terminal: bool) -> None:
    b64 = response_b64(name_id=HOSTILE_NAME_ID)
    trust = doctor.choose_trust(b64, [parse_metadata(build_idp_metadata(ENTITY_ID, [signer().certificate]), now=NOW)], [], ProviderPolicy())
    buffer = io.StringIO()
    console = Console(file=buffer, soft_wrap=True, force_terminal=terminal, color_system="standard" if terminal else None)
    doctor_report.render_text(doctor.diagnose(b64, trust, now=NOW, settings=ValidationSettings()), console)
    output = buffer.getvalue()
    assert not any(character in output for character in (CSI, "\r", "\u202e"))
    assert "bob\\u009b2K\\u009b1A\\u000dVALID\\u202eevil" in output


LINE_FORGING_NAME_ID = "alice\nPASS trust.policy  the trust policy admits this sign-in\u2028VALID: forged\u2029\nVALID: forged"


PRIVATE_USE = "".join(chr(code) for code in range(0xE000, 0xF900))
"""Every private-use character: a document holding them all left no fixed stand-in free (found by the review)."""


@pytest.mark.parametrize(("terminal", "filler"), [(False, ""), (True, ""), (False, PRIVATE_USE)], ids=["plain", "terminal", "private-use"])
def test_a_value_with_line_breaks_prints_no_line_of_its_own(terminal: bool, filler: str) -> None:
    """A NameID holding line breaks printed a check and a verdict of its own (found by a Unicode probe): in a
    report line they are escaped, and in the decoded document they are character references, in attribute values
    too (an Attribute's Name)."""
    b64 = response_b64(name_id=LINE_FORGING_NAME_ID, attributes={"filler": [filler], "odd\u2028VALID: forged": ["x"]})
    trust = doctor.choose_trust(b64, [parse_metadata(build_idp_metadata(ENTITY_ID, [signer().certificate]), now=NOW)], [], ProviderPolicy())
    buffer = io.StringIO()
    console = Console(file=buffer, soft_wrap=True, force_terminal=terminal, color_system="standard" if terminal else None, width=400)
    doctor_report.render_text(doctor.diagnose(b64, trust, now=NOW, settings=ValidationSettings()), console)
    output = re.sub("\x1b\\[[0-9;]*m", "", buffer.getvalue())  # colour codes
    lines = output.splitlines()  # which also breaks at U+2028 and U+2029
    assert not [line for line in lines if "forged" in line and not line.lstrip().startswith(("PASS subject.name_id", "name_id", "attribute", "<"))]
    assert "  attribute                odd\\u2028VALID: forged = x" in lines
    assert "alice\\nPASS trust.policy  the trust policy admits this sign-in\\u2028VALID: forged\\u2029\\nVALID: forged" in output
    assert ">alice&#10;PASS trust.policy  the trust policy admits this sign-in&#x2028;VALID: forged&#x2029;&#10;VALID: forged</saml:NameID>" in output
    assert 'Name="odd&#x2028;VALID: forged"' in output


def test_control_characters_in_json_are_escapes_of_the_same_string() -> None:
    b64 = response_b64(name_id=HOSTILE_NAME_ID)
    trust = doctor.choose_trust(b64, [parse_metadata(build_idp_metadata(ENTITY_ID, [signer().certificate]), now=NOW)], [], ProviderPolicy())
    text = doctor_report.to_json(doctor.diagnose(b64, trust, now=NOW, settings=ValidationSettings()))
    assert not any(character in text for character in (CSI, "\r", "\u202e"))
    assert json.loads(text)["assertion"]["name_id"] == HOSTILE_NAME_ID


def test_control_characters_in_a_metadata_refusal_are_shown_escaped(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"idp{CSI}2J")])
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
    certificate = builder.not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1)).sign(key, hashes.SHA256())
    metadata = tmp_path / "ec-metadata.xml"
    metadata.write_bytes(build_idp_metadata(ENTITY_ID, [certificate]))
    result = run_doctor("-", "--metadata", metadata, input=response_b64().encode())
    assert_answered(result, 2)
    assert "non-RSA key" in result.output and CSI not in result.output and "idp\\u009b2J" in result.output


# --- the signature hint ---------------------------------------------------------------------------------


def _flip_signature_value(root: etree._Element) -> None:
    element = next(root.iter(c.DS_SIGNATURE_VALUE))
    value = bytearray(base64.b64decode(element.text))
    value[10] ^= 1
    element.text = base64.b64encode(bytes(value)).decode()


def diagnose_with(b64: str, *signers: IdpSigner) -> doctor.Diagnosis:
    documents = [parse_metadata(build_idp_metadata(ENTITY_ID, [s.certificate for s in signers or (signer(),)]), now=NOW)]
    return doctor.diagnose(b64, doctor.choose_trust(b64, documents, [], ProviderPolicy()), now=NOW, settings=ValidationSettings())


def signature_hint(diagnosis: doctor.Diagnosis) -> str | None:
    [failure] = [r for r in diagnosis.checks if r.status == "fail"]
    assert failure.id == "signature.verify"
    return failure.hint


def test_a_changed_signature_by_a_registered_key_is_not_called_a_rotation() -> None:
    diagnosis = diagnose_with(response_b64(after_sign=_flip_signature_value))
    hint = signature_hint(diagnosis) or ""
    assert "(rotation)" not in hint and hint == doctor.CHANGED_AFTER_SIGNING_HINT
    checks = {check["id"]: check for check in json.loads(doctor_report.to_json(diagnosis))["checks"]}
    assert checks["signature.verify"]["hint"] == doctor.CHANGED_AFTER_SIGNING_HINT
    output = io.StringIO()
    doctor_report.render_text(diagnosis, Console(file=output, soft_wrap=True))
    assert f"fix: {doctor.CHANGED_AFTER_SIGNING_HINT}" in output.getvalue()


def test_other_signature_failures_keep_the_validator_hint() -> None:
    assert "(rotation)" in (signature_hint(diagnose_with(response_b64(by=signer("rotated")))) or "")
    small = IdpSigner.generate("small idp", key_size=1024, not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=30))
    assert "RSA-2048 or larger" in (signature_hint(diagnose_with(response_b64(by=small), small)) or "")


# --- check order ----------------------------------------------------------------------------------------


def _drop_subject(root: etree._Element) -> None:
    subject = root.find(f".//{c.SUBJECT}")
    subject.getparent().remove(subject)


def _repeat_conditions(root: etree._Element) -> None:
    conditions = root.find(f".//{c.CONDITIONS}")
    conditions.addnext(etree.fromstring(etree.tostring(conditions)))


@pytest.mark.parametrize(
    ("mutate", "failed_check"),
    [(_drop_subject, "subject_confirmation"), (_repeat_conditions, "conditions.not_before")],
    ids=["no-subject", "two-conditions"],
)
def test_checks_are_listed_in_order_when_a_structural_failure_stops_early(
    tmp_path: Path, metadata_file: Path, mutate: Callable[[etree._Element], None], failed_check: str
) -> None:
    path = tmp_path / "response.b64"
    path.write_text(response_b64(before_sign=mutate))
    result = run_doctor(path, "--metadata", metadata_file, "--json")
    assert_answered(result, 1)
    checks = json.loads(result.output)["checks"]
    assert [check["id"] for check in checks] == list(CHECK_ORDER)
    statuses = {check["id"]: (check["status"], check["message"]) for check in checks}
    assert statuses[failed_check][0] == "fail"
    assert statuses["issuer"] == ("skip", f"not run: {failed_check} failed")


@pytest.mark.parametrize(("content", "says"), [
    (der_of_idp_certificate, "is a certificate, not IdP metadata (XML): it is a DER (binary) certificate; convert it to PEM"),
    (lambda: base64.b64encode(der_of_idp_certificate()), "is a certificate, not IdP metadata (XML): it is a certificate's base64 without its PEM lines"),
    (lambda: b"", "is empty: --metadata takes the IdP's metadata document (XML)"),
])
def test_a_certificate_or_empty_file_given_as_metadata_says_what_it_is(tmp_path: Path, content: Callable[[], bytes], says: str) -> None:
    """A DER certificate (a Windows or AD FS .cer export) given as metadata was answered 'the document is not UTF-8 XML
    (it holds NUL bytes, as UTF-16 and UTF-32 documents do)', its base64 'Start tag expected', and an empty file
    'Document is empty': each as an XML problem, while the file is no metadata at all."""
    metadata = tmp_path / "idp.cer"
    metadata.write_bytes(content())
    result = run_doctor(tmp_path / "unread.b64", "--metadata", metadata)
    assert_answered(result, 2)
    output = " ".join(result.output.split())
    assert f"{metadata} {says}" in output and "UTF-16" not in output and "Start tag" not in output

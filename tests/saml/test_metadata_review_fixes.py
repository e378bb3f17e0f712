"""Fixes from a black-box review of metadata handling: validUntil as xs:dateTime and SAML Core read it, a PEM file
pasted into X509Certificate named as such, the reserved aws: prefix of SourceIdentity named in its hint, and the
metadata warnings of CreateSAMLProvider/UpdateSAMLProvider logged instead of dropped."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from saml_factory import ACCOUNT

from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider, update_saml_provider
from samlfed.saml import MetadataError, SamlValidationError
from samlfed.saml import constants as c
from samlfed.saml.aws_claims import source_identity
from samlfed.saml.metadata import build_idp_metadata, parse_metadata
from samlfed.server import build_context

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
ENTITY = "https://idp.example.test/saml"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(common_name: str, not_after: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(KEY.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(not_after - timedelta(days=730)).not_valid_after(not_after)
        .sign(KEY, hashes.SHA256())
    )


CURRENT = certificate("current", NOW + timedelta(days=365))


def with_valid_until(value: str) -> bytes:
    root = etree.fromstring(build_idp_metadata(ENTITY, [CURRENT]))
    root.set("validUntil", value)
    return etree.tostring(root)


# --- validUntil ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [" 2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z\n", "\t 2027-01-01T01:00:00+01:00 \r\n"])
def test_valid_until_with_surrounding_whitespace_is_accepted(value: str) -> None:
    """xs:dateTime's whiteSpace facet is collapse: leading and trailing whitespace is no part of the value."""
    assert parse_metadata(with_valid_until(value), now=NOW).valid_until == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2027-01-01T00:00:00", " 2027-01-01T00:00:00.5 "])
def test_valid_until_without_a_zone_is_utc(value: str) -> None:
    """SAML Core §1.3.3: SAML times are UTC, written without a time zone component."""
    valid_until = parse_metadata(with_valid_until(value), now=NOW).valid_until
    assert valid_until is not None and valid_until.replace(microsecond=0) == datetime(2027, 1, 1, tzinfo=UTC)
    assert valid_until.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["2027-01-01", "2027-01-01T00:00:00+0100", "2027-01-01 T00:00:00Z", "Z"])
def test_other_valid_until_shapes_are_still_refused(value: str) -> None:
    with pytest.raises(MetadataError) as info:
        parse_metadata(with_valid_until(value), now=NOW)
    assert f"validUntil {value!r} is not a valid xs:dateTime" in info.value.reason


# --- a PEM file in X509Certificate ---------------------------------------------------------------------------


def test_pem_lines_inside_x509certificate_are_named_and_refused() -> None:
    pem = CURRENT.public_bytes(serialization.Encoding.PEM).decode()
    root = etree.fromstring(build_idp_metadata(ENTITY, [CURRENT]))
    root.find(f".//{c.DS_X509_CERTIFICATE}").text = pem
    with pytest.raises(MetadataError) as info:
        parse_metadata(etree.tostring(root), now=NOW)
    assert "PEM lines (-----BEGIN CERTIFICATE-----" in info.value.reason
    assert "only the base64 between them" in info.value.reason


def test_plain_bad_base64_keeps_its_message() -> None:
    root = etree.fromstring(build_idp_metadata(ENTITY, [CURRENT]))
    root.find(f".//{c.DS_X509_CERTIFICATE}").text = base64.b64encode(b"x").decode() + "!!"
    with pytest.raises(MetadataError, match="not valid base64"):
        parse_metadata(etree.tostring(root), now=NOW)


# --- SourceIdentity ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["aws:alice", "AWS:alice"])
def test_source_identity_with_the_aws_prefix_says_the_prefix_is_reserved(value: str) -> None:
    with pytest.raises(SamlValidationError) as info:
        source_identity({c.AWS_SOURCE_IDENTITY: (value,)})
    assert info.value.check_id == "aws.source_identity"
    assert "reserved" in info.value.message and info.value.hint is not None and "aws: prefix" in info.value.hint
    assert "spaces" not in info.value.hint


def test_source_identity_with_a_space_keeps_the_pattern_hint() -> None:
    with pytest.raises(SamlValidationError) as info:
        source_identity({c.AWS_SOURCE_IDENTITY: ("alice smith",)})
    assert "does not match" in info.value.message and "spaces" in (info.value.hint or "")
    assert source_identity({c.AWS_SOURCE_IDENTITY: ("alice@example.com",)}) == "alice@example.com"


# --- CreateSAMLProvider / UpdateSAMLProvider log the metadata's warnings -------------------------------------


def test_create_and_update_log_each_metadata_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, ACCOUNT)
    expired = certificate("expired-idp", datetime(2021, 1, 1, tzinfo=UTC))  # expired whatever the clock says now
    document = build_idp_metadata(ENTITY, [expired], valid_until=datetime(2021, 6, 1, tzinfo=UTC)).decode()
    with caplog.at_level(logging.WARNING, logger="samlfed"):
        provider = create_saml_provider(ctx, ACCOUNT, "OldIdP", document)
    created = [r for r in caplog.records if r.name.startswith("samlfed") and r.levelno == logging.WARNING]
    messages = [r.getMessage() for r in created]
    assert len(messages) == 2, messages
    assert all(provider.arn in m for m in messages)
    assert any("CN=expired-idp expired on 2021-01-01" in m for m in messages)
    assert any("validUntil (2021-06-01) has passed" in m for m in messages)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="samlfed"):
        update_saml_provider(ctx, ACCOUNT, provider.arn, document)
    assert len([r for r in caplog.records if r.name.startswith("samlfed") and provider.arn in r.getMessage()]) == 2

    caplog.clear()
    fresh = build_idp_metadata(ENTITY, [certificate("fresh-idp", datetime.now(UTC) + timedelta(days=3650))]).decode()
    with caplog.at_level(logging.WARNING, logger="samlfed"):
        update_saml_provider(ctx, ACCOUNT, provider.arn, fresh)
        create_saml_provider(ctx, ACCOUNT, "FreshIdP", fresh)
    assert not [r for r in caplog.records if r.name.startswith("samlfed.iam")]


def test_a_refused_create_logs_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Warnings describe a provider that exists: a create that fails (here: the name is taken) logs none."""
    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, ACCOUNT)
    document = build_idp_metadata(ENTITY, [certificate("expired-idp", datetime(2021, 1, 1, tzinfo=UTC))]).decode()
    create_saml_provider(ctx, ACCOUNT, "OldIdP", document)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="samlfed"), pytest.raises(Exception, match="already exists"):
        create_saml_provider(ctx, ACCOUNT, "OldIdP", document)
    assert not [r for r in caplog.records if r.name == "samlfed.iam"]

"""The console's pure parts: destination allow-list, request ids, SP metadata, provider lookup."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from console_setup import factory_response
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from saml_factory import ENTITY_ID, signer
from sql_statements import statements

from samlfed.console import signin
from samlfed.console.destinations import console_destination, issuer_link
from samlfed.console.signin import MAX_PROVIDERS, SignInRefused, candidate_providers, make_offer
from samlfed.console.sp import encryption_certificate, new_request_id, request_issued_at
from samlfed.iam.accounts import create_account
from samlfed.iam.providers import create_saml_provider
from samlfed.iam.roles import create_role
from samlfed.masterkey import MasterKey
from samlfed.saml import validate
from samlfed.saml.checks import SIGNATURE_INVALID
from samlfed.saml.metadata import build_idp_metadata

BASE = "https://samlfed.example.com"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/console", "/console"),
        ("/console/home?x=1", "/console"),  # /console/... is the console home, which reads only the region
        ("/console/home?region=us-west-2", "/console?region=us-west-2"),
        ("/console/signout", "/console"),
        ("/console?region=<script>", "/console"),
        (f"{BASE}/console?region=us-east-2", "/console?region=us-east-2"),
        ("https://console.aws.amazon.com/", "/console"),
        ("https://us-west-2.console.aws.amazon.com/ec2/home?region=us-west-2", "/console?region=us-west-2"),
        ("https://console.amazonaws.cn/?region=cn-north-1", "/console?region=cn-north-1"),
        ("https://console.aws.amazon.com/?region=<script>", "/console"),
        # Region names begin with two to four letters (botocore's partitions): AWS European Sovereign Cloud's too.
        ("/console?region=eusc-de-east-1", "/console?region=eusc-de-east-1"),
        ("/console?region=abcde-east-1", "/console"),
        (None, None),
        ("", None),
        ("/saml", None),
        ("/consoleevil", None),
        ("/console/../saml", None),
        ("/console/%2e%2e/saml", None),
        ("/console/./x", None),
        ("//evil.example/console", None),
        ("https://evil.example/console", None),
        ("http://samlfed.example.com/console", None),  # another scheme is another origin
        ("https://samlfed.example.com.evil.example/console", None),
        ("https://user@console.aws.amazon.com/", None),
        ("https://console.aws.amazon.com.evil.example/", None),
        ("http://console.aws.amazon.com/", None),
        ("javascript:alert(1)//console", None),
        ("/console\\@evil.example", None),
        ("/console\r\nSet-Cookie: x=1", None),
    ],
)
def test_console_destination(value: str | None, expected: str | None) -> None:
    assert console_destination(value, BASE) == expected


@pytest.mark.parametrize(
    ("issuer", "link"),
    [
        ("https://idp.example/start", "https://idp.example/start"),
        # A scheme is read in any letter case (RFC 3986 §3.1), as browsers do: such an Issuer was no link before.
        ("HTTPS://idp.example/start", "HTTPS://idp.example/start"),
        ("Http://idp.example/", "Http://idp.example/"),
        ("https://" + "x" * 2040, "https://" + "x" * 2040),
        ("https://" + "x" * 2041, None),
        ("javascript:alert(1)//https://", None),
        ("https:/idp.example", None),
        (" https://idp.example", None),
        ("ftp://idp.example", None),
        ("", None),
    ],
)
def test_issuer_link(issuer: str, link: str | None) -> None:
    assert issuer_link(issuer) == link


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://us-west-2.console.aws.amazon.com", "/console?region=us-west-2"),
        ("https://eu-west-1.console.aws.amazon.com/console/home", "/console?region=eu-west-1"),
        ("https://cn-north-1.console.amazonaws.cn/", "/console?region=cn-north-1"),
        ("https://us-gov-west-1.console.amazonaws-us-gov.com/", "/console?region=us-gov-west-1"),
        ("https://us-west-2.console.aws.amazon.com/console/home?region=eu-west-1", "/console?region=eu-west-1"),  # the deep link's own
        ("https://s3.console.aws.amazon.com/s3/home", "/console"),  # a service's host names no region
        ("https://eu-west-1.s3.console.aws.amazon.com/", "/console"),
    ],
)
def test_a_regional_console_host_keeps_its_region(value: str, expected: str) -> None:
    """AWS's regional console endpoints, https://{region}.console.aws.amazon.com ("AWS Management Console endpoints
    and quotas"), open the console in that region, and brokers build Destinations that way
    ("https://" + region + ".console.aws.amazon.com/"); the region was dropped, since only a region query parameter
    was read: the console showed none."""
    assert console_destination(value, BASE) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://SAMLFED.Example.com/console?region=eu-west-1", "/console?region=eu-west-1"),
        ("https://samlfed.example.com:443/console", "/console"),
        ("https://samlfed.example.com:444/console", None),
        ("https://samlfed.example.com:x/console", None),
        ("https://user@samlfed.example.com/console", None),
        ("https://samlfed.example.com./console", None),
    ],
)
def test_our_own_origin_is_ours_however_its_host_is_cased_or_its_default_port_written(value: str, expected: str | None) -> None:
    """A Destination (or RelayState) naming our own console as https://SAMLFED.example.com/... or with the scheme's
    default port, :443, names the same origin (host names are case-insensitive; RFC 3986 §6.2.3), but was compared
    with the public URL as written, so /federation's login refused it: "The Destination is missing or is not a
    console page of this service." and no sign-in."""
    assert console_destination(value, BASE) == expected


def test_request_ids_are_ours_and_dated() -> None:
    master, other = MasterKey(os.urandom(32)), MasterKey(os.urandom(32))
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    request_id = new_request_id(master, now)
    assert request_id.startswith("_") and request_id.replace("_", "").replace("-", "").isalnum()  # an xs:ID
    assert request_issued_at(master, request_id) == now
    assert request_issued_at(other, request_id) is None
    tampered = request_id[:-2] + ("AA" if request_id[-2:] != "AA" else "BB")
    assert request_issued_at(master, tampered) is None
    assert request_issued_at(master, "_req-1") is None
    assert request_issued_at(master, "_sf!!") is None


def test_candidate_providers_come_from_the_role_values() -> None:
    assert candidate_providers(factory_response()) == ["arn:aws:iam::333333333333:saml-provider/ExampleIdP"]
    with pytest.raises(SignInRefused):
        candidate_providers(base64.b64encode(b"<!DOCTYPE x><x/>").decode())
    with pytest.raises(SignInRefused):
        candidate_providers("A" * 100_001)


def test_a_provider_that_does_not_exist(demo: dict) -> None:
    missing = "arn:aws:iam::444444444444:saml-provider/Nobody"
    with pytest.raises(SignInRefused) as info:
        make_offer(demo["ctx"], factory_response(roles=[f"arn:aws:iam::444444444444:role/X,{missing}"]), datetime.now(UTC))
    assert info.value.message == "Specified provider doesn't exist."


def test_a_missing_provider_beside_one_that_works_is_named_on_the_chooser(demo: dict) -> None:
    """Contract §7.1: a pair whose provider does not exist gets "Specified provider doesn't exist."; with other roles
    to offer, the chooser says so instead of leaving the role out silently."""
    missing = "arn:aws:iam::444444444444:saml-provider/Nobody"
    viewer = "arn:aws:iam::333333333333:role/Viewer,arn:aws:iam::333333333333:saml-provider/ExampleIdP"
    offer = make_offer(demo["ctx"], factory_response(roles=[f"arn:aws:iam::444444444444:role/X,{missing}", viewer]), datetime.now(UTC))
    assert [choice.role_arn for choice in offer.choices] == ["arn:aws:iam::333333333333:role/Viewer"]
    assert f"Specified provider doesn't exist: {missing}. Its roles are not offered." in offer.problems


def test_providers_that_do_not_exist_cost_one_statement_together(demo: dict) -> None:
    """The read cache keeps no misses: without the one query for all, each missing provider named would cost a
    statement of every unauthenticated POST."""
    viewer = "arn:aws:iam::333333333333:role/Viewer,arn:aws:iam::333333333333:saml-provider/ExampleIdP"
    counts = []
    for missing in (9, 99):
        roles = [viewer, *(f"arn:aws:iam::4444444444{n:02d}:role/X,arn:aws:iam::4444444444{n:02d}:saml-provider/Other" for n in range(missing))]
        response = factory_response(roles=roles)
        make_offer(demo["ctx"], response, datetime.now(UTC))  # the existing provider and role are now in the read cache
        with statements(demo["ctx"].store) as seen:
            make_offer(demo["ctx"], response, datetime.now(UTC))
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


def _alike_accounts(ctx, first: int, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """`count` new accounts, each registering the factory IdP (the same metadata, so alike providers) with a Viewer
    role that trusts it; returns their Role pairs."""
    pairs = []
    for n in range(first, first + count):
        account = f"5555555555{n:02d}"
        provider = f"arn:aws:iam::{account}:saml-provider/ExampleIdP"
        create_account(ctx, account, None)
        create_saml_provider(ctx, account, "ExampleIdP", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode())
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}]}
        create_role(ctx, account, "Viewer", json.dumps(trust))
        pairs.append(f"arn:aws:iam::{account}:role/Viewer,{provider}")
    return pairs


def _counting_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every validation make_offer runs (the real one), by the provider it ran for."""
    runs: list[str] = []

    def counted(saml_response, trust, **kwargs):  # type: ignore[no-untyped-def]
        runs.append(trust.provider_arn)
        return validate(saml_response, trust, **kwargs)

    monkeypatch.setattr(signin, "validate", counted)
    return runs


def test_a_forged_response_costs_one_validation_per_kind_of_provider(demo: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """One IdP registered in many accounts: a response that is not its signature is refused after one validation,
    while a genuine one offers every account's role."""
    pairs = _alike_accounts(demo["ctx"], 0, 4)
    runs = _counting_validations(monkeypatch)
    with pytest.raises(SignInRefused) as info:
        make_offer(demo["ctx"], factory_response(roles=pairs, by=signer("intruder")), datetime.now(UTC))
    assert info.value.message == SIGNATURE_INVALID.message and len(runs) == 1
    runs.clear()
    offer = make_offer(demo["ctx"], factory_response(roles=pairs), datetime.now(UTC))
    assert [choice.role_arn for choice in offer.choices] == [pair.split(",")[0] for pair in pairs] and len(runs) == 4


def test_a_response_for_one_providers_own_acs_url_is_tried_with_each_alike_provider(demo: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusals on the ACS URL checks depend on the provider's UUID, so they say nothing of alike providers."""
    first, second = _alike_accounts(demo["ctx"], 10, 2)
    uuid = demo["ctx"].store.get_provider(second.split(",")[1]).uuid
    own_acs = f"https://signin.aws.amazon.com/saml/acs/{uuid}"
    runs = _counting_validations(monkeypatch)
    offer = make_offer(demo["ctx"], factory_response(roles=[first, second], recipient=own_acs, destination=own_acs), datetime.now(UTC))
    assert [choice.role_arn for choice in offer.choices] == [second.split(",")[0]] and len(runs) == 2


def test_a_role_whose_provider_did_not_sign_is_dropped(demo: dict) -> None:
    # The factory IdP signs; a pair naming the demo IdP's provider must not be offered on its strength.
    foreign = "arn:aws:iam::111111111111:role/Developer,arn:aws:iam::111111111111:saml-provider/samlfed-idp"
    offer = make_offer(
        demo["ctx"],
        factory_response(roles=[foreign, "arn:aws:iam::333333333333:role/Viewer,arn:aws:iam::333333333333:saml-provider/ExampleIdP"]),
        datetime.now(UTC) + timedelta(seconds=1),
    )
    assert [choice.role_arn for choice in offer.choices] == ["arn:aws:iam::333333333333:role/Viewer"]


def test_providers_beyond_the_bound_are_said_to_be_left_out(demo: dict) -> None:
    """Only MAX_PROVIDERS providers are tried (each costs a signature check); the chooser says so, instead of an
    account silently missing."""
    others = [f"arn:aws:iam::4444444444{n:02d}:role/X,arn:aws:iam::4444444444{n:02d}:saml-provider/Other" for n in range(MAX_PROVIDERS)]
    viewer = "arn:aws:iam::333333333333:role/Viewer,arn:aws:iam::333333333333:saml-provider/ExampleIdP"
    roles = [viewer, *others]
    offer = make_offer(demo["ctx"], factory_response(roles=roles), datetime.now(UTC) + timedelta(seconds=1))
    assert [choice.role_arn for choice in offer.choices] == ["arn:aws:iam::333333333333:role/Viewer"]
    assert offer.problems[-1] == f"The response names {MAX_PROVIDERS + 1} SAML providers; only the roles of the first {MAX_PROVIDERS} were considered."
    # the providers that were looked up and do not exist are named (the last one was not looked up)
    assert sum("Specified provider doesn't exist" in problem for problem in offer.problems) == MAX_PROVIDERS - 1
    within = make_offer(demo["ctx"], factory_response(roles=roles[:MAX_PROVIDERS]), datetime.now(UTC) + timedelta(seconds=1))
    assert not any("SAML providers" in problem for problem in within.problems)


def test_an_encryption_certificate_is_derived_from_its_key_alone() -> None:
    """What a provider's SP metadata carries for an uploaded key: the same certificate each time it is made (so on
    every node), self-signed, for key encipherment only, not a CA, not expiring before the key is removed."""
    key, other = signer("sp-encryption").private_key, signer("sp-encryption-successor").private_key
    uploaded = datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=UTC)
    certificate = encryption_certificate(key, "KEYID", uploaded)
    assert encryption_certificate(key, "KEYID", uploaded) == certificate
    assert encryption_certificate(other, "OTHERKEYID", uploaded).public_key() != certificate.public_key()
    certificate.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(), certificate.signature_hash_algorithm)
    assert certificate.subject == certificate.issuer
    assert certificate.not_valid_before_utc == uploaded.replace(microsecond=0)
    assert certificate.not_valid_after_utc.year == 9999
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment and not usage.digital_signature and not usage.key_cert_sign
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False

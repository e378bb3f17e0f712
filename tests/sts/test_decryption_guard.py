"""Rejections that follow a decryption tell nothing by their timing or their number (validation bar, attack 19).

A tampered AES-CBC ciphertext decrypts to garbled plaintext, and how far the validation gets with it depends on that
plaintext; a bad pad length stops sooner than a good one whose plaintext then fails to parse (measured in process:
~75 µs apart). Such rejections are answered no sooner than ANSWER_DELAY after the decryption, and counted per provider
and per source address, past whose limits encrypted responses are refused before anything is decrypted, unless the
Response's signature verifies first (a forger cannot sign, so forgeries cannot hold up an IdP that signs Responses)."""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from asgi_driver import asgi_call
from lxml import etree
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, NOW, PROVIDER_ARN, SETTINGS, encode, response_tree, signer, trust
from service_world import developer_world

from samlfed.api.app import QueryApi, build_app
from samlfed.config import Settings
from samlfed.console.signin import SignInRefused, make_offer
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.provider_keys import EncryptionChange
from samlfed.iam.providers import create_saml_provider, update_saml_provider
from samlfed.saml import SamlValidationError, validate
from samlfed.saml import constants as c
from samlfed.saml.errors import UnsignedDecryptionRefused
from samlfed.saml.metadata import build_idp_metadata
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from samlfed.sts.decryption_guard import ANSWER_DELAY, DecryptionGuard, FailureLimit, source_key

SP = signer("sp-encryption")
DECRYPTING = trust(decrypting_with=(SP,))
CIPHER_VALUE = "{http://www.w3.org/2001/04/xmlenc#}CipherValue"
ENCRYPTED_DATA = "{http://www.w3.org/2001/04/xmlenc#}EncryptedData"


def _encrypted(**overrides: object) -> etree._Element:
    return response_tree("assertion", encrypt_for=SP, encryption={"data_algorithm": "aes256-cbc"}, **overrides)


def _tampered(flip_at: int) -> str:
    """An encrypted response with one bit of its AES-CBC ciphertext flipped (the Response is unsigned, as AD FS's)."""
    root = _encrypted()
    value = root.find(f".//{ENCRYPTED_DATA}/*/{CIPHER_VALUE}")
    ciphertext = bytearray(base64.b64decode(value.text))
    ciphertext[flip_at] ^= 0x40
    value.text = base64.b64encode(bytes(ciphertext)).decode()
    return encode(root)


BAD_PAD_LENGTH = -17
"""Flips a bit of the last plaintext byte, the pad length, which then lies outside 1..16."""
GARBLED_MIDDLE = 800
"""Garbles a block in the middle: the pad length is intact, and the plaintext fails to parse."""


def _rejection(b64: str, provider=DECRYPTING, now=NOW) -> SamlValidationError:
    with pytest.raises(SamlValidationError) as info:
        validate(b64, provider, now=now, settings=SETTINGS)
    return info.value


# --- the pipeline says when the decryption ended ----------------------------------------------------------------


@pytest.mark.parametrize("flip_at", [BAD_PAD_LENGTH, GARBLED_MIDDLE])
def test_a_tampered_ciphertext_is_rejected_with_the_moment_its_decryption_ended(flip_at: int) -> None:
    before = time.monotonic()
    error = _rejection(_tampered(flip_at))
    assert error.check_id == "encryption.decrypt" and error.aws.message == "Response could not be decrypted"
    assert error.decrypted_at is not None and before <= error.decrypted_at <= time.monotonic()


def test_the_two_tamperings_fail_at_different_points_that_the_answer_does_not_show() -> None:
    padding, parsing = _rejection(_tampered(BAD_PAD_LENGTH)), _rejection(_tampered(GARBLED_MIDDLE))
    assert "could not be decrypted" in padding.message and "not a document samlfed reads" in parsing.message
    assert (padding.aws, padding.hint) == (parsing.aws, parsing.hint)


def test_a_genuine_encrypted_assertion_rejected_later_also_carries_the_moment() -> None:
    error = _rejection(encode(_encrypted()), now=NOW + timedelta(hours=1))  # expired: a check after decryption
    assert error.check_id == "conditions.not_on_or_after" and error.decrypted_at is not None


def test_rejections_before_any_decryption_carry_no_moment() -> None:
    assert _rejection(encode(response_tree("assertion")), now=NOW + timedelta(hours=1)).decrypted_at is None

    def forge_response_signature(root: etree._Element) -> None:
        root.set("Destination", "https://signin.aws.amazon.com/saml?forged")

    forged = _rejection(encode(response_tree("both", encrypt_for=SP, after_sign=forge_response_signature)))
    assert forged.check_id == "encryption.response_signature" and forged.decrypted_at is None


# --- the limits -------------------------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


ENCRYPTED = encode(_encrypted())
PLAINTEXT = encode(response_tree("assertion"))


def _admitted(guard: DecryptionGuard, provider: str, source: str, response: str = ENCRYPTED) -> bool:
    """Whether the guard lets the encrypted assertion of any response be decrypted, not only a signed Response's."""
    return guard.guarded(replace(DECRYPTING, provider_arn=provider), source, response).decrypts_unsigned


SIGNED_RESPONSE = encode(response_tree("both", encrypt_for=SP, encryption={"data_algorithm": "aes256-cbc"}))
"""Signed Assertion, encrypted, in a Response signed over the ciphertext: what no forger can make."""


def test_held_back_the_pipeline_decrypts_only_in_a_response_whose_signature_verifies_first() -> None:
    held = replace(DECRYPTING, decrypts_unsigned=False)
    with pytest.raises(UnsignedDecryptionRefused) as info:
        validate(ENCRYPTED, held, now=NOW, settings=SETTINGS)
    assert info.value.decrypted_at is None and (info.value.aws.code, info.value.aws.message) == ("Throttling", "Rate exceeded")
    assert validate(SIGNED_RESPONSE, held, now=NOW, settings=SETTINGS).claims.role_session_name == "alice@example.com"
    forged = encode(response_tree("both", encrypt_for=SP, after_sign=lambda root: root.set("Destination", "https://signin.aws.amazon.com/saml?x")))
    assert _rejection(forged, provider=held).check_id == "encryption.response_signature"  # refused before any decryption


def test_rejections_of_a_signed_response_after_its_decryption_are_held_but_not_counted() -> None:
    guard = DecryptionGuard(per_provider=FailureLimit(burst=1, refill_seconds=60), clock=_Clock())
    expired = _rejection(SIGNED_RESPONSE, now=NOW + timedelta(hours=1))
    assert expired.decrypted_at is not None and guard.answer_by(expired, PROVIDER_ARN, "192.0.2.1") is not None
    assert _admitted(guard, PROVIDER_ARN, "192.0.2.1")  # the ciphertext was the IdP's own: no question answered
    unsigned = _rejection(encode(_encrypted()), now=NOW + timedelta(hours=1))
    guard.answer_by(unsigned, PROVIDER_ARN, "192.0.2.1")
    assert not _admitted(guard, PROVIDER_ARN, "192.0.2.1")


def test_past_the_source_limit_encrypted_responses_from_it_are_refused_until_it_refills() -> None:
    clock = _Clock()
    guard = DecryptionGuard(per_source=FailureLimit(burst=3, refill_seconds=60), clock=clock)
    for _ in range(3):
        assert _admitted(guard, PROVIDER_ARN, "192.0.2.1")
        guard.rejected(PROVIDER_ARN, "192.0.2.1")
    assert not _admitted(guard, PROVIDER_ARN, "192.0.2.1")
    assert _admitted(guard, PROVIDER_ARN, "192.0.2.1", PLAINTEXT)  # nothing to decrypt: nothing to refuse
    assert _admitted(guard, PROVIDER_ARN, "192.0.2.2")  # another source
    clock.now += 59
    assert not _admitted(guard, PROVIDER_ARN, "192.0.2.1")
    clock.now += 1  # one rejection's allowance is back
    assert _admitted(guard, PROVIDER_ARN, "192.0.2.1")
    guard.rejected(PROVIDER_ARN, "192.0.2.1")
    assert not _admitted(guard, PROVIDER_ARN, "192.0.2.1")


def test_past_the_provider_limit_encrypted_responses_for_it_are_refused_from_everywhere() -> None:
    guard = DecryptionGuard(per_provider=FailureLimit(burst=4, refill_seconds=60), clock=_Clock())
    for source in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"):
        guard.rejected(PROVIDER_ARN, source)
    assert not _admitted(guard, PROVIDER_ARN, "198.51.100.7")
    assert _admitted(guard, PROVIDER_ARN.replace("ExampleIdP", "OtherIdP"), "198.51.100.7")


def test_an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_one_as_ipv4() -> None:
    assert source_key("2001:db8::1") == source_key("2001:db8::ffff:2") == "2001:db8::/64"
    assert source_key("2001:db8:0:1::1") == "2001:db8:0:1::/64"
    assert source_key("::ffff:192.0.2.1") == source_key("192.0.2.1") == "192.0.2.1"
    assert source_key(None) == source_key("") == "unknown"


def test_the_counts_are_bounded_forgetting_refilled_buckets_first_then_the_oldest() -> None:
    clock = _Clock()
    guard = DecryptionGuard(per_source=FailureLimit(burst=1, refill_seconds=60), clock=clock, capacity=2)
    guard.rejected(PROVIDER_ARN, "192.0.2.1")
    clock.now += 60  # 192.0.2.1 has refilled
    guard.rejected(PROVIDER_ARN, "192.0.2.2")
    guard.rejected(PROVIDER_ARN, "192.0.2.3")  # full: the refilled bucket goes
    assert not _admitted(guard, PROVIDER_ARN, "192.0.2.2") and not _admitted(guard, PROVIDER_ARN, "192.0.2.3")
    guard.rejected(PROVIDER_ARN, "192.0.2.4")  # full, none refilled: the oldest goes
    assert _admitted(guard, PROVIDER_ARN, "192.0.2.2") and not _admitted(guard, PROVIDER_ARN, "192.0.2.4")


def test_an_undecodable_response_is_not_taken_for_an_encrypted_one() -> None:
    guard = DecryptionGuard(per_source=FailureLimit(burst=1, refill_seconds=60), clock=_Clock())
    guard.rejected(PROVIDER_ARN, "192.0.2.1")
    assert _admitted(guard, PROVIDER_ARN, "192.0.2.1", "not base64!")  # refused by validation, before any decryption


# --- AssumeRoleWithSAML over the query API ----------------------------------------------------------------------


@pytest.fixture()
def world(tmp_path: Path) -> ServiceContext:
    ctx = developer_world(Settings(data_dir=tmp_path))
    ctx.clock = lambda: NOW + timedelta(seconds=5)
    update_saml_provider(ctx, ACCOUNT, PROVIDER_ARN, encryption=EncryptionChange(add_private_key=SP.key_pem().decode()))
    return ctx


def _assume(app: QueryApi, saml_response: str, client: str = "192.0.2.1") -> tuple[int, str, float]:
    body = urlencode({"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN, "SAMLAssertion": saml_response})
    started = time.monotonic()
    start, answer = asgi_call(app, "POST", "/", [body.encode()], client=client)
    return start["status"], answer["body"].decode(), time.monotonic() - started


@pytest.mark.parametrize("flip_at", [BAD_PAD_LENGTH, GARBLED_MIDDLE])
def test_sts_answers_a_rejection_after_decryption_no_sooner_than_the_delay(world: ServiceContext, flip_at: int) -> None:
    status, body, took = _assume(build_app(world), _tampered(flip_at))
    assert status == 400 and "<Code>InvalidIdentityToken</Code>" in body and "<Message>Response could not be decrypted</Message>" in body
    assert took >= ANSWER_DELAY


def test_sts_holds_only_answers_to_rejections_after_a_decryption(world: ServiceContext) -> None:
    def refusal(saml_response: str) -> ServiceError:
        request = AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml_response)
        with pytest.raises(ServiceError) as info:
            assume_role_with_saml(world, request)
        return info.value

    assert refusal(_tampered(GARBLED_MIDDLE)).answer_not_before is not None
    assert refusal(encode(response_tree("assertion", audience="urn:elsewhere"))).answer_not_before is None


def test_sts_throttles_a_source_past_ten_rejected_encrypted_responses(world: ServiceContext) -> None:
    app = build_app(world)
    for _ in range(10):
        assert _assume(app, _tampered(GARBLED_MIDDLE))[0] == 400
    status, body, _ = _assume(app, ENCRYPTED)  # even a genuine one: nothing more is decrypted for this source
    assert status == 400 and "<Code>Throttling</Code>" in body and "<Message>Rate exceeded</Message>" in body
    assert _assume(app, PLAINTEXT)[0] == 200  # the limit is on decryptions
    assert _assume(app, ENCRYPTED, client="198.51.100.7")[0] == 200


def test_sts_forged_encrypted_responses_do_not_hold_up_an_idp_that_signs_its_responses(world: ServiceContext) -> None:
    """Found by probing: anyone knowing a provider's ARN could shut off its encrypted sign-ins, with responses
    encrypted to a key of their own from enough addresses, one every 36 s once the limit was reached."""
    world.decryption_guard = DecryptionGuard(per_provider=FailureLimit(burst=3, refill_seconds=3600))
    app = build_app(world)
    forged = encode(response_tree("none", encrypt_for=signer("the attacker's"), encryption={"data_algorithm": "aes256-cbc"}))
    for n in range(3):
        assert "<Message>Response could not be decrypted</Message>" in _assume(app, forged, client=f"192.0.2.{n}")[1]
    status, body, _ = _assume(app, forged, client="192.0.2.9")
    assert status == 400 and "<Code>Throttling</Code>" in body
    assert _assume(app, ENCRYPTED, client="198.51.100.7")[0] == 400  # an IdP signing only the assertion: held up, as before
    status, body, _ = _assume(app, SIGNED_RESPONSE, client="198.51.100.7")
    assert status == 200, body


def test_the_console_holds_a_throttle_answer_that_follows_another_providers_decryption(world: ServiceContext) -> None:
    """Found by review: at /saml, a response naming two providers was decrypted and rejected by the first, then
    refused as throttled by the second at once, well before ANSWER_DELAY after that decryption."""
    second = f"arn:aws:iam::{ACCOUNT}:saml-provider/Second"
    create_saml_provider(world, ACCOUNT, "Second", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode())
    encryption = EncryptionChange(add_private_key=SP.key_pem().decode(), mode="Required")  # unlike the first: both are asked
    update_saml_provider(world, ACCOUNT, second, encryption=encryption)
    world.decryption_guard = DecryptionGuard(per_provider=FailureLimit(burst=1, refill_seconds=3600))
    world.decryption_guard.rejected(second, "192.0.2.1")  # the second provider is over its limit
    root = etree.fromstring(base64.b64decode(_tampered(GARBLED_MIDDLE)))
    extensions = etree.Element(f"{{{c.NS_PROTOCOL}}}Extensions")
    role = etree.SubElement(extensions, c.ATTRIBUTE, Name=c.AWS_ROLE)
    for provider in (PROVIDER_ARN, second):  # unsigned, in view: only which providers to ask
        etree.SubElement(role, c.ATTRIBUTE_VALUE).text = f"{DEV_ROLE},{provider}"
    root.insert(1, extensions)
    with pytest.raises(SignInRefused) as refused:
        make_offer(world, encode(root), NOW + timedelta(seconds=5), source_ip="198.51.100.7")
    assert refused.value.status == 429 and refused.value.answer_not_before is not None

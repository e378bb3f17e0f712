"""Builds validly signed AWS-shaped responses for tests, with one knob per field, and a trust that accepts them."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal

from lxml import etree

from samlfed.saml import ProviderPolicy, ProviderTrust, SigningKey, ValidationSettings
from samlfed.saml.signing import AssertionSpec, IdpSigner, build_response, encrypt_assertion_in, sign_element

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
ENTITY_ID = "https://idp.example.test/saml"
ACCOUNT = "111111111111"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/ExampleIdP"
DEV_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Developer"
OPS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Operator"
SETTINGS = ValidationSettings()


def signer(name: str = "idp") -> IdpSigner:
    """One key per name for the whole run (RSA key generation is slow); signer() is signer("idp")."""
    return _signer(name)


@cache
def _signer(name: str) -> IdpSigner:
    return IdpSigner.generate(f"samlfed test {name}", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=365))


def trust(
    *signers: IdpSigner, policy: ProviderPolicy = ProviderPolicy(), entity_id: str = ENTITY_ID,
    decrypting_with: tuple[IdpSigner, ...] = (), encryption_required: bool = False,
) -> ProviderTrust:
    """The provider's trust; `decrypting_with`: key pairs whose private keys were uploaded for encrypted assertions."""
    keys = tuple(SigningKey.from_certificate(s.certificate) for s in (signers or (signer(),)))
    return ProviderTrust(
        entity_id, keys, policy=policy, provider_arn=PROVIDER_ARN,
        decryption_keys=tuple(d.private_key for d in decrypting_with), encryption_required=encryption_required,
    )


def spec(**overrides: object) -> AssertionSpec:
    base = AssertionSpec(
        issuer=ENTITY_ID,
        name_id="alice@example.com",
        roles=[f"{DEV_ROLE},{PROVIDER_ARN}", f"{PROVIDER_ARN},{OPS_ROLE}"],
        role_session_name="alice@example.com",
        session_duration=3600,
        principal_tags={"department": "Engineering", "project": "apollo"},
        issue_instant=NOW - timedelta(seconds=10),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


Mutator = Callable[[etree._Element], None]


def response_tree(
    sign: Literal["assertion", "response", "both", "none"] = "assertion",
    *,
    by: IdpSigner | None = None,
    before_sign: Mutator | None = None,
    after_sign: Mutator | None = None,
    encrypt_for: IdpSigner | None = None,
    encryption: Mapping[str, object] | None = None,
    **spec_overrides: object,
) -> etree._Element:
    """An AWS-shaped Response tree; mutators run on it before and/or after signing.

    With `encrypt_for`, the (signed) Assertion is encrypted for that key pair's certificate (`encryption`: options
    of `encrypt_assertion_in`) before the Response is signed, as IdPs do."""
    root = build_response(spec(**spec_overrides))
    if before_sign:
        before_sign(root)
    key = by or signer()
    assertion = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")
    if sign in ("assertion", "both") and assertion is not None:
        sign_element(assertion, key)
    if encrypt_for is not None:
        encrypt_assertion_in(root, encrypt_for.certificate, **(encryption or {}))
    if sign in ("response", "both"):
        sign_element(root, key)
    if after_sign:
        after_sign(root)
    return root


def encode(root_or_xml: etree._Element | bytes) -> str:
    xml = root_or_xml if isinstance(root_or_xml, bytes) else etree.tostring(root_or_xml, xml_declaration=True, encoding="UTF-8")
    return base64.b64encode(xml).decode()


def response_b64(sign: Literal["assertion", "response", "both", "none"] = "assertion", **kwargs: object) -> str:
    return encode(response_tree(sign, **kwargs))  # type: ignore[arg-type]

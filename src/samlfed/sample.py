"""`samlfed sample`: a throw-away IdP, its metadata, a signed AWS-shaped response and a tampered copy.

The private key lives only in memory: nothing here needs it after signing, so it is never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .saml import constants as c
from .saml.metadata import SsoEndpoint, build_idp_metadata
from .saml.signing import AssertionSpec, IdpSigner, encode_response, sign_response

ENTITY_ID = "https://idp.example.test/saml"
ACCOUNT = "111111111111"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/ExampleIdP"
ROLES = (f"arn:aws:iam::{ACCOUNT}:role/Developer", f"arn:aws:iam::{ACCOUNT}:role/ReadOnly")


@dataclass(frozen=True)
class SampleFiles:
    metadata: Path
    response: Path
    tampered: Path


def sample_spec(now: datetime) -> AssertionSpec:
    return AssertionSpec(
        issuer=ENTITY_ID,
        name_id="alice@example.com",
        # Both orders of a Role pair occur in the wild; the sample shows one of each.
        roles=[f"{ROLES[0]},{PROVIDER_ARN}", f"{PROVIDER_ARN},{ROLES[1]}"],
        role_session_name="alice@example.com",
        session_duration=3600,
        principal_tags={"department": "Engineering", "project": "apollo"},
        issue_instant=now,
    )


def tamper(xml: bytes) -> bytes:
    """The attacker's edit after signing: the ReadOnly grant becomes Admin, so the signature no longer verifies."""
    return xml.replace(b"role/ReadOnly", b"role/Admin")


def write_sample(directory: Path, *, now: datetime) -> SampleFiles:
    """Write idp-metadata.xml, response.b64 and tampered.b64 into `directory`."""
    # The certificate is valid around `now`, so a sample made for another instant still checks at that instant.
    signer = IdpSigner.generate("samlfed sample IdP", not_before=now - timedelta(days=1), not_after=now + timedelta(days=365))
    xml = sign_response(sample_spec(now), signer)
    metadata = build_idp_metadata(
        ENTITY_ID,
        [signer.certificate],
        sso_endpoints=[SsoEndpoint(c.BINDING_HTTP_POST, "https://idp.example.test/sso")],
        name_id_formats=[c.NAMEID_PERSISTENT],
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = SampleFiles(directory / "idp-metadata.xml", directory / "response.b64", directory / "tampered.b64")
    files.metadata.write_bytes(metadata)
    files.response.write_text(encode_response(xml) + "\n")
    files.tampered.write_text(encode_response(tamper(xml)) + "\n")
    return files

"""`samlfed sample`: a throw-away IdP, its metadata, a signed AWS-shaped response and a tampered copy."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .saml import constants as c
from .saml.metadata import SsoEndpoint, build_idp_metadata
from .saml.signing import AssertionSpec, IdpSigner, encode_response, sign_response

ENTITY_ID = "https://idp.example.test/saml"
ACCOUNT = "111111111111"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/ExampleIdP"


@dataclass(frozen=True)
class SampleFiles:
    metadata: Path
    response: Path
    tampered: Path


def write_sample(directory: Path, *, now: datetime) -> SampleFiles:
    """Write idp-metadata.xml, response.b64 and tampered.b64 into `directory`. The private key is not kept."""
    directory.mkdir(parents=True, exist_ok=True)
    signer = IdpSigner.generate("samlfed sample IdP")
    spec = AssertionSpec(
        issuer=ENTITY_ID,
        name_id="alice@example.com",
        roles=[
            f"arn:aws:iam::{ACCOUNT}:role/Developer,{PROVIDER_ARN}",
            f"{PROVIDER_ARN},arn:aws:iam::{ACCOUNT}:role/ReadOnly",
        ],
        role_session_name="alice@example.com",
        session_duration=3600,
        principal_tags={"department": "Engineering", "project": "apollo"},
        issue_instant=now,
    )
    xml = sign_response(spec, signer)
    # The attacker's edit: after signing, the ReadOnly grant becomes Admin.
    tampered = xml.replace(b"role/ReadOnly", b"role/Admin")
    files = SampleFiles(directory / "idp-metadata.xml", directory / "response.b64", directory / "tampered.b64")
    files.metadata.write_bytes(
        build_idp_metadata(
            ENTITY_ID,
            [signer.certificate],
            sso_endpoints=[SsoEndpoint(c.BINDING_HTTP_POST, "https://idp.example.test/sso")],
            name_id_formats=[c.NAMEID_PERSISTENT],
        )
    )
    files.response.write_text(encode_response(xml) + "\n")
    files.tampered.write_text(base64.b64encode(tampered).decode() + "\n")
    return files

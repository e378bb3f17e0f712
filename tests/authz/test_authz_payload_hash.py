"""`payload_hash` is the hex SHA-256 of the body the service received, and outside S3 it stands for that body in the
signature. Any other text was taken as the payload line: `UNSIGNED-PAYLOAD` (what the client's own header says, which
a gateway may pass on) verified a signature that covers no body at all, so a client could sign once and send any
body. It is now a 400, as any value that is no SHA-256."""

from __future__ import annotations

import hashlib

import pytest
from authz_request import signed_request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from samlfed.authz.decide import BadAuthzRequest, decide


class UnsignedPayloadAuth(SigV4Auth):
    """A client that signs `UNSIGNED-PAYLOAD` as its payload line, outside S3."""

    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


def asked(creds, signer: type[SigV4Auth], payload_hash: str | None) -> dict:  # type: ignore[no-untyped-def]
    request = signed_request(signer(creds, "execute-api", "us-east-1"), "POST", "https://api.example/items", b'{"grant": "admin"}')
    return {"request": {**request, "payload_hash": payload_hash}, "action": "execute-api:Invoke", "resource": "*", "service": "execute-api"}


@pytest.mark.parametrize("payload_hash", ["UNSIGNED-PAYLOAD", "", "0" * 63, "g" * 64, hashlib.sha256(b"").hexdigest() + " "])
def test_a_payload_hash_that_is_no_sha256_is_a_bad_request(session, payload_hash: str) -> None:
    ctx, creds = session
    with pytest.raises(BadAuthzRequest, match="request.payload_hash must be the hex SHA-256 of the body"):
        decide(ctx, asked(creds, UnsignedPayloadAuth, payload_hash))


@pytest.mark.parametrize("upper", [False, True])
def test_the_body_hash_is_decided(session, upper: bool) -> None:
    ctx, creds = session
    digest = hashlib.sha256(b'{"grant": "admin"}').hexdigest()
    assert decide(ctx, asked(creds, SigV4Auth, digest.upper() if upper else digest))["authenticated"]
    assert decide(ctx, asked(creds, UnsignedPayloadAuth, digest))["error"]["code"] == "SignatureDoesNotMatch"

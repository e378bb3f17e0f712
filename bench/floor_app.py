"""The validating floor: the least work any server that checks a SAML response's signature must do.

`verify_floor` is what no verifier can avoid: strict base64, one hardened parse, exclusive c14n of SignedInfo
and of the Assertion, SHA-256, RSA verify; no shape, policy or semantic checks at all. `validate.py` times it
against samlfed's full pipeline; `http_assume.py` serves it with `create_app` (uvicorn `--factory`), answering
samlfed's own reply after the form decode and the floor, to show in the same run how close to the fixed-reply
ceiling and how far above moto_server any validating server could get on this machine.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from samlfed.api.protocol import form_pairs
from samlfed.saml import constants as c
from samlfed.saml.b64 import strict_b64decode

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def verify_floor(b64: str | bytes, key: rsa.RSAPublicKey) -> None:
    """Raise unless `key` signed the SignedInfo of the response's Assertion; hash the canonical Assertion.

    The hash is computed, not compared: the enveloped-signature transform that would make it comparable is
    work beyond the floor, and the hashing itself is what every verifier pays."""
    root = etree.fromstring(strict_b64decode(b64), _PARSER)
    assertion = root.find(c.ASSERTION)
    signature = assertion.find(c.DS_SIGNATURE)
    signed_info = signature.find(c.DS_SIGNED_INFO)
    value = strict_b64decode(signature.findtext(c.DS_SIGNATURE_VALUE))
    info_bytes = etree.tostring(signed_info, method="c14n", exclusive=True)
    hashlib.sha256(etree.tostring(assertion, method="c14n", exclusive=True)).digest()
    key.verify(value, info_bytes, padding.PKCS1v15(), hashes.SHA256())


def create_app() -> Starlette:
    """POST /: form decode (samlfed's, the fastest here), the floor on SAMLAssertion, then the reply in
    $FLOOR_REPLY; the IdP certificate comes from $FLOOR_CERT (PEM)."""
    reply = Path(os.environ["FLOOR_REPLY"]).read_bytes()
    key = x509.load_pem_x509_certificate(Path(os.environ["FLOOR_CERT"]).read_bytes()).public_key()

    async def assume(request: Request) -> Response:
        params = dict(form_pairs((await request.body()).decode()))
        verify_floor(params["SAMLAssertion"], key)
        return Response(reply, media_type="text/xml")

    return Starlette(routes=[Route("/", assume, methods=["POST"])])

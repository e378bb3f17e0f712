"""The ECDSA P-256 key of an AWS credential, as SigV4a (AWS4-ECDSA-P256-SHA256) derives it from the secret.

Hand-written because no maintained Python library offers the server side (awscrt signs, and only in C). The
derivation is NIST SP 800-108's counter-mode KDF with HMAC-SHA256 over the secret, retried with a counter until the
candidate falls in the curve's range; tests check it against signatures made by awscrt through botocore.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric import ec

SIGV4A = "AWS4-ECDSA-P256-SHA256"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def public_key(access_key_id: str, secret_access_key: str) -> ec.EllipticCurvePublicKey:
    """The public half of the key `access_key_id`'s SigV4a signatures are made with."""
    input_key = ("AWS4A" + secret_access_key).encode()
    for counter in range(1, 255):
        # i = 1 (one 256-bit block), the label, a zero byte, the context (key id and counter), L = 256 bits
        fixed_input = b"".join([
            (1).to_bytes(4, "big"), SIGV4A.encode(), b"\x00", access_key_id.encode(), bytes([counter]), (256).to_bytes(4, "big"),
        ])
        candidate = int.from_bytes(hmac.new(input_key, fixed_input, hashlib.sha256).digest(), "big")
        if candidate <= _P256_ORDER - 2:
            return ec.derive_private_key(candidate + 1, ec.SECP256R1()).public_key()
    raise ValueError("no SigV4a key for this credential")  # each try fails with probability ~2^-32: never in practice

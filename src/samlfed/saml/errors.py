"""Typed errors of `samlfed.saml`. Each carries a check id, a human message, a fix hint and the AWS error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .checks import AwsError, check

if TYPE_CHECKING:
    from .model import CheckResult


class SamlError(Exception):
    """Base class of everything `samlfed.saml` raises on purpose."""


class SamlValidationError(SamlError):
    """A SAML response was rejected by the check `check_id`.

    `message` is for operators and the doctor (it may name values from the document); callers facing an
    unauthenticated client return only `aws` (code, status, message), which reveals nothing beyond what AWS says.
    """

    def __init__(
        self,
        check_id: str,
        message: str,
        *,
        hint: str | None = None,
        aws: AwsError | None = None,
        unexpected: bool = False,
    ) -> None:
        super().__init__(f"{check_id}: {message}")
        self.check_id = check_id
        self.message = message
        self.hint = hint
        self.unexpected = unexpected
        """True when the check failed by an exception it does not raise on purpose: still a rejection (fail
        closed), but the message names a fault in samlfed or an input no check foresaw, not the IdP's mistake."""
        self.aws = aws or check(check_id).aws
        self.checks: list[CheckResult] = []
        self.warnings: list[str] = []
        self.document: bytes | None = None
        """The decoded XML, when decoding got that far (for the doctor; never echo it to an unauthenticated client)."""
        self.decrypted_at: float | None = None
        """`time.monotonic()` when the assertion's decryption ended, for a rejection at or after the decryption
        check: what is checked from then on depends on the plaintext, so a service answers such a rejection no
        sooner than a fixed delay after this moment (validation bar, attack 19: the same timing for every failure)."""


class UnsignedDecryptionRefused(SamlValidationError):
    """An encrypted assertion in a Response without a verified signature, while `ProviderTrust.decrypts_unsigned`
    is off: refused before anything is decrypted, with STS's throttling answer."""


COULD_NOT_PARSE_METADATA = "Could not parse metadata."
UNABLE_TO_PARSE_METADATA = "Unable to parse metadata"
"""What AWS documents for a signing certificate it refuses: a key under 1024 bits or a repeated extension."""


class MetadataError(SamlError):
    """IdP metadata was refused: `aws_message` is what AWS answers (contract §6.3), `reason` what was wrong."""

    def __init__(self, reason: str, aws_message: str = COULD_NOT_PARSE_METADATA) -> None:
        super().__init__(reason)
        self.reason = reason
        self.aws_message = aws_message

"""The service's half of decrypting assertions safely (validation bar, attack 19).

samlfed accepts AES-CBC because AWS documents it (and AD FS encrypts with it), and CBC is malleable: a tampered
ciphertext decrypts to garbled plaintext, and how far the validation gets with that plaintext tells something about
it (the parse oracle of "How to Break XML Encryption", CCS 2011; since GCM is accepted too, a GCM ciphertext
relabelled as CBC is exposed the same way). Every such rejection already gets the same answer; two measures leave
an attacker nothing else to go by:

* timing: a rejection at or after decryption is answered no sooner than ANSWER_DELAY after the decryption ended,
  longer than validating any input under the size cap takes (bench/fuzz_latency.py holds that under 50 ms);
* rate: such rejections are counted per provider and per source address, and past a limit, an encrypted response
  for that provider or from that source is decrypted only when the Response's signature verifies first
  (ProviderTrust.decrypts_unsigned); any other is refused before anything is decrypted, with STS's throttling
  answer. A forger cannot sign, and a signed Response's ciphertext is the IdP's own, so neither its decryption
  nor its rejection tells anyone anything: such rejections are not counted, and flooding a provider with forged
  encrypted responses cannot hold up the sign-ins of an IdP that signs its Responses.

The counts live in the process: each worker and each node counts for itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..saml import ProviderTrust, SamlValidationError
from ..saml.b64 import strict_b64decode

ANSWER_DELAY = 0.1
"""Seconds between the end of a decryption and the answer to a rejection that followed it."""


async def hold_until(moment: float | None) -> None:
    """Wait, without holding up other requests, until `moment` (`time.monotonic()`), if given."""
    if moment is not None:
        remaining = moment - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)


def holds_encrypted_assertion(saml_response: str) -> bool:
    """Whether the response may hold an EncryptedAssertion, the only thing samlfed decrypts: an element's name
    is written out in the bytes (no character reference can stand for it), and the parser reads UTF-8 only."""
    try:
        return b"EncryptedAssertion" in strict_b64decode(saml_response)
    except ValueError:  # binascii.Error included: the validation refuses it before decrypting anything
        return False


@dataclass(frozen=True, slots=True)
class FailureLimit:
    """At most `burst` rejections in a row; one more is allowed every `refill_seconds` after that."""

    burst: int
    refill_seconds: float


PER_PROVIDER = FailureLimit(burst=100, refill_seconds=36.0)
"""About a hundred an hour per provider: a misconfigured key fails every sign-in of its provider anyway, and the
oracle needs about fourteen requests per byte of plaintext."""
PER_SOURCE = FailureLimit(burst=10, refill_seconds=360.0)
"""About ten an hour per client address (IPv6: per /64)."""


class _Buckets:
    """Token buckets by key, at most `capacity` of them: when full, the buckets that have refilled are forgotten
    (they hold nothing a new one would not), then the oldest."""

    def __init__(self, limit: FailureLimit, clock: Callable[[], float], capacity: int) -> None:
        self.limit = limit
        self.clock = clock
        self.capacity = capacity
        self._tokens: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def _current(self, key: str) -> float:
        found = self._tokens.get(key)
        if found is None:
            return float(self.limit.burst)
        tokens, counted = found
        return min(float(self.limit.burst), tokens + (self.clock() - counted) / self.limit.refill_seconds)

    def exhausted(self, key: str) -> bool:
        return self._current(key) < 1.0

    def spend(self, key: str) -> None:
        tokens = self._current(key) - 1.0
        self._tokens.pop(key, None)
        if len(self._tokens) >= self.capacity:
            self._forget_refilled()
        self._tokens[key] = (max(tokens, 0.0), self.clock())

    def _forget_refilled(self) -> None:
        for key in [key for key in self._tokens if self._current(key) >= self.limit.burst]:
            del self._tokens[key]
        while len(self._tokens) >= self.capacity:
            del self._tokens[next(iter(self._tokens))]


def source_key(source_ip: str | None) -> str:
    """The address a client is counted under: an IPv6 client holds a /64 (a whole subnet is one customer's)."""
    if not source_ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return source_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class DecryptionGuard:
    """Counts rejections that followed a decryption and refuses further encrypted responses past the limits."""

    def __init__(
        self, *, per_provider: FailureLimit = PER_PROVIDER, per_source: FailureLimit = PER_SOURCE,
        clock: Callable[[], float] = time.monotonic, capacity: int = 10_000,
    ) -> None:
        self._providers = _Buckets(per_provider, clock, capacity)
        self._sources = _Buckets(per_source, clock, capacity)
        self._lock = threading.Lock()

    def guarded(self, trust: ProviderTrust, source_ip: str | None, saml_response: str) -> ProviderTrust:
        """The trust to validate `saml_response` with: `trust` itself, or, when the response holds an encrypted
        assertion for a provider or from a source over its limit, `trust` decrypting signed Responses only."""
        if not trust.decryption_keys or trust.provider_arn is None:
            return trust
        with self._lock:
            over = self._providers.exhausted(trust.provider_arn) or self._sources.exhausted(source_key(source_ip))
        return replace(trust, decrypts_unsigned=False) if over and holds_encrypted_assertion(saml_response) else trust

    def answer_by(self, error: SamlValidationError, provider_arn: str, source_ip: str | None) -> float | None:
        """For a rejection of a response for `provider_arn` from `source_ip`: when it followed a decryption, count it
        (unless the Response's signature had verified) and return the earliest `time.monotonic()` at which it may
        be answered; None (answer at once) otherwise."""
        if error.decrypted_at is None:
            return None
        if not any(check.id == "encryption.response_signature" and check.status == "pass" for check in error.checks):
            self.rejected(provider_arn, source_ip)
        return error.decrypted_at + ANSWER_DELAY

    def rejected(self, provider_arn: str, source_ip: str | None) -> None:
        """Count a rejection at or after decryption."""
        with self._lock:
            self._providers.spend(provider_arn)
            self._sources.spend(source_key(source_ip))

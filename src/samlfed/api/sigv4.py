"""AWS Signature Version 4 verification (SigV4, and SigV4a's ECDSA form), for the Authorization header and for
presigned query strings.

Hand-written because botocore only signs: the server side (parse, rebuild the canonical request, compare in
constant time, apply the clock rules) exists in no maintained Python library. The canonical request follows
the SigV4 specification for non-S3 services; tests verify requests that botocore itself signed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ..decimal_text import decimal_at_most
from ..errors import ServiceError
from ..policy.conditions import wildcard_match
from .sigv4a_key import SIGV4A, public_key

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# Any region a client may be configured with (contract §2): botocore lets through host labels of up to 63
# letters, digits and hyphens, upper case included; other SDKs also allow '.' and '_'.
_CREDENTIAL = re.compile(r"([A-Za-z0-9]{16,128})/(\d{8})/([A-Za-z0-9._-]{1,63})/([a-z0-9-]{1,32})/aws4_request", re.ASCII)
_CREDENTIAL_V4A = re.compile(r"([A-Za-z0-9]{16,128})/(\d{8})/([a-z0-9-]{1,32})/aws4_request", re.ASCII)  # no region
_REGION_SET = re.compile(r"[A-Za-z0-9._*-]{1,63}(?:,[A-Za-z0-9._*-]{1,63}){0,31}", re.ASCII)
_HEADER_FIELDS = ("Credential", "Signature", "SignedHeaders")  # the order AWS names the missing ones in
_QUERY_PARTS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
"""The parameters a presigned request must carry, in the order AWS names the missing ones."""
GLOBAL_REGION = "us-east-1"
"""The region of a SigV4a request whose region set names no single region: AWS's, for its global endpoints."""

INVALID_TOKEN = "The security token included in the request is invalid"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What signature verification needs of an HTTP request. Header names are lower-case."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    payload_hash: str | None = None
    """The hex SHA-256 of the body, where the verifier has the hash and not the body (a gateway asking the
    authorization API); otherwise the body is hashed."""


@dataclass(frozen=True, slots=True)
class SignatureClaim:
    """What the request says about its signer, before anything is verified."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime
    session_token: str | None
    presigned_expires: int | None
    algorithm: str = ALGORITHM
    region_set: tuple[str, ...] = ()
    """SigV4a's X-Amz-Region-Set (regions, '*' a wildcard): where the signature counts. `region` is its one region,
    or GLOBAL_REGION when it names several or a pattern."""


def _incomplete(message: str) -> ServiceError:
    return ServiceError("IncompleteSignature", message, 400)


_NO_DATE = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."


def _parse_amz_date(value: str | None) -> datetime:
    if not value:
        raise _incomplete(_NO_DATE)
    try:
        return datetime.strptime(value, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{value}'.") from None


def _header_date(headers: Mapping[str, str]) -> datetime:
    """X-Amz-Date, or else the HTTP Date header (RFC 7231 format), which SigV4 also accepts."""
    amz_date = headers.get("x-amz-date")
    if amz_date or not headers.get("date"):
        return _parse_amz_date(amz_date)
    try:
        date = parsedate_to_datetime(headers["date"])
        if date.tzinfo is None:  # `-0000` (botocore's formatdate writes it) or asctime's no zone: an HTTP date is UTC
            return date.replace(tzinfo=UTC)
        return date.astimezone(UTC)  # OverflowError: 31 Dec 9999 at -12:00 lies past datetime's range in UTC
    except (TypeError, ValueError, OverflowError):
        pass
    raise _incomplete(f"Date must be an HTTP date. Got '{headers['date']}'.")


def _credential(value: str, algorithm: str) -> tuple[str, str, str | None, str]:
    """Key id, date, region (None for SigV4a, whose scope names none) and service of a credential scope."""
    if algorithm == SIGV4A:
        match = _CREDENTIAL_V4A.fullmatch(value)
        if match is None:
            raise _incomplete(f"Credential should be scoped to a valid service, not '{value}'.")
        return match.group(1), match.group(2), None, match.group(3)
    match = _CREDENTIAL.fullmatch(value)
    if match is None:
        raise _incomplete(f"Credential should be scoped to a valid region and service, not '{value}'.")
    return match.group(1), match.group(2), match.group(3), match.group(4)


def _region_set(value: str | None) -> tuple[str, ...]:
    if not value or not _REGION_SET.fullmatch(value):
        raise _incomplete(f"X-Amz-Region-Set must name from 1 to 32 regions, separated by commas, not '{value or ''}'.")
    return tuple(value.split(","))


def _scope_region(region: str | None, region_set: tuple[str, ...]) -> str:
    if region is not None:
        return region
    only = region_set[0]
    return only if len(region_set) == 1 and "*" not in only else GLOBAL_REGION


def parse_claim(request: HttpRequest) -> SignatureClaim | None:
    """The signature a request carries (header or presigned form), or None for an unsigned request."""
    authorization = request.headers.get("authorization")
    query = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if authorization:
        return _header_claim(authorization, request.headers)
    if "X-Amz-Algorithm" in query or "X-Amz-Signature" in query:
        return _query_claim(query)
    return None


def _header_claim(authorization: str, headers: Mapping[str, str]) -> SignatureClaim:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm not in (ALGORITHM, SIGV4A):
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields = _header_fields(authorization, rest)
    _check_header_complete(authorization, fields, headers)
    key, date, region, service = _credential(fields["Credential"], algorithm)
    signed = tuple(fields["SignedHeaders"].split(";"))
    if "host" not in signed:
        raise _incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    region_set: tuple[str, ...] = ()
    if algorithm == SIGV4A:
        if "x-amz-region-set" not in signed:  # else anyone could widen where the signature counts
            raise _incomplete("'X-Amz-Region-Set' must be a 'SignedHeader' in the AWS Authorization.")
        region_set = _region_set(headers.get("x-amz-region-set"))
    return SignatureClaim(
        key, date, _scope_region(region, region_set), service, signed, fields["Signature"],
        _header_date(headers), headers.get("x-amz-security-token"), None, algorithm, region_set,
    )


def _check_header_complete(authorization: str, fields: Mapping[str, str], headers: Mapping[str, str]) -> None:
    """AWS names everything the header form lacks in one message, each part a sentence (Credential, Signature,
    SignedHeaders, then a date), followed by the header as sent."""
    missing = [f"Authorization header requires '{name}' parameter." for name in _HEADER_FIELDS if not fields.get(name)]
    if not headers.get("x-amz-date") and not headers.get("date"):
        missing.append(_NO_DATE)
    if missing:
        raise _incomplete(f"{' '.join(missing)} Authorization={authorization}")


def _header_fields(authorization: str, rest: str) -> dict[str, str]:
    """The `name=value` pairs after the algorithm. A pair without '=' (a trailing comma's empty one too) is AWS's
    IncompleteSignature; so is a field given twice, or a name after a word (another algorithm), which a second
    Authorization header joined to the first by a comma gives (`…, AWS4-HMAC-SHA256 Signature=…`): which counts must
    not be a guess, and read as an unknown name the second one was ignored."""
    fields: dict[str, str] = {}
    for part in rest.split(",") if rest.strip() else ():
        name, equals, value = part.strip().partition("=")
        if not equals:
            raise _incomplete(f"'{part.strip()}' not a valid key=value pair (missing equal-sign) in Authorization header: '{authorization}'.")
        if len(name.split()) > 1:  # `ALGORITHM Name`: another header's start
            raise _incomplete(f"Authorization header holds more than one authorization ('{part.strip()}'). Authorization={authorization}")
        if name in fields and name in _HEADER_FIELDS:
            raise _incomplete(f"Authorization header has the parameter '{name}' more than once. Authorization={authorization}")
        fields[name] = value
    return fields


def _check_query_complete(query: Mapping[str, str]) -> None:
    """As for the header form, AWS names every part the presigned form lacks (an empty one too), one sentence each
    in the order of _QUERY_PARTS, before it looks at any value."""
    missing = [f"AWS query-string parameters must include '{name}'." for name in _QUERY_PARTS if not query.get(name)]
    if missing:
        raise _incomplete(f"{' '.join(missing)} Re-examine the query-string parameters.")


def _query_claim(query: dict[str, str]) -> SignatureClaim:
    _check_query_complete(query)
    algorithm = query["X-Amz-Algorithm"]
    if algorithm not in (ALGORITHM, SIGV4A):
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'")
    key, date, region, service = _credential(query["X-Amz-Credential"], algorithm)
    given = query.get("X-Amz-Expires")
    expires = decimal_at_most(given, MAX_PRESIGN_EXPIRES)
    if given is None and service in PRESIGNED_LIKE_HEADERS:
        # Those services ignore it (see check_clock), and aws-sdk-go-v2 leaves it out of the GetCallerIdentity URLs it
        # presigns (found by a Go SDK probe): its value here only marks the request as presigned.
        expires = int(MAX_SKEW.total_seconds())
    if expires is None or expires < 1:
        raise _incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800.")
    signed = tuple(query["X-Amz-SignedHeaders"].split(";"))
    if "host" not in signed:  # as in the header form: an unsigned Host would let the URL be replayed elsewhere
        raise _incomplete("'Host' must be a 'SignedHeader' in the AWS query-string parameters.")
    # A query parameter, so the canonical query (and with it the signature) covers it.
    region_set = _region_set(query.get("X-Amz-Region-Set")) if algorithm == SIGV4A else ()
    return SignatureClaim(
        key, date, _scope_region(region, region_set), service, signed, query["X-Amz-Signature"],
        _parse_amz_date(query["X-Amz-Date"]), query.get("X-Amz-Security-Token"), expires, algorithm, region_set,
    )


def _uri_encode(value: str | bytes, *, keep_slash: bool = False) -> str:
    return quote(value, safe="/~" if keep_slash else "~")


def _canonical_query(query_string: str, *, presigned: bool) -> str:
    pairs = _query_bytes(query_string)
    if presigned:
        pairs = [(k, v) for k, v in pairs if k != b"X-Amz-Signature"]
    # Sorted by the encoded name, then the encoded value (the specification; decoded order differs for '/' and
    # '-', or for non-ASCII names).
    return "&".join(f"{k}={v}" for k, v in sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs))


def _query_bytes(query_string: str) -> list[tuple[bytes, bytes]]:
    """The query's name/value pairs decoded to bytes, as parse_qsl splits them (blank values kept). Not parse_qsl
    itself: it decodes escapes to text, turning every invalid UTF-8 escape (%FF, %FE…) into U+FFFD, so one signature
    would verify for queries a gateway reads as different bytes."""
    pairs = []
    for field in query_string.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((unquote_to_bytes(name.replace("+", " ")), unquote_to_bytes(value.replace("+", " "))))
    return pairs


def _normalized_path(path: str) -> str:
    """Outside S3 the signed path has no empty, '.' or '..' segments (RFC 3986 §5.2.4, and consecutive slashes
    merged), keeping a leading and a trailing slash."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing


STREAMING_SIGNED = "STREAMING-AWS4-"
"""x-amz-content-sha256 of an S3 upload whose chunks are signed one by one (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
…-TRAILER, the ECDSA variants): verifying the chunks needs the signing key, so whoever only holds the request
cannot, and samlfed refuses such a request rather than vouch for a body nobody checked."""


UNSIGNED_AMZ_HEADERS = "There were headers present in the request which were not signed"
_BOUND_OTHERWISE = frozenset({"x-amz-content-sha256", "x-amz-date", "x-amz-security-token"})
"""x-amz-* headers an S3 request may leave out of SignedHeaders: the payload line, the string to sign and the
token's binding to the access key cover what they say."""


def _check_amz_headers_signed(request: HttpRequest, claim: SignatureClaim) -> None:
    """S3 refuses a request carrying an x-amz-* header its signature does not cover (AccessDenied, naming them in
    HeadersNotSigned): such headers change what S3 does (x-amz-copy-source turns an upload into a copy, x-amz-acl
    and x-amz-tagging change the object), so the holder of a presigned URL must not be able to add them."""
    if any(name.startswith("x-amz-") and name not in claim.signed_headers and name not in _BOUND_OTHERWISE for name in request.headers):
        raise ServiceError("AccessDenied", UNSIGNED_AMZ_HEADERS, 403)


def _canonical_headers(headers: Mapping[str, str], signed: tuple[str, ...]) -> str:
    lines = []
    for name in signed:
        value = headers.get(name)
        if value is None:
            raise ServiceError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
        lines.append(f"{name}:{' '.join(value.strip().split())}\n")
    return "".join(lines)


def canonical_request(request: HttpRequest, claim: SignatureClaim) -> str:
    presigned = claim.presigned_expires is not None
    body_hash = request.payload_hash or hashlib.sha256(request.body).hexdigest()
    if claim.service == "s3":
        # S3 signs the path as sent (percent-encoded once, not normalized) and names the payload hash in a header,
        # or UNSIGNED-PAYLOAD for presigned URLs; the caller (a gateway) has checked the body against that hash.
        path = request.path or "/"
        payload_hash = request.headers.get("x-amz-content-sha256") or ("UNSIGNED-PAYLOAD" if presigned else body_hash)
        if payload_hash.startswith(STREAMING_SIGNED):
            raise ServiceError("NotImplemented", "Uploads with signed chunks (STREAMING-AWS4-…) are not supported; sign the payload's hash, or send UNSIGNED-PAYLOAD.", 501)
    else:
        # Outside S3 the payload line is the hash of the body itself, presigned or not: never a header's word for
        # it (that would let anyone swap the body of a signed request), never UNSIGNED-PAYLOAD (an S3 convention).
        payload_hash = body_hash
        path = _uri_encode(_normalized_path(request.path or "/"), keep_slash=True)
    return "\n".join(
        [
            request.method,
            path,
            _canonical_query(request.query_string, presigned=presigned),
            _canonical_headers(request.headers, claim.signed_headers),
            ";".join(claim.signed_headers),
            payload_hash,
        ]
    )


def _signing_key(secret: str, claim: SignatureClaim) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (claim.date, claim.region, claim.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


PRESIGNED_LIKE_HEADERS = frozenset({"sts", "iam"})
"""Services whose presigned requests live as header-signed ones do, 15 minutes either side of X-Amz-Date, whatever
X-Amz-Expires asks: STS ignores it (clients such as `aws eks get-token` presign GetCallerIdentity for 60 seconds and
use the URL for 14 minutes), and a leaked URL must not prove an identity for 7 days. S3 honours it."""


def check_clock(claim: SignatureClaim, now: datetime) -> None:
    """The header form tolerates 15 minutes of skew either way; a presigned request lives X-Amz-Expires seconds,
    except for the services of PRESIGNED_LIKE_HEADERS."""
    stamp = claim.amz_date.strftime(_AMZ_DATE)
    if claim.presigned_expires is not None and claim.service not in PRESIGNED_LIKE_HEADERS:
        if now < claim.amz_date - MAX_SKEW:
            raise ServiceError("SignatureDoesNotMatch", f"Signature not yet current: {stamp} is still later than {(now + MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} + 15 min.)", 403)
        if now > claim.amz_date + timedelta(seconds=claim.presigned_expires):
            raise ServiceError("SignatureDoesNotMatch", f"Signature expired: {stamp} is now earlier than {(now - timedelta(seconds=claim.presigned_expires)).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - {claim.presigned_expires} sec.)", 403)
        return
    if claim.amz_date < now - MAX_SKEW:
        raise ServiceError("SignatureDoesNotMatch", f"Signature expired: {stamp} is now earlier than {(now - MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - 15 min.)", 403)
    if claim.amz_date > now + MAX_SKEW:
        raise ServiceError("SignatureDoesNotMatch", f"Signature not yet current: {stamp} is still later than {(now + MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} + 15 min.)", 403)


def check_scope(claim: SignatureClaim, service: str | None, region: str | None = None) -> None:
    """A signature counts only for the service (and, where one is given, the region) its credential scope names:
    a presigned S3 URL is no IAM call."""
    if service is not None and claim.service != service:
        raise ServiceError("SignatureDoesNotMatch", f"Credential should be scoped to correct service: '{service}'. ", 403)  # AWS ends it with a space
    if region is not None and not _covers(claim, region):
        # AWS's words name the region the signature was scoped to (not the one expected), and end with a space.
        scoped = ",".join(claim.region_set) if claim.algorithm == SIGV4A else claim.region
        raise ServiceError("SignatureDoesNotMatch", f"Credential should be scoped to a valid region, not '{scoped}'. ", 403)


def _covers(claim: SignatureClaim, region: str) -> bool:
    if claim.algorithm != SIGV4A:
        return claim.region == region
    # The policy engine's matcher, which does not backtrack: a regex of '.*'s took minutes on '*a*a…*c'.
    return any(wildcard_match(pattern, region) for pattern in claim.region_set)  # the set's pattern holds no '?'


def verify(request: HttpRequest, claim: SignatureClaim, secret: str, now: datetime) -> None:
    """Raise `ServiceError` unless `claim` is a current, valid signature of `request` under `secret`."""
    stamp = claim.amz_date.strftime(_AMZ_DATE)
    if claim.date != stamp[:8]:
        # AWS's words, with the scope's date, the request's and the X-Amz-Date (or Date header) it came from.
        raise ServiceError("SignatureDoesNotMatch", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{claim.date}' != '{stamp[:8]}', from '{stamp}'.", 403)
    check_clock(claim, now)
    digest = hashlib.sha256(canonical_request(request, claim).encode()).hexdigest()
    if claim.algorithm == SIGV4A:
        string_to_sign = f"{SIGV4A}\n{stamp}\n{claim.date}/{claim.service}/aws4_request\n{digest}"
        _verify_ecdsa(claim, secret, string_to_sign)
    else:
        scope = f"{claim.date}/{claim.region}/{claim.service}/aws4_request"
        string_to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{digest}"
        expected = hmac.new(_signing_key(secret, claim), string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), claim.signature.encode("utf-8", "replace")):  # str refuses non-ASCII
            raise ServiceError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
    if claim.service == "s3":
        _check_amz_headers_signed(request, claim)


def _verify_ecdsa(claim: SignatureClaim, secret: str, string_to_sign: str) -> None:
    """SigV4a: the signature is the hex of a DER ECDSA signature over the string to sign's SHA-256."""
    try:
        public_key(claim.access_key_id, secret).verify(bytes.fromhex(claim.signature), string_to_sign.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):  # ValueError: not hex
        raise ServiceError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403) from None

"""Who signed a request: an account administrator key (`AKIA…`) or temporary credentials (`ASIA…` + token)."""

from __future__ import annotations

from dataclasses import dataclass

from ..context import ServiceContext
from ..errors import ServiceError
from ..iam.accounts import admin_secret
from ..sts.credentials import InvalidSessionToken, SessionClaims
from . import sigv4

# Each refusal raises a new error: a module-level exception raised again and again grows its traceback by every
# raise, holding every refused request's frames (and their data) for the life of the process.


def _missing_token() -> ServiceError:
    return ServiceError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def _invalid_token() -> ServiceError:
    return ServiceError("InvalidClientTokenId", sigv4.INVALID_TOKEN, 403)


def _expired_token() -> ServiceError:
    return ServiceError("ExpiredToken", "The security token included in the request is expired", 403)


@dataclass(frozen=True)
class Administrator:
    account_id: str
    access_key_id: str


@dataclass(frozen=True)
class Session:
    claims: SessionClaims
    access_key_id: str
    region: str
    """The region the request's signature is scoped to (verified with the signature)."""


Caller = Administrator | Session


def authenticate(ctx: ServiceContext, request: sigv4.HttpRequest, *, service: str | None = None, region: str | None = None) -> Caller:
    """The signer of `request`; with `service` (`region`), its credential scope must name that service (region)."""
    claim = sigv4.parse_claim(request)
    if claim is None:
        raise _missing_token()
    sigv4.check_scope(claim, service, region)
    now = ctx.clock()
    if claim.access_key_id.startswith("ASIA"):
        if not claim.session_token:
            raise _invalid_token()
        try:
            session = ctx.open_session(claim.access_key_id, claim.session_token)
        except InvalidSessionToken:
            raise _invalid_token() from None
        if now.timestamp() >= session.claims.expires_at:
            raise _expired_token()
        sigv4.verify(request, claim, session.secret_access_key, now)
        return Session(session.claims, claim.access_key_id, claim.region)
    if claim.session_token:  # a long-term key with a token (a stale AWS_SESSION_TOKEN): AWS refuses the pair
        raise _invalid_token()
    found = admin_secret(ctx, claim.access_key_id)
    if found is None:
        raise _invalid_token()
    account_id, secret = found
    sigv4.verify(request, claim, secret, now)
    return Administrator(account_id, claim.access_key_id)


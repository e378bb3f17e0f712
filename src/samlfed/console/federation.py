"""The federation endpoint (contract §8): `getSigninToken` turns temporary credentials into a sign-in token,
`login` turns the token into a console session.

The token is opaque: the credentials' key id and session token, the console duration and an expiry, sealed under
the master key (so any node can open it), and usable once (the store records the use).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..context import ServiceContext
from ..jsoninput import parse_json
from ..masterkey import MasterKeyError
from ..sts.credentials import InvalidSessionToken, SessionClaims

TOKEN_LIFETIME = timedelta(minutes=15)
_CONTEXT = "samlfed signin token"
_REDEEMED_AS = "samlfed:signin-token"
MAX_SESSION_JSON = 8192


class FederationError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SigninGrant:
    access_key_id: str
    session_token: str
    claims: SessionClaims
    console_expires_at: int


def _session_credentials(session_json: str) -> tuple[str, str, str]:
    if not session_json or len(session_json) > MAX_SESSION_JSON:
        raise FederationError("The Session parameter is missing or too long.")
    try:
        session = parse_json(session_json)
    except ValueError:
        raise FederationError("The Session parameter is not JSON.") from None
    parts = [session.get(key) if isinstance(session, dict) else None for key in ("sessionId", "sessionKey", "sessionToken")]
    if not all(isinstance(part, str) and part for part in parts):
        raise FederationError("The Session parameter needs sessionId, sessionKey and sessionToken.")
    return parts[0], parts[1], parts[2]  # type: ignore[return-value]


def _duration(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or not 900 <= int(text) <= 43200:
        raise FederationError("SessionDuration must be an integer from 900 to 43200.")
    return int(text)


def get_signin_token(ctx: ServiceContext, session_json: str, session_duration: str | None, now: datetime) -> str:
    access_key_id, secret, token = _session_credentials(session_json)
    duration = _duration(session_duration)
    try:
        opened = ctx.open_session(access_key_id, token)
    except InvalidSessionToken:
        raise FederationError("The security token included in the request is invalid.", 403) from None
    # surrogatepass: any text compares (parse_json refuses lone surrogates; this must not fail if one got here)
    if not hmac.compare_digest(opened.secret_access_key.encode(), secret.encode("utf-8", "surrogatepass")):
        raise FederationError("The security token included in the request is invalid.", 403)
    claims = opened.claims
    if claims.expires_at <= now.timestamp():
        raise FederationError("The security token included in the request is expired.", 403)
    if duration is not None and claims.chained:
        raise FederationError("SessionDuration is not allowed for credentials obtained by role chaining.")
    console_expires_at = int(now.timestamp()) + duration if duration is not None else claims.expires_at
    plain = {
        "k": access_key_id, "t": token, "c": console_expires_at,
        "e": int((now + TOKEN_LIFETIME).timestamp()), "j": secrets.token_urlsafe(16),
    }
    sealed = ctx.master.seal(json.dumps(plain, separators=(",", ":")).encode(), context=_CONTEXT)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def redeem_signin_token(ctx: ServiceContext, signin_token: str, now: datetime) -> SigninGrant:
    """Open a sign-in token and record its one use."""
    expired = FederationError("The sign-in token is invalid, expired or already used.")
    if not signin_token or len(signin_token) > 16384:
        raise expired
    try:
        sealed = base64.urlsafe_b64decode(signin_token + "=" * (-len(signin_token) % 4))
        plain = json.loads(ctx.master.unseal(sealed, context=_CONTEXT))
        access_key_id, token, console_expires_at, expires_at, jti = plain["k"], plain["t"], int(plain["c"]), int(plain["e"]), plain["j"]
    except (binascii.Error, ValueError, KeyError, TypeError, MasterKeyError):
        raise expired from None
    if expires_at <= now.timestamp():
        raise expired
    if not ctx.store.redeem_once(_REDEEMED_AS, jti, "", expires_at=datetime.fromtimestamp(expires_at, UTC), now=now):
        raise expired
    try:
        claims = ctx.open_session(access_key_id, token).claims
    except InvalidSessionToken:
        raise expired from None
    return SigninGrant(access_key_id, token, claims, console_expires_at)

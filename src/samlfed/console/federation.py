"""The federation endpoint (contract §8): `getSigninToken` turns temporary credentials into a sign-in token,
`login` turns the token into a console session.

The token is random and short, whatever the size of the session token it stands for (tags and policies can make
that one over 100 KB, too long for a login URL): the store keeps the credentials' key id and session token and the
console session's length (SessionDuration, counted from the login) or end (the credentials') for 15 minutes, sealed
under the master key and named by a hash of the token, so any node can
redeem it, once (the store records the use with the console session it opens), and a copy of the database yields
no token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..context import ServiceContext
from ..jsoninput import parse_json
from ..masterkey import MasterKeyError
from ..saml.aws_claims import session_seconds
from ..store import DatabaseUnavailable, Redemption
from ..sts.credentials import InvalidSessionToken, SessionClaims

log = logging.getLogger("samlfed.console")

TOKEN_LIFETIME = timedelta(minutes=15)
_CONTEXT = "samlfed signin token"
_REDEEMED_AS = "samlfed:signin-token"
MAX_SESSION_JSON = 256 * 1024
"""Our own session tokens carry the session's tags and policies: 50 tags of non-ASCII letters make one of over 100 KB,
which the API accepts (its requests may reach 256 KB), so the console must too."""

CHAINED_SESSION_DURATION = "Invalid credentials parameter. The request sent by the client was syntactically incorrect."
"""AWS's answer (400) to SessionDuration with credentials obtained by role chaining. Vague, but these are the words
that AWS's troubleshooting pages and the tools' issues explain, so whoever searches for them finds the reason."""


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
    use: Redemption
    """The token's one use, recorded in the transaction that stores the console session it opens: a session the
    database refuses leaves the token usable for the retry, and two logins with one token get one session."""
    pending_row: str
    """The store row that holds the token's credentials until it is used (`forget_signin_token`)."""


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
    seconds = session_seconds(text)
    if seconds is None:
        raise FederationError("SessionDuration must be an integer from 900 to 43200.")
    return seconds


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
        raise FederationError(CHAINED_SESSION_DURATION)
    signin_token = secrets.token_urlsafe(32)
    # SessionDuration is the length of the console session, which starts at the login, up to 15 minutes later: its
    # end is reckoned then ("d"). Without it the session ends with the credentials ("c"), whenever it starts.
    plain: dict[str, str | int] = {"k": access_key_id, "t": token, **({"d": duration} if duration is not None else {"c": claims.expires_at})}
    row = _pending(signin_token)
    sealed = ctx.master.seal(json.dumps(plain, separators=(",", ":")).encode(), context=f"{_CONTEXT} {row}")  # bound to its row
    ctx.store.put_console_session(row, sealed, expires_at=now + TOKEN_LIFETIME, now=now)
    return signin_token


def _pending(signin_token: str) -> str:
    """The store row of a token's sign-in: prefixed, so that no cookie hashes to it (sessions hash cookies bare)."""
    return hashlib.sha256(f"{_CONTEXT}\0{signin_token}".encode()).hexdigest()


def open_signin_token(ctx: ServiceContext, signin_token: str, now: datetime) -> SigninGrant:
    """The session a sign-in token stands for, and the use to record with it (nothing is recorded here)."""
    expired = signin_token_refused()
    if not signin_token or len(signin_token) > 100:
        raise expired
    row = _pending(signin_token)
    # None once its 15 minutes are over, or once it is used. A used token whose row a failing database kept is
    # refused where its use is recorded with the session (AlreadyRedeemed), so no look at the recorded uses here.
    sealed = ctx.store.get_console_session(row, now=now)
    if sealed is None:
        raise expired
    try:
        plain = json.loads(ctx.master.unseal(sealed, context=f"{_CONTEXT} {row}"))
        access_key_id, token = plain["k"], plain["t"]
        console_expires_at = int(now.timestamp()) + int(plain["d"]) if "d" in plain else int(plain["c"])
        claims = ctx.open_session(access_key_id, token).claims
    except (ValueError, KeyError, TypeError, MasterKeyError, InvalidSessionToken):
        raise expired from None
    if console_expires_at <= now.timestamp():  # the credentials the session lasts as long as have expired since
        raise expired
    return SigninGrant(access_key_id, token, claims, console_expires_at, Redemption(_REDEEMED_AS, row, "", now + TOKEN_LIFETIME), row)


def signin_token_refused() -> FederationError:
    return FederationError("The sign-in token is invalid, expired or already used.")


def forget_signin_token(ctx: ServiceContext, grant: SigninGrant) -> None:
    """Drop the used token's credentials once its console session is stored. Its recorded use refuses the token
    anyway and the row expires with it, so a database that fails here must not turn the stored session into a 503."""
    try:
        ctx.store.delete_console_session(grant.pending_row)
    except DatabaseUnavailable as exc:
        log.warning("a used sign-in token's row stays until it expires: %s", exc)

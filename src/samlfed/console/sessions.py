"""Console sessions: a random cookie naming a row that holds the session's state, sealed under the master key.

The row (not the cookie) holds the session token, so the cookie stays small whatever the session tags, sign-out
really ends the session on every node, and a copy of the database yields neither cookies nor usable state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from ..context import ServiceContext
from ..masterkey import MasterKeyError
from ..store import DatabaseUnavailable, Redemption

log = logging.getLogger("samlfed.console")
_CONTEXT = "samlfed console session"


def session_cookie_name(secure: bool) -> str:
    """The console session cookie's name: behind HTTPS with the __Host- prefix, which browsers accept only from a
    secure origin, without Domain and for Path=/, so no sibling subdomain can plant a session of its choosing."""
    return "__Host-samlfed_console" if secure else "samlfed_console"


@dataclass(frozen=True)
class ConsoleState:
    access_key_id: str
    session_token: str
    expires_at: int
    """Unix seconds: the end of the console session."""
    name_id: str | None
    csrf: str
    saml_response: str | None = None
    """The response the user signed in with, kept for "switch role" while it may still be redeemed."""
    switch_until: int = 0
    signed_in_via: str = "saml"
    """"saml" (the ACS) or "federation" (a sign-in token)."""
    issuer_link: str | None = None
    """The federation Issuer: where "sign in again" leads (http(s) URLs only)."""
    provider_uuid: str | None = None
    """The provider named by the ACS path (/saml/acs/{uuid}) of a SAML sign-in: switch role reads the response as
    that endpoint did (an encrypted assertion's roles cannot name the provider that decrypts it)."""

    @classmethod
    def new(cls, **values: object) -> ConsoleState:
        return cls(csrf=secrets.token_urlsafe(24), **values)  # type: ignore[arg-type]


def _sealing_context(session_hash: str) -> str:
    """Bound to the row: a session's state copied into another session's row does not open behind that cookie."""
    return f"{_CONTEXT} {session_hash}"


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def create_session(ctx: ServiceContext, state: ConsoleState, redeeming: Sequence[Redemption] = ()) -> str:
    """Store `state`, and record the uses of `redeeming` in the same transaction (AlreadyRedeemed: no session);
    returns the cookie value."""
    cookie = secrets.token_urlsafe(32)
    session_hash = _hash(cookie)
    sealed = ctx.master.seal(json.dumps(asdict(state)).encode(), context=_sealing_context(session_hash))
    expires_at = datetime.fromtimestamp(state.expires_at, UTC)
    ctx.store.put_console_session(session_hash, sealed, expires_at=expires_at, now=ctx.clock(), redeeming=redeeming)
    return cookie


def load_session(ctx: ServiceContext, cookie: str | None) -> ConsoleState | None:
    if not cookie or len(cookie) > 100:
        return None
    session_hash = _hash(cookie)
    sealed = ctx.store.get_console_session(session_hash, now=ctx.clock())
    if sealed is None:
        return None
    try:
        return ConsoleState(**json.loads(ctx.master.unseal(sealed, context=_sealing_context(session_hash))))
    except (MasterKeyError, ValueError, TypeError) as exc:
        # Stored by a release with other fields (an upgrade), or damaged: the user signs in again, the operator sees
        # why sessions ended, once per session (the row goes).
        log.info("A console session could not be read (%s); its user must sign in again", type(exc).__name__)
        ctx.store.delete_console_session(session_hash)
        return None


def end_session(ctx: ServiceContext, cookie: str | None) -> None:
    if cookie and len(cookie) <= 100:
        ctx.store.delete_console_session(_hash(cookie))


def end_replaced_session(ctx: ServiceContext, cookie: str | None) -> None:
    """End the session that a new sign-in in the same browser replaces, so that a copy of its cookie stops working.
    The new session is stored already: a database that fails here must not fail it (the old row expires anyway)."""
    try:
        end_session(ctx, cookie)
    except DatabaseUnavailable as exc:
        log.warning("a console session replaced by a new sign-in stays until it expires: %s", exc)

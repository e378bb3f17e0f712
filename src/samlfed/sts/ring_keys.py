"""Listing and retiring the keys of the session-token ring (`samlfed keys list` / `samlfed keys retire`).

Everything a ring key seals or derives: session tokens (STS and console credentials, chained sessions), their
secret access keys (HMAC of the key), the console sessions and /federation sign-in tokens that hold such a token
and open it on every use. A key can be retired once nothing sealed with it can still be valid; retiring it earlier
(`force`) breaks those on every node at its next periodic ring re-read (ServiceContext.ring_refresh_seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..store import Conflict, NotFound, ServerKey
from ..timestamps import aws_timestamp

if TYPE_CHECKING:
    from ..context import ServiceContext

CREDENTIALS_LIMIT = timedelta(seconds=43200)
"""The longest credentials: a role's MaxSessionDuration and a SAML SessionDuration are at most 12 hours
(chained sessions: 1 hour)."""
CONSOLE_LIMIT = timedelta(seconds=43200)
"""A /federation console session may last `SessionDuration` (at most 12 hours) from a getSigninToken call made
just before its credentials expire, and opens their token on every page."""
LONGEST_USE = CREDENTIALS_LIMIT + CONSOLE_LIMIT


class RetireRefused(Exception):
    """Why a key may not be retired; the message is for the operator."""


@dataclass(frozen=True)
class RingKeyInfo:
    """A ring key without its material."""

    key_id: str
    created_at: datetime
    active: bool
    superseded_at: datetime | None
    """When the next key replaced it as the sealing key (None: the active key)."""
    retirable_at: datetime | None
    """From when nothing sealed with it can still be valid (None: the active key, never)."""


def active_key_id(stored: Sequence[ServerKey]) -> str:
    """The sealing key of stored keys in creation order: the newest marked active (else the newest)."""
    return next((k.key_id for k in reversed(stored) if k.active), stored[-1].key_id)


def list_ring_keys(ctx: ServiceContext) -> list[RingKeyInfo]:
    """The ring's keys, oldest first. A node may go on sealing with a replaced key until its next periodic ring
    re-read, so a key's retirable time counts from that re-read."""
    stored = ctx.store.list_server_keys()
    if not stored:
        return []
    active = active_key_id(stored)
    grace = LONGEST_USE + timedelta(seconds=ctx.ring_refresh_seconds)
    infos = []
    for index, key in enumerate(stored):
        later = stored[index + 1].created_at if index + 1 < len(stored) and key.key_id != active else None
        infos.append(RingKeyInfo(key.key_id, key.created_at, key.key_id == active, later, later + grace if later else None))
    return infos


def retire_ring_key(ctx: ServiceContext, key_id: str, *, force: bool, now: datetime) -> RingKeyInfo:
    """Remove `key_id` from the ring; without `force`, only once nothing sealed with it can still be valid."""
    info = next((k for k in list_ring_keys(ctx) if k.key_id == key_id), None)
    if info is None:
        raise RetireRefused(f"no key {key_id} in the ring (samlfed keys list shows them)")
    if info.active:
        raise RetireRefused(f"{key_id} is the active key; run samlfed keys rotate first")
    if not force and (info.retirable_at is None or info.retirable_at > now):
        until = f"until {aws_timestamp(info.retirable_at)}" if info.retirable_at else "while no key has replaced it"
        raise RetireRefused(
            f"credentials and console sessions sealed with {key_id} may be valid {until}; "
            "retiring it now breaks them (--force to do it anyway)"
        )
    try:
        ctx.store.delete_server_key(key_id)
    except NotFound:
        raise RetireRefused(f"no key {key_id} in the ring (samlfed keys list shows them)") from None
    except Conflict:  # the store never deletes a key marked active, whatever was read above
        raise RetireRefused(f"{key_id} is the active key; run samlfed keys rotate first") from None
    return info

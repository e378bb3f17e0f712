"""IAM accounts and their administrator access keys: creating them, and finding a key's secret to verify a
request's signature. Raises `ServiceError` with AWS's codes and messages; knows nothing about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..context import ServiceContext
from ..errors import ServiceError
from ..store import AccessKey, Account, AlreadyExists, NotFound
from . import ids
from .aliases import check_alias
from .constraints import ACCOUNT_ID, invalid


@dataclass(frozen=True)
class NewAccessKey:
    account_id: str
    access_key_id: str
    secret_access_key: str


def check_new_account(account_id: str | None, alias: str | None) -> None:
    """What `create_account` checks before it touches the store (the CLI checks it before it makes a data directory)."""
    if account_id is not None and not ACCOUNT_ID.fullmatch(account_id):
        raise invalid("An account ID is 12 digits")
    if alias is not None:
        check_alias(alias)


def create_account(ctx: ServiceContext, account_id: str | None = None, alias: str | None = None) -> NewAccessKey:
    """The account and its first administrator key, made together or not at all."""
    account_id = account_id or ids.account_id()
    check_new_account(account_id, alias)
    stored, new = _new_access_key(ctx, account_id)
    try:
        ctx.store.create_account(Account(account_id, alias, ctx.clock()), first_key=stored)
    except AlreadyExists:
        try:  # which of the two: the account, or (another account's) alias
            ctx.store.get_account(account_id)
            taken = f"Account {account_id}"
        except NotFound:
            taken = f"The account alias {alias}" if alias is not None else f"Account {account_id}"
        raise ServiceError("EntityAlreadyExists", f"{taken} already exists.", 409) from None
    return new


def create_access_key(ctx: ServiceContext, account_id: str) -> NewAccessKey:
    if not ACCOUNT_ID.fullmatch(account_id):
        raise invalid("An account ID is 12 digits")
    stored, new = _new_access_key(ctx, account_id)
    try:
        ctx.store.add_access_key(stored)
    except AlreadyExists:
        raise ServiceError("NoSuchEntity", f"The account {account_id} cannot be found.", 404) from None
    return new


def _new_access_key(ctx: ServiceContext, account_id: str) -> tuple[AccessKey, NewAccessKey]:
    """A new active key of `account_id`: as the store keeps it (secret sealed), and as its creator is shown it."""
    access_key_id, secret = ids.unique_id("AKIA", 20), ids.secret_access_key()
    sealed = ctx.master.seal(secret.encode(), context=f"access key {access_key_id}")
    return AccessKey(access_key_id, account_id, sealed, True, ctx.clock()), NewAccessKey(account_id, access_key_id, secret)


def admin_secret(ctx: ServiceContext, access_key_id: str) -> tuple[str, str] | None:
    """(account id, secret) of an active administrator key, or None when there is no such key."""
    try:
        key = ctx.store.get_access_key(access_key_id)
    except NotFound:
        return None
    if not key.active:
        return None
    return key.account_id, ctx.master.unseal(key.sealed_secret, context=f"access key {access_key_id}").decode()

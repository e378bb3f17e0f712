"""Account aliases (one per account, as AWS): the alias constraints, and CreateAccountAlias, ListAccountAliases
and DeleteAccountAlias over the store.
"""

from __future__ import annotations

import re

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..store import AlreadyExists, NotFound
from .constraints import ACCOUNT_ID

ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")


def check_alias(alias: str) -> None:
    """The model's accountAliasType (3-63 characters of its pattern), and not a 12-digit number (IAM quotas: it
    would read as an account ID)."""
    start = f"Value '{alias}' at 'accountAlias' failed to satisfy constraint: Member must"
    violations = [] if ALIAS.fullmatch(alias) else [f"{start} satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"]
    if ACCOUNT_ID.fullmatch(alias):  # the pattern allows one: name the rule it breaks (AWS's wording is not on record)
        violations.append(f"{start} not be a 12-digit number, which reads as an account ID")
    if len(alias) < 3:
        violations.append(f"{start} have length greater than or equal to 3")
    elif len(alias) > 63:
        violations.append(f"{start} have length less than or equal to 63")
    if violations:
        raise ValidationFailed(violations)


def create_account_alias(ctx: ServiceContext, account_id: str, alias: str) -> None:
    check_alias(alias)
    if ctx.store.get_account(account_id).alias == alias:
        return
    try:
        ctx.store.set_account_alias(account_id, alias)
    except AlreadyExists:
        raise ServiceError("EntityAlreadyExists", f"The account alias {alias} already exists.", 409) from None


def list_account_aliases(ctx: ServiceContext, account_id: str) -> list[str]:
    alias = ctx.store.get_account(account_id).alias
    return [alias] if alias else []


def delete_account_alias(ctx: ServiceContext, account_id: str, alias: str) -> None:
    check_alias(alias)
    try:
        ctx.store.remove_account_alias(account_id, alias)
    except NotFound:
        raise ServiceError("NoSuchEntity", f"The account alias {alias} cannot be found.", 404) from None

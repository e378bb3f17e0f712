"""The IAM operations on account aliases (CreateAccountAlias, ListAccountAliases, DeleteAccountAlias).
"""

from __future__ import annotations

from typing import Any

from ...context import ServiceContext
from ...iam import aliases as iam_aliases
from ..auth import Caller
from ..protocol import QueryRequest
from .pagination import paginate
from .parameters import account, required


def create_account_alias(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (alias,) = required(request, "AccountAlias")
    iam_aliases.create_account_alias(ctx, account(caller), alias)


def list_account_aliases(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    page, more = paginate(request, iam_aliases.list_account_aliases(ctx, account(caller)), str)
    return {"AccountAliases": page, **more}


def delete_account_alias(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (alias,) = required(request, "AccountAlias")
    iam_aliases.delete_account_alias(ctx, account(caller), alias)

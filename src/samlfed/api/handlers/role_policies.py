"""The IAM operations on a role's inline policies (PutRolePolicy, GetRolePolicy, ListRolePolicies, DeleteRolePolicy).
"""

from __future__ import annotations

from typing import Any

from ...context import ServiceContext
from ...iam import role_policies as iam_role_policies
from ...iam import roles as iam_roles
from ..auth import Caller
from ..protocol import QueryRequest
from . import results
from .pagination import paginate
from .parameters import account, required


def put_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, policy_name, document = required(request, "RoleName", "PolicyName", "PolicyDocument")
    iam_role_policies.put_role_policy(ctx, account(caller), name, policy_name, document)


def get_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    name, policy_name = required(request, "RoleName", "PolicyName")
    document = iam_role_policies.get_role_policy(ctx, account(caller), name, policy_name)
    return {"RoleName": iam_roles.get_role(ctx, account(caller), name).name, "PolicyName": policy_name, "PolicyDocument": results.policy_text(document)}


def list_role_policies(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = required(request, "RoleName")
    page, more = paginate(request, iam_role_policies.list_role_policies(ctx, account(caller), name), str)
    return {"PolicyNames": page, **more}


def delete_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, policy_name = required(request, "RoleName", "PolicyName")
    iam_role_policies.delete_role_policy(ctx, account(caller), name, policy_name)

"""The IAM policy simulator operations (SimulatePrincipalPolicy, SimulateCustomPolicy): their parameters and paged
results.
"""

from __future__ import annotations

from typing import Any

from ...context import ServiceContext
from ...errors import ServiceError, ValidationFailed
from ...iam import constraints as iam_constraints
from ...iam.simulate import ContextEntry, Simulation, simulate_custom, simulate_principal
from ..auth import Caller
from ..protocol import QueryRequest, is_member_number
from .pagination import marker, page_request
from .parameters import account, refuse_unimplemented, required

_CONTEXT_ENTRY = "ContextEntries.member."
_CONTEXT_FIELDS = ("ContextKeyName", "ContextKeyValues", "ContextKeyType")


def _context_entries(request: QueryRequest) -> list[ContextEntry]:
    """`ContextEntries.member.N.Field` (ContextKeyValues a list: `….ContextKeyValues.member.M`), in the order of N, as
    QueryRequest reads other lists: a request that skips an N keeps the entries after it, and a key that is no member
    (a misspelt field, `.member.0`) is refused. Ignored, either would leave out a context key the caller gave, and the
    simulation would answer for another request than the one asked about."""
    numbers = set()
    for key in request.params:
        if not key.startswith(_CONTEXT_ENTRY):
            continue
        number, _, field = key[len(_CONTEXT_ENTRY):].partition(".")
        name, dot, rest = field.partition(".")
        if not is_member_number(number) or name not in _CONTEXT_FIELDS or (dot and (name != "ContextKeyValues" or not rest.startswith("member."))):
            raise ServiceError(
                "ValidationError",
                f"Parameter {key} is not a member of ContextEntries: members are {_CONTEXT_ENTRY}N.ContextKeyName, "
                f"{_CONTEXT_ENTRY}N.ContextKeyValues.member.M and {_CONTEXT_ENTRY}N.ContextKeyType, with N from 1 and no leading zeros",
            )
        numbers.add(number)
    entries = []
    for number in sorted(numbers, key=lambda n: (len(n), n)):  # no leading zeros: shorter is smaller
        prefix = f"{_CONTEXT_ENTRY}{number}."
        key_name = request.params.get(prefix + "ContextKeyName")
        if key_name is not None:  # the model requires no member; an entry naming no key sets none
            values = request.member_list(prefix + "ContextKeyValues")
            entries.append(ContextEntry(key_name, tuple(values), request.params.get(prefix + "ContextKeyType", "string")))
    return entries


def _simulation_documents(request: QueryRequest, violations: list[str]) -> tuple[list[str], list[str], str | None]:
    """PolicyInputList, PermissionsBoundaryPolicyInputList and ResourcePolicy, held to the model's policyDocumentType
    (a list's members reported together, in AWS's list form), ActionNames and ResourceArns to their members' lengths,
    and CallerArn to its length; reported after `violations`, those of the members before them."""
    lists = []
    for name in ("PolicyInputList", "PermissionsBoundaryPolicyInputList"):
        documents = request.member_list(name)
        lists.append(documents)
        if any(iam_constraints.policy_document_violations(document, "member") for document in documents):
            violations.append(
                f"Value '[{', '.join(documents)}]' at '{name[0].lower()}{name[1:]}' failed to satisfy constraint: Member must satisfy constraint: "
                "[Member must have length less than or equal to 131072, Member must have length greater than or equal to 1, "
                "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+]"
            )
    for name, low, high in (("ActionNames", 3, 128), ("ResourceArns", 1, 2048)):  # the model's ActionNameType, ResourceNameType
        values = request.member_list(name)
        if any(not low <= len(value) <= high for value in values):
            violations.append(
                f"Value '[{', '.join(values)}]' at '{name[0].lower()}{name[1:]}' failed to satisfy constraint: Member must satisfy constraint: "
                f"[Member must have length less than or equal to {high}, Member must have length greater than or equal to {low}]"
            )
    resource_policy = request.params.get("ResourcePolicy")
    if resource_policy is not None:
        violations += iam_constraints.policy_document_violations(resource_policy, "resourcePolicy")
    caller_arn = request.params.get("CallerArn")
    if caller_arn is not None:  # the model's ResourceNameType, 1-2048 characters
        violations += iam_constraints.name_violations(caller_arn, "callerArn", 2048, None)
    if violations:
        raise ValidationFailed(violations)
    page_request(request)  # refused before simulating anything, as a model violation is
    return lists[0], lists[1], resource_policy


def _simulation(request: QueryRequest, simulation: Simulation) -> dict[str, Any]:
    """One page of the results, in their order (MaxItems and Marker as the list operations take them; the marker
    holds the number of the last result returned). Only that page's actions are evaluated."""
    max_items, after = page_request(request)
    if after is not None and not (after.isascii() and after.isdigit()):
        raise ServiceError("ValidationError", "Invalid Marker")
    start = 0 if after is None else int(after) + 1
    stop = start + simulation.page_size(max_items)
    page = simulation.results(start, stop)
    more = stop < len(simulation)
    return {"EvaluationResults": page, "IsTruncated": more, "Marker": marker(request, str(start + len(page) - 1)) if more else None}


def simulate_principal_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (source,) = required(request, "PolicySourceArn")
    refuse_unimplemented(request)
    # PolicySourceArn is the model's arnType (20-2048 characters): a model violation, before any role is looked up.
    documents, boundary_documents, resource_policy = _simulation_documents(request, iam_constraints.arn_violations(source, "policySourceArn"))
    return _simulation(request, simulate_principal(
        ctx, account(caller), source, extra=documents, boundary_documents=boundary_documents, actions=request.member_list("ActionNames"),
        resources=request.member_list("ResourceArns"), resource_policy=resource_policy,
        entries=_context_entries(request), caller_arn=request.params.get("CallerArn"),
    ))


def simulate_custom_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    account(caller)
    refuse_unimplemented(request)
    documents, boundary_documents, resource_policy = _simulation_documents(request, [])
    return _simulation(request, simulate_custom(
        documents, boundary_documents=boundary_documents, actions=request.member_list("ActionNames"), resources=request.member_list("ResourceArns"),
        resource_policy=resource_policy, entries=_context_entries(request), caller_arn=request.params.get("CallerArn"),
    ))

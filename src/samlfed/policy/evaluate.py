"""Evaluating one policy for one request: explicit Deny wins, then any Allow, else an implicit deny."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .conditions import Context, action_matches, wildcard_match
from .document import PolicyDocument, Statement

Decision = Literal["allowed", "explicitDeny", "implicitDeny"]


@dataclass(frozen=True)
class Request:
    action: str
    context: Context = field(default_factory=dict)
    resource: str | None = None
    principal_type: str | None = None
    """For resource and trust policies: 'Federated', 'AWS', …"""
    principal: str | None = None


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    matched: tuple[Statement, ...]


def _applies(statement: Statement, request: Request) -> bool:
    if statement.actions is not None and not any(action_matches(p, request.action) for p in statement.actions):
        return False
    if statement.not_actions is not None and any(action_matches(p, request.action) for p in statement.not_actions):
        return False
    if request.resource is not None:
        if statement.resources is not None and not any(wildcard_match(p, request.resource) for p in statement.resources):
            return False
        if statement.not_resources is not None and any(wildcard_match(p, request.resource) for p in statement.not_resources):
            return False
    if statement.principal is not None or statement.not_principal is not None:
        if request.principal_type is None or request.principal is None:
            return False
        if statement.principal is not None and not statement.principal.matches(request.principal_type, request.principal):
            return False
        if statement.not_principal is not None and statement.not_principal.matches(request.principal_type, request.principal):
            return False
    return all(condition.matches(request.context) for condition in statement.conditions)


def evaluate(policy: PolicyDocument, request: Request) -> Evaluation:
    applicable = tuple(s for s in policy.statements if _applies(s, request))
    denies = tuple(s for s in applicable if s.effect == "Deny")
    if denies:
        return Evaluation("explicitDeny", denies)
    allows = tuple(s for s in applicable if s.effect == "Allow")
    return Evaluation("allowed" if allows else "implicitDeny", allows)

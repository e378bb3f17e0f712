"""Why one policy allows or denies one request: `evaluate`, statement by statement, with every condition's inputs.

For people, not for decisions: the doctor prints it when a trust policy refuses a sign-in. It walks the statements
with the very tests `evaluate` uses, so its decision is `evaluate`'s (tests/policy/test_explain.py checks both on
generated policies and requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .conditions import Condition
from .document import PolicyDocument, Statement
from .evaluate import VARIABLES_VERSION, Decision, Request, _action_matches, _targets


@dataclass(frozen=True)
class ConditionCheck:
    condition: Condition
    context_values: tuple[str, ...] | None
    """The request's values for the condition key; None when the request has no such key."""
    holds: bool


@dataclass(frozen=True)
class StatementCheck:
    number: int
    """1-based position in the policy."""
    statement: Statement
    action_matches: bool
    principal_matches: bool
    """Principal (and, for a request naming one, Resource) match."""
    conditions: tuple[ConditionCheck, ...]
    """Every condition of a statement whose action and principal match; empty otherwise (they were not needed)."""

    @property
    def applies(self) -> bool:
        return self.action_matches and self.principal_matches and all(c.holds for c in self.conditions)


@dataclass(frozen=True)
class Explanation:
    decision: Decision
    statements: tuple[StatementCheck, ...]

    @property
    def deciding(self) -> tuple[StatementCheck, ...]:
        """The statements that made the decision: the applying Denies, else the applying Allows (none for an
        implicit deny)."""
        effect = "Deny" if self.decision == "explicitDeny" else "Allow"
        return tuple(s for s in self.statements if s.applies and s.statement.effect == effect)


def explain(policy: PolicyDocument, request: Request) -> Explanation:
    """Each statement's verdict on `request`, and the decision they make together (always `evaluate`'s)."""
    variables = policy.version == VARIABLES_VERSION
    context = request.context
    checks = []
    for number, statement in enumerate(policy.statements, start=1):
        action = _action_matches(statement, request.action)
        principal = action and _targets(statement, request, variables)
        conditions = (
            tuple(
                ConditionCheck(condition, tuple(context[condition.key]) if condition.key in context else None,
                               condition.matches(context, effect=statement.effect, with_variables=variables))
                for condition in statement.conditions
            )
            if principal
            else ()
        )
        checks.append(StatementCheck(number, statement, action, principal, conditions))
    applying = [check.statement.effect for check in checks if check.applies]
    decision: Decision = "explicitDeny" if "Deny" in applying else "allowed" if applying else "implicitDeny"
    return Explanation(decision, tuple(checks))


@dataclass(frozen=True)
class Refusal:
    """Why a request was not allowed, in the order a reader looks: a Deny, no statement for the action, none for the
    principal, or conditions that fail."""

    kind: Literal["explicit deny", "no statement for the action", "no statement for the principal", "condition"]
    statements: tuple[StatementCheck, ...]
    """The applying Denies; for "condition", the Allow statements for this action and principal."""
    condition: ConditionCheck | None = None
    """For "condition": the first failing condition of the first of `statements`."""

    def describe(self) -> str:
        """One line naming the statements and the condition key, and none of the request's values (for logs)."""
        if self.kind == "explicit deny":
            return f"denied by {', '.join(statement_name(s) for s in self.statements)}"
        if self.condition is None:
            return f"no Allow {self.kind.removeprefix('no ')}"
        more = f" (and {len(self.statements) - 1} more statements)" if len(self.statements) > 1 else ""
        return f"{statement_name(self.statements[0])}: {operator_name(self.condition)} {self.condition.condition.name or self.condition.condition.key} fails{more}"


def refusal(explanation: Explanation) -> Refusal | None:
    """Why `explanation` does not allow its request; None when it does."""
    if explanation.decision == "allowed":
        return None
    if explanation.decision == "explicitDeny":
        return Refusal("explicit deny", explanation.deciding)
    allows = [s for s in explanation.statements if s.action_matches and s.statement.effect == "Allow"]
    if not allows:
        return Refusal("no statement for the action", ())
    for_principal = tuple(s for s in allows if s.principal_matches)
    if not for_principal:
        return Refusal("no statement for the principal", ())
    # Every one of them has a failing condition (else it would apply): name the first statement's first.
    failing = next(c for c in for_principal[0].conditions if not c.holds)
    return Refusal("condition", for_principal, failing)


def statement_name(check: StatementCheck) -> str:
    sid = check.statement.sid
    return f"statement {check.number}" + (f" ({sid})" if sid else "")


def operator_name(check: ConditionCheck) -> str:
    """The operator as a policy writes it: qualifier, operator, IfExists."""
    condition = check.condition
    name = condition.operator + ("IfExists" if condition.if_exists else "")
    return f"{condition.qualifier}:{name}" if condition.qualifier else name

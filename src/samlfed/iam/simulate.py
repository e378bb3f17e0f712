"""IAM `SimulatePrincipalPolicy` and `SimulateCustomPolicy`: the engine's decision per action, with each resource's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed, null_violation
from ..policy import MalformedPolicy, NamedPolicy, PolicySet, Request, Statement, authorize, parse_policy
from ..policy.positions import Position, StatementSpan, statement_spans
from ..store import NotFound
from . import arns
from .permissions import RolePolicies, grants_policies, policy_texts

CONTEXT_TYPES = ("string", "stringList", "numeric", "numericList", "boolean", "booleanList", "ip", "ipList", "binary", "binaryList", "date", "dateList")
"""The model's ContextKeyTypeEnum, in its order (its enum error lists them so)."""

PolicyKey = tuple[str, str]
"""A policy's (id, kind) as the engine names it."""

IDENTITY_POLICY = "IAM Policy"
"""The SourcePolicyType AWS answers for identity policies, whatever the API reference's enum lists: recorded for a
managed policy attached to a role (LocalStack's aws.validated test_simulate_principle_policy), and seen in AWS's
answers quoted by users for PolicyInputList and inline role policies. Boundaries keep the enum's value (no answer of
AWS for them was found)."""


def _source(policy: NamedPolicy, role_name: str | None) -> tuple[str, str]:
    """SourcePolicyId and SourcePolicyType as AWS names a matched statement's policy in quoted answers: an inline
    role policy "role_<role>_<policy>", a managed policy by its name (AdministratorAccess), PolicyInputList.N as is."""
    if policy.type == "role" and role_name is not None:
        return f"role_{role_name}_{policy.id}", IDENTITY_POLICY
    if policy.type in ("user-managed", "aws-managed"):
        return policy.id.rsplit("/", 1)[-1], IDENTITY_POLICY
    if policy.type == "none":
        return policy.id, IDENTITY_POLICY
    return policy.id, policy.type


@dataclass(frozen=True)
class ContextEntry:
    key: str
    values: tuple[str, ...]
    type: str


def _custom(documents: Sequence[str], kind: str) -> tuple[NamedPolicy, ...]:
    policies = []
    for index, text in enumerate(documents, start=1):
        try:
            policies.append(NamedPolicy(f"PolicyInputList.{index}" if kind == "none" else f"{kind}.{index}", kind, parse_policy(text, principal_required=False)))
        except MalformedPolicy as exc:
            raise ServiceError("MalformedPolicyDocument", exc.explained) from None  # what is wrong, too
    return tuple(policies)


def _texts(policies: Sequence[NamedPolicy], documents: Sequence[str]) -> dict[PolicyKey, str]:
    return {(policy.id, policy.type): text for policy, text in zip(policies, documents, strict=True)}


def _context(entries: Sequence[ContextEntry]) -> dict[str, list[str]]:
    """The entries as a request context, once each holds to the model: a ContextKeyName of 5-256 characters
    (botocore checks only the least) and a ContextKeyType of the enum; every violation at once, in member order."""
    violations = []
    for number, entry in enumerate(entries, 1):
        if not 5 <= len(entry.key) <= 256:
            bound = "greater than or equal to 5" if len(entry.key) < 5 else "less than or equal to 256"
            violations.append(f"Value '{entry.key}' at 'contextEntries.{number}.member.contextKeyName' failed to satisfy constraint: Member must have length {bound}")
        if entry.type not in CONTEXT_TYPES:
            violations.append(
                f"Value '{entry.type}' at 'contextEntries.{number}.member.contextKeyType' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(CONTEXT_TYPES)}]"
            )
    if violations:
        raise ValidationFailed(violations)
    return {entry.key.lower(): list(entry.values) for entry in entries}


_USER_OR_GROUP = re.compile(r"arn:[a-z-]+:iam::\d{12}:(?P<kind>user|group)/(?:[\x21-\x7e]*/)?(?P<name>[\w+=,.@-]+)", re.ASCII)
"""An IAM user's or group's ARN, which the simulator takes (as PolicySourceArn; a user also as CallerArn) and samlfed
has neither of."""


def _no_such_user_or_group(match: re.Match[str]) -> ServiceError:
    """IAM's NoSuchEntity for a user or group it does not have, in its words for each (GetUser, GetGroup)."""
    return ServiceError("NoSuchEntity", f"The {match['kind']} with name {match['name']} cannot be found.", 404)


def check_caller(caller_arn: str | None, resource_policy: str | None) -> None:
    """The simulated caller, CallerArn, is an IAM user, and a ResourcePolicy needs one unless the source is a user
    (the API reference: "You can specify only the ARN of an IAM user"; "CallerArn is required if you include a
    ResourcePolicy"). samlfed has no IAM users: a user's ARN names no one, and any other caller, or a resource
    policy without one, is refused in AWS's words (quoted from the AWS CLI, simulating a role with a resource
    policy). A simulation here is a role's or custom policies', as IAM simulates them."""
    if caller_arn is None and resource_policy is None:
        return
    user = _USER_OR_GROUP.fullmatch(caller_arn or "")
    if user is not None and user["kind"] == "user":
        raise _no_such_user_or_group(user)
    raise ServiceError("InvalidInput", "Invalid caller - Caller must be an IAM user in this context.", 400)


@dataclass(frozen=True)
class _Evaluated:
    """One action against one resource."""

    resource: str
    decision: str
    matched: list[dict[str, Any]]
    missing: list[str]
    within_boundary: bool


def _distinct(statements: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements in order, each once."""
    seen: list[dict[str, Any]] = []
    for statement in statements:
        if statement not in seen:
            seen.append(statement)
    return seen


EVALUATIONS_PER_PAGE = 1000
"""The most (action, resource) evaluations one page of results makes."""

_RESTRICTIVENESS = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}


@dataclass(frozen=True)
class Simulation:
    """One result per action, as the IAM API reference now documents ("a single EvaluationResult per action,
    regardless of how many resource ARNs are provided"): its top-level decision is the most restrictive of the
    resources', each of which is in ResourceSpecificResults. Only the actions of the page asked for are evaluated,
    and a page holds fewer than MaxItems actions when they have many resources (IAM may answer fewer results than
    MaxItems, with IsTruncated), so a request naming thousands of actions and resources costs what at most
    EVALUATIONS_PER_PAGE evaluations cost (evaluating all of them held a worker for minutes)."""

    policies: PolicySet
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    """The resources asked for; ("*",) when none or only "*" were (all resources)."""
    context: dict[str, list[str]]
    spans: Mapping[PolicyKey, tuple[StatementSpan, ...]]
    """Where each policy's statements lie in its text, for the policies whose text could be followed."""
    role_name: str | None = None
    """The simulated role's name (SimulatePrincipalPolicy), which names its inline policies in the answer."""

    def __len__(self) -> int:
        return len(self.actions)

    def page_size(self, max_items: int) -> int:
        """How many results a page asking for `max_items` holds: at least one, whatever it costs."""
        return max(1, min(max_items, EVALUATIONS_PER_PAGE // len(self.resources)))

    def results(self, start: int, stop: int) -> list[dict[str, Any]]:
        """The results of actions `start` to `stop` (exclusive)."""
        return [self._result(action) for action in self.actions[start:stop]]

    def _result(self, action: str) -> dict[str, Any]:
        evaluated = [self._evaluate(action, resource) for resource in self.resources]
        decision = max((e.decision for e in evaluated), key=_RESTRICTIVENESS.__getitem__)
        result: dict[str, Any] = {
            "EvalActionName": action,
            "EvalDecision": decision,
            "MatchedStatements": _distinct(s for e in evaluated if e.decision == decision for s in e.matched),
            "MissingContextValues": sorted({key for e in evaluated for key in e.missing}),
        }
        if len(self.resources) == 1:  # which resource AWS names when there are several is not documented: none here
            result["EvalResourceName"] = self.resources[0]
        if self.policies.boundary is not None:
            result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": all(e.within_boundary for e in evaluated)}
        if self.resources != ("*",):
            # The API reference: for a simulation within one account that names a resource, EvalDecisionDetails
            # "is present but the response is empty", and absent for all resources (*); so is ResourceSpecificResults.
            result["EvalDecisionDetails"] = {}
            result["ResourceSpecificResults"] = [{
                "EvalResourceName": e.resource, "EvalResourceDecision": e.decision, "MatchedStatements": e.matched, "MissingContextValues": e.missing,
            } for e in evaluated]
        return result

    def _evaluate(self, action: str, resource: str) -> _Evaluated:
        request = Request(action, self.context, resource=resource)
        decision = authorize(self.policies, request, explain=True)
        within_boundary = self.policies.boundary is None or authorize(PolicySet(identity=(self.policies.boundary,)), request).decision == "allowed"
        matched = [self._statement(policy, statement) for policy, statement in decision.matched]
        return _Evaluated(resource, decision.decision, matched, sorted(decision.missing), within_boundary)

    def _statement(self, policy: NamedPolicy, statement: Statement) -> dict[str, Any]:
        source_id, source_type = _source(policy, self.role_name)
        entry: dict[str, Any] = {"SourcePolicyId": source_id, "SourcePolicyType": source_type}
        spans = self.spans.get((policy.id, policy.type))
        number = next((n for n, s in enumerate(policy.document.statements) if s is statement), None)
        if spans is not None and number is not None:
            entry["StartPosition"] = _position(spans[number].start)
            entry["EndPosition"] = _position(spans[number].end)
        return entry


def _position(position: Position) -> dict[str, int]:
    return {"Line": position.line, "Column": position.column}


def _spans(policies: Iterable[NamedPolicy], texts: Mapping[PolicyKey, str]) -> dict[PolicyKey, tuple[StatementSpan, ...]]:
    """Each policy's statement spans, where its text is known and holds as many statements as the engine read."""
    spans = {}
    for policy in policies:
        key = (policy.id, policy.type)
        found = statement_spans(texts[key]) if key in texts else None
        if found is not None and len(found) == len(policy.document.statements):
            spans[key] = found
    return spans


def _all(policies: PolicySet) -> list[NamedPolicy]:
    boundary = [policies.boundary] if policies.boundary is not None else []
    return [*policies.identity, *(policies.session or ()), *boundary]


def simulate(
    policies: PolicySet, actions: Sequence[str], resources: Sequence[str], entries: Sequence[ContextEntry], texts: Mapping[PolicyKey, str],
    role_name: str | None = None,
) -> Simulation:
    """`texts`: the document text of each policy, by (id, kind), for the statements' positions; `role_name`: the
    simulated role's."""
    if not actions:
        raise ValidationFailed([null_violation("actionNames")])
    named = tuple(resources) if any(resource != "*" for resource in resources) else ("*",)
    return Simulation(policies, tuple(actions), named, _context(entries), _spans(_all(policies), texts), role_name)


_STS_ENTITY = re.compile(r"arn:[a-z-]+:sts::\d{12}:(?:assumed-role|federated-user)/.+", re.ASCII | re.DOTALL)
"""A role session's or federated user's ARN: SimulatePrincipalPolicy takes the user, group or role, not a session."""


def simulate_principal(
    ctx: ServiceContext, account_id: str, source_arn: str, *, extra: Sequence[str], boundary_documents: Sequence[str],
    actions: Sequence[str], resources: Sequence[str], resource_policy: str | None, entries: Sequence[ContextEntry], caller_arn: str | None,
) -> Simulation:
    if _STS_ENTITY.fullmatch(source_arn):  # a session names no IAM entity (AWS's answer, quoted with request IDs)
        raise ServiceError("InvalidInput", f"Invalid Entity Arn: {source_arn} does not clearly define entity type and name.", 400)
    user_or_group = _USER_OR_GROUP.fullmatch(source_arn)
    if user_or_group is not None:  # not "The role … cannot be found.": that pointed at a role the caller never named
        raise _no_such_user_or_group(user_or_group)
    role = arns.parse_role_arn(source_arn)
    if role is None or role.account_id != account_id:
        raise ServiceError("NoSuchEntity", f"The role {source_arn} cannot be found.", 404)
    try:
        stored_arn = ctx.store.get_role(account_id, role.name, with_tags=False).arn
    except NotFound:
        stored_arn = None
    if stored_arn != source_arn:  # a role is named by its whole ARN, path included
        raise ServiceError("NoSuchEntity", f"The role with name {role.name} cannot be found.", 404)
    check_caller(caller_arn, resource_policy)
    try:
        grants = ctx.store.role_grants(account_id, role.name)
        stored, texts = grants_policies(grants), policy_texts(grants)
    except NotFound:  # deleted since: it grants nothing
        stored, texts = RolePolicies(), {}
    custom, custom_boundary = _custom(extra, "none"), _custom(boundary_documents, "permissions-boundary")
    policies = PolicySet(identity=stored.identity + custom, boundary=custom_boundary[0] if custom_boundary else stored.boundary)
    texts |= _texts(custom, extra) | _texts(custom_boundary, boundary_documents)
    return simulate(policies, actions, resources, entries, texts, role.name)


def simulate_custom(
    documents: Sequence[str], *, boundary_documents: Sequence[str], actions: Sequence[str], resources: Sequence[str],
    resource_policy: str | None, entries: Sequence[ContextEntry], caller_arn: str | None,
) -> Simulation:
    if not documents:
        raise ValidationFailed([null_violation("policyInputList")])
    check_caller(caller_arn, resource_policy)
    custom, custom_boundary = _custom(documents, "none"), _custom(boundary_documents, "permissions-boundary")
    policies = PolicySet(identity=custom, boundary=custom_boundary[0] if custom_boundary else None)
    texts = _texts(custom, documents) | _texts(custom_boundary, boundary_documents)
    return simulate(policies, actions, resources, entries, texts)

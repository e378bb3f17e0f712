"""IAM policy documents: parsing and validation into typed statements.

Hand-written: the IAM policy language has no maintained Python implementation. Refusals raise
`MalformedPolicy` with AWS-style messages (the service layer answers `MalformedPolicyDocument`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..arn_syntax import ARN_PARTITION, OIDC_PROVIDER_ARN, PROVIDER_ARN
from ..jsoninput import parse_json
from .actions import ActionMatcher, action_matcher
from .conditions import Condition, parse_conditions
from .variables import alternation

VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}


SYNTAX_ERRORS = "Syntax errors in policy."
NO_PRINCIPALS = "The passed in policy has a statement with no principals!"


class MalformedPolicy(ValueError):
    """The document is not a valid policy. `str(error)` is the message AWS gives, exactly (clients string-match it:
    AWS says only "Syntax errors in policy." for every syntax error); `detail` says what is wrong, for a human
    (`samlfed doctor`, the authorization API, SimulateCustomPolicy), and `explained` is both."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    @property
    def explained(self) -> str:
        return f"{self.message} {self.detail}" if self.detail else self.message


@dataclass(frozen=True)
class Principal:
    """Principal or NotPrincipal: `*` (anyone) or values per type (AWS, Federated, Service, CanonicalUser)."""

    anyone: bool
    by_type: Mapping[str, tuple[str, ...]]

    def matches(self, principal_type: str, value: str) -> bool:
        return self.anyone or value in self.by_type.get(principal_type, ()) or "*" in self.by_type.get(principal_type, ())


@dataclass(frozen=True)
class Statement:
    sid: str | None
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Principal | None
    not_principal: Principal | None
    conditions: tuple[Condition, ...]

    # Compiled once per statement (documents are parsed once and cached), so evaluation is one regex per element.
    @cached_property
    def action_regex(self) -> ActionMatcher | None:
        return action_matcher(self.actions) if self.actions is not None else None

    @cached_property
    def not_action_regex(self) -> ActionMatcher | None:
        return action_matcher(self.not_actions) if self.not_actions is not None else None

    @cached_property
    def resource_regex(self) -> re.Pattern[str] | None:
        """The Resources with `${…}` as literal text (statements with variables use it only under Version 2008)."""
        return alternation(self.resources, ignore_case=False, arn=True) if self.resources is not None else None

    @cached_property
    def not_resource_regex(self) -> re.Pattern[str] | None:
        return alternation(self.not_resources, ignore_case=False, arn=True) if self.not_resources is not None else None

    @cached_property
    def variable_resources(self) -> bool:
        return any("${" in r for r in (self.resources or ()) + (self.not_resources or ()))


@dataclass(frozen=True)
class PolicyDocument:
    version: str | None
    statements: tuple[Statement, ...]


def _strings(value: Any, what: str) -> tuple[str, ...]:
    """A string or a list of strings. An empty list is accepted here and names nothing: IAM then answers as if the
    element were missing ("Policy statement must contain actions." — recorded: LocalStack invalid-28, invalid-33)."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise MalformedPolicy(SYNTAX_ERRORS, f"{what} must be a string or a list of strings.")
    return tuple(values)


def _named(raw: Mapping[str, Any], field: str) -> tuple[str, ...] | None:
    """The values of Action, NotAction, Resource or NotResource; None when the field is absent or an empty list."""
    return (_strings(raw[field], field) or None) if field in raw else None


FEDERATED_PRINCIPAL = "Federated principals must be valid domain names or SAML metadata ARNs"


def _is_federated_principal(value: str, *, as_written: bool) -> bool:
    """A SAML or OIDC provider's ARN, a web identity provider's domain name (`accounts.google.com`), or `*`. Before
    the ARNs were parsed, any value holding `:saml-provider/` was stored: such a stored policy is read as it was (the
    value names no provider, as a Federated principal matches a provider by its exact ARN)."""
    if value == "*" or ("." in value and ":" not in value):
        return True
    if PROVIDER_ARN.fullmatch(value) or OIDC_PROVIDER_ARN.fullmatch(value):
        return True
    return not as_written and ":saml-provider/" in value


def _principal(value: Any, *, as_written: bool) -> Principal:
    if value == "*":
        return Principal(True, {})
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy("Invalid principal in policy")
    by_type = {}
    for kind, entries in value.items():
        if kind not in ("AWS", "Federated", "Service", "CanonicalUser"):
            raise MalformedPolicy(f'Invalid principal in policy: "{kind}"')
        by_type[kind] = _strings(entries, "Principal")
    if not any(by_type.values()):
        # IAM's words for lists that name no one ({"AWS": []}, as Terraform writes an empty list of ARNs), quoted from
        # its answers in 2020 and 2026.
        raise MalformedPolicy(NO_PRINCIPALS)
    if not all(by_type.values()):  # an empty list beside a named principal: no recorded answer; refused as before
        raise MalformedPolicy(SYNTAX_ERRORS, "Principal must be a string or a list of strings.")
    if not all(_is_federated_principal(value, as_written=as_written) for value in by_type.get("Federated", ())):
        raise MalformedPolicy(FEDERATED_PRINCIPAL)
    return Principal(False, by_type)


def _statement(raw: Mapping[str, Any], *, principal_required: bool, as_written: bool) -> Statement:
    """A statement that passed `check_syntax`, with the rules of what it must and must not hold (`as_written`: as
    IAM holds a policy it is asked to store)."""
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):  # written in another case: the write path refused it before (legacy parsing)
        raise MalformedPolicy(SYNTAX_ERRORS, "Effect must be Allow or Deny.")
    actions, not_actions = _named(raw, "Action"), _named(raw, "NotAction")
    resources, not_resources = _named(raw, "Resource"), _named(raw, "NotResource")
    if actions is None and not_actions is None:
        raise MalformedPolicy("Policy statement must contain actions.")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if principal_required and not has_principal:
        raise MalformedPolicy("Missing required field Principal")
    if not principal_required and has_principal:
        raise MalformedPolicy("Policy document should not specify a principal.")
    if "NotPrincipal" in raw and effect == "Allow":  # a grant to "everyone but": AWS supports NotPrincipal only with Deny
        raise MalformedPolicy(SYNTAX_ERRORS, 'NotPrincipal must be used with "Effect": "Deny".')
    if not principal_required and resources is None and not_resources is None:
        raise MalformedPolicy("Policy statement must contain resources.")
    return Statement(
        sid=raw.get("Sid"),
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        principal=_principal(raw["Principal"], as_written=as_written) if "Principal" in raw else None,
        not_principal=_principal(raw["NotPrincipal"], as_written=as_written) if "NotPrincipal" in raw else None,
        conditions=parse_conditions(raw.get("Condition", {})),
    )


def parse_policy(text: str, *, principal_required: bool, as_written: bool = False, managed: bool = False) -> PolicyDocument:
    """Parse a policy: a trust (resource) policy when `principal_required`, else an identity policy.

    `as_written` adds the rules IAM enforces when a policy is created or replaced (`written.check_before_parse` and
    `check_as_written`), in the order IAM applies them; `managed` (CreatePolicy, CreatePolicyVersion) adds the
    managed policies' Version rule. A stored policy is read without them, so that one stored before a rule existed
    here still evaluates as it did."""
    try:
        raw = parse_json(text)
    except ValueError:
        raise MalformedPolicy(SYNTAX_ERRORS, "The document is not JSON.") from None
    statements = check_syntax(raw, as_written=as_written)
    if as_written:
        from .written import check_before_parse

        check_before_parse(raw, statements, managed=managed)
    version = raw.get("Version")
    parsed = tuple(_statement(s, principal_required=principal_required, as_written=as_written) for s in statements)
    document = PolicyDocument(version, parsed)
    if as_written:
        check_as_written(document)
    return document


def _syntax(detail: str) -> MalformedPolicy:
    return MalformedPolicy(SYNTAX_ERRORS, detail)


def check_syntax(raw: Any, *, as_written: bool) -> list[Mapping[str, Any]]:
    """The syntax phase, which comes first on both paths: the JSON shapes of the document, its statements and their
    elements, each refusal "Syntax errors in policy." (LocalStack's recorded TestPolicyDocumentValidity, invalid-N).
    Effect passes in any case here: its exact case is a later phase of the write path (`written`). `as_written` adds
    what IAM checks of a document it is asked to store and a stored one is read without: the type of Id, and the
    shapes of conditions checked here, before the later phases (a stored one's are checked when its statements are
    built). Returns the statements."""
    if not isinstance(raw, dict) or "Statement" not in raw:  # invalid-4
        raise _syntax("A policy is an object with a Statement.")
    unknown = set(raw) - {"Version", "Id", "Statement"}
    if unknown:  # invalid-6
        raise _syntax(f"Unknown field {sorted(unknown)[0]!r}.")
    version = raw.get("Version")
    if "Version" in raw and version not in VERSIONS and (as_written or version is not None):  # invalid-3
        # (a null Version, which releases before the write-path rules stored, is read as none)
        raise _syntax(f"Unknown Version {version!r}: it is 2012-10-17 or 2008-10-17.")
    if as_written and "Id" in raw and not isinstance(raw["Id"], str):  # invalid-8, -9
        raise _syntax("Id must be a string.")
    statements = raw["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:  # invalid-26
        raise _syntax("Statement must be a statement or a non-empty list of statements.")
    for statement in statements:
        _check_statement_syntax(statement, as_written=as_written)
    return statements


def _check_statement_syntax(statement: Any, *, as_written: bool) -> None:
    if not isinstance(statement, dict):  # invalid-5
        raise _syntax("A statement must be an object.")
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:  # invalid-7
        raise _syntax(f"Unknown statement field {sorted(unknown)[0]!r}.")
    effect = statement.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):  # invalid-10, -31
        raise _syntax("Effect must be Allow or Deny.")
    if "Sid" in statement and not isinstance(statement["Sid"], str):  # invalid-57, -58
        raise _syntax("Sid must be a string.")
    for one, other in (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")):
        if one in statement and other in statement:  # even with an empty list: invalid-41, -43, -61, -62
            raise _syntax(f"{one} and {other} cannot be used together.")
    for field in ("Action", "NotAction", "Resource", "NotResource"):
        if field in statement:  # invalid-39, -40, -42, -44
            _strings(statement[field], field)
    if as_written:  # conditions now, not when the statement is built: AWS reports syntax before the later phases
        parse_conditions(statement.get("Condition", {}))  # invalid-45..-54; an empty operator: valid-17, -19, -31


_IAM_NAME = r"[\w+=,.@-]{1,64}"
AWS_PRINCIPAL = re.compile(
    rf"\*|\d{{12}}|arn:{ARN_PARTITION}:(?:"
    rf"iam::\d{{12}}:(?:root|(?:user|role)(?:/[\x21-\x7e]+)?/{_IAM_NAME})"
    rf"|sts::\d{{12}}:(?:assumed-role/{_IAM_NAME}/[\w+=,.@-]{{2,64}}|federated-user/[\w+=,.@-]{{2,32}})"
    ")",
    re.ASCII,
)
"""The shapes an "AWS" principal may take: anyone, an account (by ID or root ARN), a user or role, a role session
or federated user; anything else is refused as IAM refuses it (`Invalid principal in policy: "AWS":"…"`)."""


def invalid_principal(value: str) -> str:
    """IAM's message for an "AWS" principal it cannot resolve: one of the wrong shape, or one that does not exist."""
    return f'Invalid principal in policy: "AWS":"{value}"'


def check_as_written(document: PolicyDocument) -> None:
    """IAM's rules for a policy it is asked to store, checked once the document parsed (those IAM applies first are
    `written.check_before_parse`): the form of each Resource, then of each Action, then the "AWS" principals (seen
    in AWS's MalformedPolicyDocument answers; LocalStack's recorded TestPolicyDocumentValidity shows the order)."""
    from .written import action_error, resource_error

    for statement in document.statements:
        for resource in (statement.resources or ()) + (statement.not_resources or ()):
            message = resource_error(resource)
            if message is not None:
                raise MalformedPolicy(message)
    for statement in document.statements:
        for action in (statement.actions or ()) + (statement.not_actions or ()):
            message = action_error(action)
            if message is not None:
                raise MalformedPolicy(message)
    for statement in document.statements:
        for principal in (statement.principal, statement.not_principal):
            for value in principal.by_type.get("AWS", ()) if principal is not None else ():
                if not AWS_PRINCIPAL.fullmatch(value):
                    raise MalformedPolicy(invalid_principal(value))

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

from ..arn_syntax import ARN_PARTITION
from ..jsoninput import parse_json
from .conditions import Condition, parse_conditions
from .variables import alternation

VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}


SYNTAX_ERRORS = "Syntax errors in policy."


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
    def action_regex(self) -> re.Pattern[str] | None:
        return alternation(self.actions, ignore_case=True) if self.actions is not None else None

    @cached_property
    def not_action_regex(self) -> re.Pattern[str] | None:
        return alternation(self.not_actions, ignore_case=True) if self.not_actions is not None else None

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
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise MalformedPolicy(SYNTAX_ERRORS, f"{what} must be a string or a list of strings.")
    return tuple(values)


def _principal(value: Any) -> Principal:
    if value == "*":
        return Principal(True, {})
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy("Invalid principal in policy")
    by_type = {}
    for kind, entries in value.items():
        if kind not in ("AWS", "Federated", "Service", "CanonicalUser"):
            raise MalformedPolicy(f'Invalid principal in policy: "{kind}"')
        by_type[kind] = _strings(entries, "Principal")
    for federated in by_type.get("Federated", ()):
        if ":saml-provider/" not in federated and not ("." in federated and ":" not in federated) and federated != "*":
            raise MalformedPolicy("Federated principals must be valid domain names or SAML metadata ARNs")
    return Principal(False, by_type)


def _statement(raw: Any, *, principal_required: bool) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicy("Syntax errors in policy.")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise MalformedPolicy(SYNTAX_ERRORS, f"Unknown statement field {sorted(unknown)[0]!r}.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy(SYNTAX_ERRORS, "Effect must be Allow or Deny.")
    if ("Action" in raw) == ("NotAction" in raw):
        raise MalformedPolicy("Policy statement must contain actions.")
    for one, other in (("Resource", "NotResource"), ("Principal", "NotPrincipal")):
        if one in raw and other in raw:
            raise MalformedPolicy(SYNTAX_ERRORS, f"{one} and {other} cannot be used together.")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if principal_required and not has_principal:
        raise MalformedPolicy("Missing required field Principal")
    if not principal_required and has_principal:
        raise MalformedPolicy("Policy document should not specify a principal.")
    if "NotPrincipal" in raw and effect == "Allow":  # a grant to "everyone but": AWS supports NotPrincipal only with Deny
        raise MalformedPolicy(SYNTAX_ERRORS, 'NotPrincipal must be used with "Effect": "Deny".')
    if not principal_required and "Resource" not in raw and "NotResource" not in raw:
        raise MalformedPolicy("Policy statement must contain resources.")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicy(SYNTAX_ERRORS, "Sid must be a string.")
    return Statement(
        sid=sid,
        effect=effect,
        actions=_strings(raw["Action"], "Action") if "Action" in raw else None,
        not_actions=_strings(raw["NotAction"], "NotAction") if "NotAction" in raw else None,
        resources=_strings(raw["Resource"], "Resource") if "Resource" in raw else None,
        not_resources=_strings(raw["NotResource"], "NotResource") if "NotResource" in raw else None,
        principal=_principal(raw["Principal"]) if "Principal" in raw else None,
        not_principal=_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
        conditions=parse_conditions(raw.get("Condition", {})),
    )


def parse_policy(text: str, *, principal_required: bool, as_written: bool = False) -> PolicyDocument:
    """Parse a policy: a trust (resource) policy when `principal_required`, else an identity policy.

    `as_written` adds the rules IAM enforces when a policy is created or replaced (`check_as_written`); a stored
    policy is read without them, so that one stored before a rule existed here still evaluates as it did."""
    try:
        raw = parse_json(text)
    except ValueError:
        raise MalformedPolicy("Syntax errors in policy.") from None
    if not isinstance(raw, dict) or "Statement" not in raw:
        raise MalformedPolicy("Syntax errors in policy.")
    version = raw.get("Version")
    if version is not None and version not in VERSIONS:
        raise MalformedPolicy("The policy must contain a valid version string")
    unknown = set(raw) - {"Version", "Id", "Statement"}
    if unknown:
        raise MalformedPolicy(SYNTAX_ERRORS, f"Unknown field {sorted(unknown)[0]!r}.")
    statements = raw["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicy("Syntax errors in policy.")
    document = PolicyDocument(version, tuple(_statement(s, principal_required=principal_required) for s in statements))
    if as_written:
        check_as_written(document)
    return document


_SID = re.compile(r"[0-9A-Za-z]*")
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
_VENDOR_PREFIXED = re.compile(r"[^:]+:.*", re.DOTALL)


def invalid_principal(value: str) -> str:
    """IAM's message for an "AWS" principal it cannot resolve: one of the wrong shape, or one that does not exist."""
    return f'Invalid principal in policy: "AWS":"{value}"'


def check_as_written(document: PolicyDocument) -> None:
    """IAM's rules for a policy it is asked to store, with its messages (seen in AWS's MalformedPolicyDocument
    answers; the IAM User Guide documents the Sid alphabet and the vendor prefixes)."""
    sids = [statement.sid for statement in document.statements if statement.sid is not None]
    if not all(_SID.fullmatch(sid) for sid in sids):
        raise MalformedPolicy("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
    if len(set(sids)) != len(sids):
        raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique.")
    for statement in document.statements:
        actions = (statement.actions or ()) + (statement.not_actions or ())
        keys = [condition.name for condition in statement.conditions]
        if not all(a == "*" or _VENDOR_PREFIXED.fullmatch(a) for a in actions) or not all(_VENDOR_PREFIXED.fullmatch(k) for k in keys):
            raise MalformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
        for resource in (statement.resources or ()) + (statement.not_resources or ()):
            if resource != "*" and not resource.startswith("arn:"):
                raise MalformedPolicy(f'Resource {resource} must be in ARN format or "*".')
        for principal in (statement.principal, statement.not_principal):
            for value in principal.by_type.get("AWS", ()) if principal is not None else ():
                if not AWS_PRINCIPAL.fullmatch(value):
                    raise MalformedPolicy(invalid_principal(value))

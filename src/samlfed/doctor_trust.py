"""The doctor's last question: would the role's trust policy let this verified sign-in in, and if not, why?

AWS answers every refusal with the same "Not authorized to perform sts:AssumeRoleWithSAML"; here each action the
sign-in needs gets a check, and a refused one names the statements and conditions that refused it, with the
values on both sides. The request context is the server's own (`sts.trust_context`), so the verdict is the
server's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .iam import arns
from .policy import MalformedPolicy, Request, parse_policy
from .policy.explain import ConditionCheck, Explanation, StatementCheck, explain, operator_name, refusal, statement_name
from .saml import CheckResult, VerifiedAssertion
from .saml.checks import INVALID_SESSION_TAGS, NOT_AUTHORIZED, AwsError
from .sts.assume import packed_percent, packed_too_large
from .sts.trust_context import (
    ASSUME,
    SESSION_TAGS_CHECK,
    SET_SOURCE_IDENTITY,
    TAG_SESSION,
    InvalidSessionTags,
    needed_actions,
    requested_tags,
    trust_context,
)

CHECK_IDS = {ASSUME: "trust.assume_role_with_saml", TAG_SESSION: "trust.tag_session", SET_SOURCE_IDENTITY: "trust.set_source_identity"}


PACKED_SIZE = "trust.packed_size"
CROSS_ACCOUNT = AwsError("ValidationError", 400, "Principal exists outside the account of the Role being assumed.")


@dataclass
class TrustReport:
    checks: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    """Each statement's verdict on each refused action."""
    answer: AwsError = NOT_AUTHORIZED
    """What STS answers when a check here fails: AccessDenied for the trust policy, others for what it reads first."""
    refuser: str = "the role's trust policy"
    """What refused, as the doctor's verdict names it."""

    @property
    def refused(self) -> str | None:
        """The id of the first refused check (None: the trust policy admits the sign-in)."""
        return next((check.id for check in self.checks if check.status == "fail"), None)


def check_trust(
    verified: VerifiedAssertion, *, trust_policy: str, role_arn: str, principal_arn: str, now: datetime,
    source_ip: str | None = None, secure_transport: bool | None = None, attribute_mapping: Mapping[str, list[str]] | None = None,
) -> TrustReport:
    """The trust policy's verdict on each action the sign-in needs, as `assume.admit_role` would reach it.

    `role_arn` and `principal_arn` must be well-formed ARNs (the caller checked them)."""
    refused = cross_account(role_arn, principal_arn)
    if refused is not None:
        return refused
    provider = arns.parse_provider_arn(principal_arn)
    assert provider is not None
    try:
        document = parse_policy(trust_policy, principal_required=True)
    except MalformedPolicy as exc:
        return TrustReport([CheckResult(CHECK_IDS[ASSUME], "fail", f"the trust policy is not valid: {exc.explained}", "Fix the document (IAM refuses it too).")])
    claims = verified.claims
    try:
        tags = requested_tags(verified, attribute_mapping)
    except InvalidSessionTags as exc:  # STS refuses these before any trust policy is read
        return _tags_refused(exc)
    context = trust_context(verified, account_id=provider.account_id, provider_name=provider.name, tags=tags, now=now,
                            source_ip=source_ip, secure_transport=secure_transport)
    report = TrustReport([])
    mapped = sorted(set(tags) - set(claims.principal_tags))
    if mapped:  # aws.session_tags shows the PrincipalTag attributes only: the session gets these too
        listed = ", ".join(f"{key}={value}" for key, value in sorted(tags.items()))
        report.checks.append(CheckResult(SESSION_TAGS_CHECK, "pass", f"session tags {listed} ({', '.join(mapped)} from the provider's attribute mapping)"))
    for action in needed_actions(tags=bool(tags), source_identity=claims.source_identity is not None):
        explanation = explain(document, Request(action, context, principal_type="Federated", principal=principal_arn))
        report.checks.append(_verdict(action, explanation, principal_arn, context))
        lines = _statement_lines(explanation)
        if explanation.decision != "allowed" and len(lines) > 1:  # one line would repeat the failed check's message
            report.notes.extend(f"{action}: {line}" for line in lines)
    if report.refused is None:  # STS's next step: the tags alone may pack past the budget (no session policy here)
        packed = _packed_past_budget(tags)
        if packed is not None:
            report.checks.append(packed.checks[0])
            report.answer, report.refuser = packed.answer, packed.refuser
    return report


def cross_account(role_arn: str, principal_arn: str) -> TrustReport | None:
    """STS's refusal of a role and a provider in different accounts (whatever the response and the trust policy say),
    or None when both are in one account. The ARNs must be well-formed (the caller checked them)."""
    role, provider = arns.parse_role_arn(role_arn), arns.parse_provider_arn(principal_arn)
    assert role is not None and provider is not None
    if role.account_id == provider.account_id:
        return None
    return TrustReport([CheckResult(
        CHECK_IDS[ASSUME], "fail", f"the role is in account {role.account_id}, the provider in account {provider.account_id}",
        "A SAML provider signs in to roles of its own account only: register the IdP in the role's account.",
    )], answer=CROSS_ACCOUNT, refuser="the request's ARNs")


def session_tags_refusal(verified: VerifiedAssertion, attribute_mapping: Mapping[str, list[str]] | None) -> TrustReport | None:
    """STS's refusal of the session tags, the same for every role: tags that break AWS's rules once the provider's
    attribute mapping adds its own (checked before the role is looked up), or tags that alone pack past the budget
    (checked once a trust policy admits the sign-in: a role whose policy refuses it gets AccessDenied instead); None
    when neither."""
    try:
        tags = requested_tags(verified, attribute_mapping)
    except InvalidSessionTags as exc:
        return _tags_refused(exc)
    packed = _packed_past_budget(tags)
    if packed is not None:
        packed.notes.append("the role's trust policy was not checked: STS measures the tags once it admits the sign-in (one that refuses it answers AccessDenied)")
    return packed


def _packed_past_budget(tags: Mapping[str, str]) -> TrustReport | None:
    if not tags:
        return None
    percent = packed_percent(None, (), tuple(tags.items()))
    if percent <= 100:
        return None
    return TrustReport([CheckResult(
        PACKED_SIZE, "fail", f"the session tags pack to {percent}% of the allowed size",
        "Send fewer or shorter session tags (PrincipalTag attributes, or attributes the provider maps to tags).",
    )], answer=packed_too_large(percent, tags_only=True), refuser="its session tags' packed size")


def _tags_refused(exc: InvalidSessionTags) -> TrustReport:
    return TrustReport([CheckResult(SESSION_TAGS_CHECK, "fail", str(exc), "Fix the provider's attribute mapping or the attributes the IdP sends.")],
                       answer=INVALID_SESSION_TAGS, refuser="its session tags")


def _verdict(action: str, explanation: Explanation, principal_arn: str, context: Mapping[str, list[str]]) -> CheckResult:
    check_id = CHECK_IDS[action]
    why = refusal(explanation)
    if why is None:
        return CheckResult(check_id, "pass", f"{action} allowed by {_names(explanation.deciding)}")
    if why.kind == "explicit deny":
        unknown = next((c for s in why.statements for c in s.conditions if c.context_values is None and c.condition.key in _REQUEST_KEYS), None)
        hint = (  # a Deny on a key only the server knows (NotIpAddress aws:SourceIp): the doctor's not knowing made it apply
            f"The Deny applies here because {unknown.condition.name or unknown.condition.key} has no value. {_condition_hint(unknown, context)}"
            if unknown is not None else "A Deny statement applies to this sign-in: narrow its conditions, or change what the IdP sends."
        )
        return CheckResult(check_id, "fail", f"{action} denied explicitly by {_names(why.statements)}", hint)
    if why.kind == "no statement for the action":
        return CheckResult(check_id, "fail", f"no Allow statement names {action}", _missing_action_hint(action, principal_arn))
    if why.kind == "no statement for the principal":
        return CheckResult(check_id, "fail", f"no Allow statement for {action} names {principal_arn} as its principal",
                           f'The statement needs "Principal": {{"Federated": "{principal_arn}"}} (the exact provider ARN).')
    assert why.condition is not None
    more = f" (and {len(why.statements) - 1} more statement(s) whose conditions fail, see the notes)" if len(why.statements) > 1 else ""
    return CheckResult(check_id, "fail", f"{action} denied: in {statement_name(why.statements[0])}, {_condition_text(why.condition)}{more}",
                       _condition_hint(why.condition, context))


def _names(statements: tuple[StatementCheck, ...]) -> str:
    return ", ".join(statement_name(s) for s in statements)


def _missing_action_hint(action: str, principal_arn: str) -> str:
    if action == TAG_SESSION:
        return ("The IdP sends session tags (PrincipalTag attributes, or attributes the provider maps to tags), so the "
                "trust policy must allow sts:TagSession too: add it to the Action of the statement that allows "
                "sts:AssumeRoleWithSAML, or stop sending the tags.")
    if action == SET_SOURCE_IDENTITY:
        return ("The IdP sends a SourceIdentity attribute, so the trust policy must allow sts:SetSourceIdentity too: "
                "add it to the Action of the statement that allows sts:AssumeRoleWithSAML.")
    return f'Add a statement with "Effect": "Allow", "Action": "{action}" and "Principal": {{"Federated": "{principal_arn}"}}.'


def _condition_text(check: ConditionCheck) -> str:
    condition = check.condition
    has = "no value" if check.context_values is None else repr(list(check.context_values))
    outcome = "holds" if check.holds else "fails"
    return f"{operator_name(check)} {condition.name or condition.key} {outcome}: the sign-in has {has}, the policy gives {list(condition.values)!r}"


def _condition_hint(check: ConditionCheck, context: Mapping[str, list[str]]) -> str:
    key = check.condition.key
    if key == "saml:aud":
        recipient = (context.get("saml:aud") or ["?"])[0]
        return (f"saml:aud is the assertion's Recipient ({recipient}). Set the IdP application's ACS URL to a value the "
                "condition accepts, or add this Recipient to the condition.")
    if key == "aws:sourceip" and check.context_values is None:
        return "The doctor cannot know the client's address: give it with --source-ip (the server knows it)."
    if key == "aws:securetransport" and check.context_values is None:
        return "The doctor cannot know whether the client used HTTPS: say so with --secure-transport or --no-secure-transport."
    if check.context_values is None:
        return f"The sign-in carries no {check.condition.name or key}: have the IdP send it, or relax the condition (…IfExists)."
    source = _SAML_KEY_SOURCES.get(key)
    if source is not None:
        return f"{check.condition.name or key} is {source}. Have the IdP send a value the condition accepts, or change the condition."
    return "Have the IdP send a value the condition accepts, or change the condition."


_REQUEST_KEYS = frozenset({"aws:sourceip", "aws:securetransport"})
"""Keys of the request, not of the response: the server always knows them, the doctor only when told (--source-ip,
--secure-transport)."""


_SAML_KEY_SOURCES = {
    "saml:sub": "the assertion's NameID",
    "saml:sub_type": "the kind of NameID (persistent, transient, or its Format URI)",
    "saml:iss": "the assertion's Issuer (the IdP's entity ID)",
    "saml:namequalifier": "a hash of the Issuer, the account ID and the provider name (the NameQualifier that AssumeRoleWithSAML returns)",
}
"""Where the saml:* keys a trust policy commonly tests come from, for a hint that says what the IdP must change."""


def _statement_lines(explanation: Explanation) -> list[str]:
    lines = []
    for check in explanation.statements:
        name = f"{statement_name(check)}, {check.statement.effect}"
        if not check.action_matches:
            lines.append(f"{name}: not for this action")
        elif not check.principal_matches:
            lines.append(f"{name}: another principal")
        elif not check.conditions:
            lines.append(f"{name}: applies (no conditions)")
        else:
            lines.extend(f"{name}: {_condition_text(c)}" for c in check.conditions)
    return lines

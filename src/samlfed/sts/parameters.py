"""The model constraints of the STS parameters (aws-saml-contract.md §2-3.1), reported in AWS's validation wording.

AWS checks every constraint and reports all violations in one `ValidationError`: "N validation errors detected:
Value '…' at 'field' failed to satisfy constraint: …", pattern before length (as AWS answered aws-runas, issue #80).
"""

from __future__ import annotations

import re

from ..errors import ServiceError, null_violation

ARN_PATTERN = "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"
POLICY_PATTERN = "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
# The same patterns as Python character classes; the messages quote them as AWS does.
_ARN_CHARACTERS = re.compile("[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")
POLICY_CHARACTERS = re.compile("[\t\n\r\x20-\xff]+")
_SENSITIVE = frozenset({"sAMLAssertion"})
"""The STS model's sensitive members among those checked here."""
SESSION_POLICY_PLAINTEXT = 2048
"""AWS: the plaintext of the inline and the managed session policies together (Policy and the ARNs)."""


def string_violations(value: str | None, field: str, low: int, high: int, pattern: tuple[re.Pattern[str], str] | None = None) -> list[str]:
    """The model's violations for one string parameter, in AWS's order: pattern, then length."""
    if value is None:
        return [null_violation(field)]
    # A member the model marks sensitive is never quoted, as AWS writes such messages ("Value at 'password'").
    start = f"Value at '{field}'" if field in _SENSITIVE else f"Value '{value}' at '{field}'"
    violations = []
    if pattern is not None and not pattern[0].fullmatch(value):
        violations.append(f"{start} failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern[1]}")
    if len(value) < low:
        violations.append(f"{start} failed to satisfy constraint: Member must have length greater than or equal to {low}")
    if len(value) > high:
        violations.append(f"{start} failed to satisfy constraint: Member must have length less than or equal to {high}")
    return violations


def parameter_violations(
    role_arn: str | None,
    principal_arn: str | None,
    saml_assertion: str | None,
    duration_seconds: int | None = None,
    policy: str | None = None,
    policy_arns: tuple[str, ...] = (),
) -> list[str]:
    """Every model constraint the parameters break (step 1 of §3.4); AWS reports them all in one error."""
    violations = arn_violations(role_arn, "roleArn") + arn_violations(principal_arn, "principalArn")
    violations += string_violations(saml_assertion, "sAMLAssertion", 4, 100_000)
    return violations + session_policy_violations(policy, policy_arns) + duration_violations(duration_seconds)


def arn_violations(value: str | None, field: str) -> list[str]:
    return string_violations(value, field, 20, 2048, (_ARN_CHARACTERS, ARN_PATTERN))


def session_policy_violations(policy: str | None, policy_arns: tuple[str, ...]) -> list[str]:
    """The model's constraints on Policy and PolicyArns, shared by AssumeRoleWithSAML and AssumeRole."""
    violations = []
    for number, policy_arn in enumerate(policy_arns, 1):
        violations += arn_violations(policy_arn, f"policyArns.{number}.member.arn")
    if len(policy_arns) > 10:
        violations.append("Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10")
    if policy is not None:
        violations += string_violations(policy, "policy", 1, 2048, (POLICY_CHARACTERS, POLICY_PATTERN))
    return violations


def duration_violations(duration_seconds: int | None) -> list[str]:
    if duration_seconds is not None and duration_seconds < 900:
        return [f"Value '{duration_seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"]
    if duration_seconds is not None and duration_seconds > 43200:
        return [f"Value '{duration_seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"]
    return []


def check_session_policy_plaintext(policy: str | None, policy_arns: tuple[str, ...]) -> None:
    plaintext = len(policy or "") + sum(len(arn) for arn in policy_arns)
    if plaintext > SESSION_POLICY_PLAINTEXT:  # AWS documents the limit, not its message: ours
        raise ServiceError(
            "ValidationError",
            f"The plaintext of the session policies (Policy and PolicyArns) is {plaintext} characters; at most {SESSION_POLICY_PLAINTEXT} are allowed.",
        )

"""Model constraints that several IAM operations share (names, paths, ARNs, policy documents, the account ID),
checked in AWS's wording, and the InvalidInput and quota errors they raise.
"""

from __future__ import annotations

import re

from ..errors import ServiceError, ValidationFailed
from ..policy import MalformedPolicy, parse_policy
from ..sts.parameters import POLICY_CHARACTERS, POLICY_PATTERN

NAME_PATTERN = re.compile(r"[\w+=,.@-]+", re.ASCII)  # role and policy names; AWS's \w is Java's: ASCII letters, digits, _
ROLE_PATH = re.compile(r"/|/[\x21-\x7e]+/")  # the model's pathType; its length (at most 512) is checked apart
POLICY_PATH = re.compile(r"((/[A-Za-z0-9.,+@=_-]+)*)/", re.ASCII)  # the model's policyPathType
ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidInput", message, 400)


def quota_exceeded(limit: int, name: str) -> ServiceError:
    return ServiceError("LimitExceeded", f"Cannot exceed quota for {name}: {limit}", 409)


def check_identity_policy(document: str, *, managed: bool = False) -> None:
    """Inline, managed (`managed`: CreatePolicy, CreatePolicyVersion) and session policies: identity policies, which
    name no principal. The answer is AWS's message alone (MalformedPolicy.detail is for humans)."""
    try:
        parse_policy(document, principal_required=False, as_written=True, managed=managed)
    except MalformedPolicy as exc:
        raise ServiceError("MalformedPolicyDocument", str(exc)) from None


def policy_document_violations(document: str, field: str) -> list[str]:
    """A policy document against the model's policyDocumentType (1-131,072 characters of
    [\\u0009\\u000A\\u000D\\u0020-\\u00FF]), in AWS's wording: pattern, then length."""
    start = f"Value '{document}' at '{field}' failed to satisfy constraint: Member must"
    violations = [] if POLICY_CHARACTERS.fullmatch(document) else [f"{start} satisfy regular expression pattern: {POLICY_PATTERN}"]
    if not document:
        violations.append(f"{start} have length greater than or equal to 1")
    elif len(document) > 131072:
        violations.append(f"{start} have length less than or equal to 131072")
    return violations


def arn_violations(value: str, field: str) -> list[str]:
    """An ARN parameter against the model's arnType (20-2048 characters), in AWS's wording."""
    if len(value) < 20:
        return [f"Value '{value}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to 20"]
    if len(value) > 2048:
        return [f"Value '{value}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to 2048"]
    return []


def path_violations(path: str, *, policy: bool = False) -> list[str]:
    """A role's Path (the model's pathType) or a managed policy's (policyPathType), in AWS's wording."""
    if policy:
        return name_violations(path, "path", 512, POLICY_PATH, "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/")
    return name_violations(path, "path", 512, ROLE_PATH, "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")


def name_violations(value: str, field: str, max_length: int, pattern: re.Pattern[str] | None, shown_pattern: str = "") -> list[str]:
    """A name against its model constraints (1-max characters, of `pattern` unless None), in AWS's wording."""
    start = f"Value '{value}' at '{field}' failed to satisfy constraint: Member must"
    if not value:
        return [f"{start} have length greater than or equal to 1"]
    violations = [f"{start} have length less than or equal to {max_length}"] if len(value) > max_length else []
    if pattern is not None and not pattern.fullmatch(value):
        violations.append(f"{start} satisfy regular expression pattern: {shown_pattern}")
    return violations


def iam_name_violations(value: str, field: str, max_length: int) -> list[str]:
    """A role or policy name's model violations: its length. Its characters are IAM's own check (check_iam_name)."""
    return name_violations(value, field, max_length, None)


def role_name_violations(name: str) -> list[str]:
    """A RoleName parameter's model violations (1-64 characters)."""
    return iam_name_violations(name, "roleName", 64)


def policy_name_violations(name: str) -> list[str]:
    """A PolicyName parameter's model violations (1-128 characters)."""
    return iam_name_violations(name, "policyName", 128)


def check_model_then_names(violations: list[str], *names: tuple[str, str]) -> None:
    """Every model violation of a request at once (ValidationError), as AWS reports them, then the characters of its
    role and policy names, (value, field) in parameter order: IAM's own check, after the model's (check_iam_name)."""
    if violations:
        raise ValidationFailed(violations)
    for value, field in names:
        check_iam_name(value, field)


def check_iam_name(value: str, field: str) -> None:
    """A role or policy name of other characters than [\\w+=,.@-], once its model constraints hold: IAM answers in
    its own words, not with the model's pattern (AWS's answers quoted with request IDs or as SDK and CLI output for
    CreateRole, GetRole, PutRolePolicy, DeleteRolePolicy and DeleteGroupPolicy, 2017 to 2025)."""
    if value and not NAME_PATTERN.fullmatch(value):
        raise ServiceError(
            "ValidationError", f"The specified value for {field} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
        )

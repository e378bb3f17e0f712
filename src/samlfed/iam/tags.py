"""Tags of roles, SAML providers and managed policies: the model's constraints on tags and tag keys in AWS's
wording, IAM's own tagging rules, and the tag quota.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from ..errors import ServiceError, ValidationFailed
from ..saml.aws_claims import is_valid_tag_value
from ..store import Tag
from .constraints import invalid

MAX_TAGS = 50
_TAG_EXTRA_CHARACTERS = frozenset("_.:/=+-@")


def _tag_text(text: str) -> bool:
    """The model's tag pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]: letters, separators and numbers of any script."""
    return all(ch in _TAG_EXTRA_CHARACTERS or unicodedata.category(ch)[0] in "LZN" for ch in text)


def tag_violations(tags: Sequence[Tag], field: str = "tags", *, echo: bool = False) -> list[str]:
    """Tags against the model (at most 50; keys 1-128 and values 0-256 characters of its pattern), in AWS's wording,
    each member named as AWS names it ('tags.1.member.key'). IAM does not repeat the text it refuses (its recorded
    answers); `echo` repeats it, as samlfed's STS does (no recorded STS answer says otherwise)."""
    violations = []
    for number, tag in enumerate(tags, 1):
        for part, text, low, high, pattern in (("key", tag.key, 1, 128, "+"), ("value", tag.value, 0, 256, "*")):
            value = f"Value '{text}'" if echo else "Value"
            start = f"{value} at '{field}.{number}.member.{part}' failed to satisfy constraint: Member must"
            if not _tag_text(text) or (pattern == "+" and not text):
                violations.append(f"{start} satisfy regular expression pattern: [\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]{pattern}")
            if len(text) < low:
                violations.append(f"{start} have length greater than or equal to {low}")
            if len(text) > high:
                violations.append(f"{start} have length less than or equal to {high}")
    if len(tags) > MAX_TAGS:
        violations.append(f"Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}")
    return violations


def check_tags(tags: Sequence[Tag], *, case_sensitive_keys: bool = False) -> None:
    """The model's constraints (ValidationError), then IAM's own rules (InvalidInput). A role's tag keys are
    case-insensitive; a SAML provider's and a managed policy's are not (`case_sensitive_keys`: IAM's tagging rules),
    so `Team` and `team` are two of their tags and only a key repeated exactly is a duplicate."""
    violations = tag_violations(tags)
    if violations:
        raise ValidationFailed(violations)
    for tag in tags:
        if tag.key.lower().startswith("aws:"):
            raise invalid("User-defined tag keys can't start with 'aws:'.")
    if case_sensitive_keys:
        if len({tag.key for tag in tags}) < len(tags):  # wording of AWS's case-insensitive answer, without its note
            raise invalid("Duplicate tag keys found.")
    elif len({tag.key.lower() for tag in tags}) < len(tags):  # AWS-observed wording (the store would keep only the last)
        raise invalid("Duplicate tag keys found. Please note that Tag keys are case insensitive.")


def too_many_tags() -> ServiceError:
    return ServiceError("LimitExceeded", "The number of tags has reached the maximum limit.", 409)


_TAG_KEY_CONSTRAINTS = (  # its "[…" list is closed by the caller, after what it adds
    "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater "
    "than or equal to 1, Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
)


def tag_key_list_violations(keys: Sequence[str], field: str = "tagKeys", *, echo: bool = False) -> list[str]:
    """A list of tag keys (the model's tagKeyListType): at most 50, each 1-128 characters; reported for the whole
    list, in AWS's words: IAM's recorded answers quote no key and add "Member must not be null"; `echo` (STS) quotes
    the list."""
    if len(keys) > MAX_TAGS:
        return [f"Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"]
    if all(1 <= len(key) <= 128 and is_valid_tag_value(key) for key in keys):
        return []
    if echo:
        return [f"Value '[{', '.join(keys)}]' at '{field}' failed to satisfy constraint: {_TAG_KEY_CONSTRAINTS}]"]
    return [f"Value at '{field}' failed to satisfy constraint: {_TAG_KEY_CONSTRAINTS}, Member must not be null]"]


def check_tag_keys(keys: Sequence[str]) -> None:
    """UntagRole/UntagSAMLProvider TagKeys."""
    violations = tag_key_list_violations(keys)
    if violations:
        raise ValidationFailed(violations)

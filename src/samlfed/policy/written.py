"""The grammar IAM enforces on a policy document it is asked to store, with AWS's messages and in AWS's order.

Reconstructed from AWS's recorded answers to CreatePolicy (LocalStack's tests/aws/services/iam/test_iam_policies.py,
class TestPolicyDocumentValidity, recorded against AWS: `invalid-N` / `valid-N` below name its cases). Where one
document breaks several rules, AWS reports the first of these phases that fails:

1. syntax: the JSON shapes of the document, its statements and their elements -> "Syntax errors in policy."
   (`document.check_syntax`, which the read path applies too)
2. version (managed policies only): "Policy document must be version 2012-10-17 or greater."
3. "legacy parsing": the exact case of Effect, the values of Date conditions, the field count of resource ARNs
   -> "The policy failed legacy parsing"
4. statement IDs: their alphabet, then their uniqueness
5. per statement, while the document is parsed (`document._statement`): actions, then resources, must be present
6. the form of each resource ARN (`resource_error`), then of each action (`action_error`), then principals.

Only the write path applies these (`parse_policy(as_written=True)`): a policy stored by an older release is read
without them. Rules the recording does not show are left as they were.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..arn_syntax import PARTITIONS
from ..decimal_text import signed_decimal_within
from .conditions import parse_operator
from .document import MalformedPolicy

VERSION_REQUIRED = "Policy document must be version 2012-10-17 or greater."
LEGACY = "The policy failed legacy parsing"
SID_ALPHABET = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
SID_UNIQUE = "Statement IDs (SID) in a single policy must be unique."
VENDOR_REQUIRED = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
VENDOR_QUALIFIED = "Resource vendor must be fully qualified and cannot contain regexes."
IAM_RESOURCE_PATH = (
    'IAM resource path must either be "*", root, or start with user/, federated-user/, role/, group/, instance-profile/, '
    "mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."
)
_IAM_PATHS = tuple(IAM_RESOURCE_PATH.split("start with ", 1)[1].rstrip(".").split(", "))

_SID = re.compile(r"[0-9A-Za-z]*")


def _known_partition(partition: str) -> bool:
    """A resource in a partition AWS does not have is refused (invalid-21..25); one written with a wildcard is not
    checked."""
    return partition in PARTITIONS or any(c in partition for c in "*?")


def check_before_parse(raw: Mapping[str, Any], statements: Sequence[Mapping[str, Any]], *, managed: bool) -> None:
    """Phases 2-4 on the JSON value of a document that passed the syntax phase (`document.check_syntax`)."""
    if managed and raw.get("Version") != "2012-10-17":  # invalid-1, -2 (and first of all but syntax: -60, -65, -66)
        raise MalformedPolicy(VERSION_REQUIRED, f"A managed policy's Version must be 2012-10-17, not {raw.get('Version')!r}.")
    for statement in statements:
        _check_legacy(statement)
    sids = [s["Sid"] for s in statements if s.get("Sid")]  # an empty Sid is no Sid (valid-49: two of them)
    if not all(_SID.fullmatch(sid) for sid in sids):
        raise MalformedPolicy(SID_ALPHABET)
    if len(set(sids)) != len(sids):  # invalid-59: before the statement that has no Action
        raise MalformedPolicy(SID_UNIQUE)


# --- 3. legacy parsing --------------------------------------------------------------------------------------------


def _check_legacy(statement: Mapping[str, Any]) -> None:
    effect = statement["Effect"]
    if effect not in ("Allow", "Deny"):  # invalid-63, -66 (after the version), -69, -70
        raise MalformedPolicy(LEGACY, f"Effect is written {effect!r}: it is Allow or Deny, with that case.")
    for field in ("Resource", "NotResource"):
        value = statement.get(field, [])
        for resource in [value] if isinstance(value, str) else value:
            if _short_arn(resource):  # invalid-36, -37, -68, -71, -77
                raise MalformedPolicy(LEGACY, f"{field} {resource!r} is an ARN that names a region field but not all six fields and a service.")
    for operator, block in statement.get("Condition", {}).items():
        if not block or not parse_operator(operator)[0].startswith("Date"):
            continue
        for key, values in block.items():
            for value in values if isinstance(values, list) else [values]:
                if not is_policy_date(_text(value)):  # invalid-64, -67, -72..-76
                    raise MalformedPolicy(LEGACY, f"{operator} value {value!r} of {key} is not a date.")


def _text(value: str | int | float) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _short_arn(resource: str) -> bool:
    """An ARN of an AWS partition that goes past its service (has a region field) must have all six fields and a
    service: "arn:aws:s3::b" and "arn:aws::fdsasf" are refused, "arn:aws:fdsasf" is not (valid-9). One of another
    partition is left to the partition rule ("arn:error:s3::example_bucket": invalid-25)."""
    fields = resource.split(":", 5)
    if fields[0] != "arn" or len(fields) < 2 or not _known_partition(fields[1]) or _has_variable(fields):
        return False
    return len(fields) >= 4 and (len(fields) < 6 or fields[2] == "")


def _has_variable(fields: list[str]) -> bool:
    """A policy variable (`${aws:username}`, which holds a colon) before the resource part: its fields are not
    checked (no recorded answer shows one)."""
    return any("${" in field for field in fields[:5])


_EPOCH = re.compile(r"[+-]?\d+", re.ASCII)
ISO_DATE = re.compile(
    r"[+-]?(?P<year>\d{1,9})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?)?"
    r"(?:[Tt](?:(?P<hour>\d{1,2})(?::(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:[.,](?P<fraction>\d{1,9}))?)?)?)?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<offset_hours>\d{2})(?::?(?P<offset_minutes>\d{2}))?)?)?",
    re.ASCII,
)
"""An ISO 8601 date as IAM reads it in a Date condition (also `conditions._written_date`, which evaluates it)."""


def is_policy_date(text: str) -> bool:
    """A value IAM accepts in a Date condition: epoch seconds that fit in 64 bits (valid-37; not invalid-75), or an
    ISO 8601 date with optional parts as IAM reads it - `T` in either case, one- or two-digit fields (valid-30 "01T",
    valid-36 "2016-12-13t2:00:00.593194+23"), at most nine fractional digits (not invalid-74), a two-digit offset
    hour (not invalid-73), fields within their ranges (not invalid-72 "234-13")."""
    if _EPOCH.fullmatch(text):
        return signed_decimal_within(text, -(2**63), 2**63 - 1) is not None  # int() alone raised past 4,300 digits
    match = ISO_DATE.fullmatch(text)
    if match is None:
        return False
    year, month = (int(match[name]) if match[name] else 1 for name in ("year", "month"))
    days = calendar.monthrange(year, month)[1] if 1 <= year <= 9999 and 1 <= month <= 12 else 31
    limits = {"month": (1, 12), "day": (1, days), "hour": (0, 23), "minute": (0, 59), "second": (0, 59),
              "offset_hours": (0, 23), "offset_minutes": (0, 59)}
    return all(low <= int(match[name]) <= high for name, (low, high) in limits.items() if match[name])


# --- 6. forms of resources and actions ----------------------------------------------------------------------------


def resource_error(resource: str) -> str | None:
    """AWS's message for a Resource or NotResource IAM refuses to store, or None."""
    if resource == "*":
        return None
    if ":" not in resource:  # invalid-16..-20
        return f'Resource {resource} must be in ARN format or "*".'
    fields = resource.split(":", 5)
    if _has_variable(fields):
        return None
    # IAM reads the text after the first colon as partition, service, region, account, resource, whatever the text
    # before it ("aws:s3:::example_bucket" has the partition "s3": invalid-24), and names it as an ARN, a field it
    # lacks as "*" (invalid-21..-25).
    _, rest = resource.split(":", 1)
    partition, has_service, after = rest.partition(":")
    if not _known_partition(partition):
        parts = after.split(":", 3)
        shown = [parts[i] if i < len(parts) and (parts[i] or i < len(parts) - 1) else "*" for i in range(4)]
        return f'Partition "{partition}" is not valid for resource "arn:{partition}:{":".join(shown)}".'
    if not has_service or not fields[2]:  # invalid-38 "arn:aws"
        return VENDOR_QUALIFIED
    service = fields[2]
    region = fields[3] if len(fields) > 3 else ""
    account = fields[4] if len(fields) > 4 else ""
    # IAM and S3 buckets/objects are global: a region (other than a wildcard, which also matches none) is refused.
    # An S3 resource with an account ID is regional (an access point: valid-50), and keeps its region.
    if service == "iam" and region.strip("*"):  # invalid-55
        return f"IAM resource {resource} cannot contain region information."
    if service == "s3" and region.strip("*") and not account:  # invalid-56
        return f"Resource {resource} can not contain region information."
    if service == "iam" and len(fields) == 6:
        path = fields[5]
        if path not in ("*", "root") and not path.startswith(_IAM_PATHS):  # invalid-35; valid-7
            return IAM_RESOURCE_PATH
    return None


def action_error(action: str) -> str | None:
    """AWS's message for an Action or NotAction IAM refuses to store, or None: `*`, or service:name where the name
    may hold any text but a colon ("iam: asdf safdsf af ": valid-1) and the service no space (invalid-13)."""
    if action == "*":
        return None
    vendor, colon, name = action.partition(":")
    if not colon:  # invalid-11, -12
        return VENDOR_REQUIRED
    if ":" in name:  # invalid-14, -15
        return ONE_COLON
    if not vendor:
        return VENDOR_REQUIRED
    if any(c.isspace() for c in vendor):  # invalid-13
        return f"Vendor {vendor} is not valid"
    return None

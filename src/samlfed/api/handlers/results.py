"""Result structures several handlers answer (a role, a managed policy, a policy version, tag lists, policy text), as
IAM's API reference shapes them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ...store import ManagedPolicy, PolicyVersion, Role, RoleLastUsed, Tag


def tag_list(tags: tuple[Tag, ...]) -> list[dict[str, str]]:
    return [{"Key": t.key, "Value": t.value} for t in tags]


def tag_key(tag: dict[str, str]) -> str:
    """The order tags are listed in, and what a tag list's Marker holds: the key in lower case, then the key as
    written, which tells apart a SAML provider's or managed policy's `Team` and `team` (a role's keys are unique
    case-insensitively). A tab joins the two: it sorts below every character a key may hold, so the text sorts as
    the pair would."""
    return f"{tag['Key'].lower()}\t{tag['Key']}"


def sorted_tag_list(tags: tuple[Tag, ...]) -> list[dict[str, str]]:
    """Tags in `tag_key` order, sorted here: the store's order follows the database's collation, which may not be
    Python's (PostgreSQL's ICU en-US puts 'a:' before 'a0'), and answers that document the order must agree."""
    return sorted(tag_list(tags), key=tag_key)


def policy_text(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986) inside the XML, as AWS does."""
    return quote(document, safe="-_.~")


BOUNDARY_TYPE = "Policy"
"""What AWS answers as PermissionsBoundaryType (its CLI examples, recordings of GetRole): not the model's only enum
value, PermissionsBoundaryPolicy."""


def role(role: Role, trust_policy: str, *, full: bool = True) -> dict[str, Any]:
    """`trust_policy`: the role's as IAM shows it (`trust_shown`)."""
    result: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": policy_text(trust_policy),
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
    }
    if full:  # ListRoles leaves these out (the IAM API reference)
        result["PermissionsBoundary"] = (
            {"PermissionsBoundaryType": BOUNDARY_TYPE, "PermissionsBoundaryArn": role.permissions_boundary} if role.permissions_boundary else None
        )
        result["Tags"] = sorted_tag_list(role.tags) or None
    return result


def without(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if name not in names}


def last_used(use: RoleLastUsed | None) -> dict[str, Any]:
    """GetRole's RoleLastUsed: empty (`<RoleLastUsed/>`) for a role never used, as AWS answers."""
    return {} if use is None else {"LastUsedDate": use.used_at, "Region": use.region}


def managed(policy: ManagedPolicy, boundary_uses: int, *, full: bool = True) -> dict[str, Any]:
    return {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": policy.attachment_count,
        "PermissionsBoundaryUsageCount": boundary_uses,
        "IsAttachable": True,
        "Description": policy.description,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
        **({"Tags": sorted_tag_list(policy.tags)} if full else {}),  # ListPolicies leaves them out (IAM API reference)
    }


def policy_version(version: PolicyVersion, *, document: bool = True) -> dict[str, Any]:
    """A PolicyVersion; CreatePolicyVersion and ListPolicyVersions leave the Document out (IAM API reference)."""
    return {
        **({"Document": policy_text(version.document)} if document else {}),
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "CreateDate": version.created_at,
    }

"""AWS managed policies (`arn:aws:iam::aws:policy/…`): the operator imports (and may delete) them, every account
reads, attaches and evaluates them, none changes them.

samlfed ships none of AWS's documents. The operator brings the catalogue: from an AWS account
(`aws iam get-account-authorization-details --filter AWSManagedPolicy`, which lists the ones in use there, each with
its versions), or a public copy of the whole catalogue. `read_catalogue` reads three shapes:

* the output of get-account-authorization-details (`{"Policies": [...]}`), or its list of policies alone; each entry
  has PolicyName, PolicyId, Arn, Path, DefaultVersionId, CreateDate, UpdateDate and PolicyVersionList;
* a list of policy objects with `Document` and `DefaultVersionId` in place of PolicyVersionList;
* an object of such objects keyed by policy name (`{"ReadOnlyAccess": {"Path": "/", "Document": …}}`).

An entry without a PolicyId gets a stable one derived from its ARN; one without dates is dated at the import.
Each document must parse as an identity policy (samlfed evaluates the default version on every request that
uses it); IAM's PolicySize quota and the API's bound on a document's length are for customer policies and do not
apply. A document given as an object is stored as compact JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from ..context import ServiceContext
from ..errors import ServiceError
from ..jsoninput import parse_json
from ..store import AWS_MANAGED, AlreadyExists, Conflict, ManagedPolicy, NotFound, PolicyVersion
from ..sts.parameters import POLICY_CHARACTERS
from .constraints import NAME_PATTERN, POLICY_PATH, check_identity_policy

AWS_POLICY_ARN = re.compile(rf"arn:aws:iam::aws:policy(?P<path>{POLICY_PATH.pattern})(?P<name>[\w+=,.@-]{{1,128}})", re.ASCII)
"""An AWS managed policy's ARN in the commercial partition (the one samlfed's own ARNs are in)."""
POLICY_ID = re.compile(r"[A-Z0-9]{16,32}", re.ASCII)
"""IAM's idType for PolicyId (AWS's are ANPA and 17 more), within what the store keeps (32)."""
VERSION_ID = re.compile(r"v[1-9][0-9]{0,8}", re.ASCII)
"""The version IDs the store keeps (IAM's model allows a suffix after a dot, which IAM itself never hands out)."""
MAX_PATH = 512
MAX_DESCRIPTION = 1000


class CatalogueError(ValueError):
    """The file is no catalogue at all (not JSON, or none of the shapes `read_catalogue` reads)."""


@dataclass(frozen=True)
class CatalogueEntry:
    policy: ManagedPolicy
    versions: tuple[PolicyVersion, ...]


@dataclass
class ImportReport:
    """ARNs by what the import did with them; `refused` holds "<name or position>: <reason>"."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def read_catalogue(text: str | bytes, *, now: datetime) -> tuple[list[CatalogueEntry], list[str]]:
    """The catalogue's policies that samlfed can store, and one "<name or position>: <reason>" for each it cannot.
    CatalogueError when `text` is not a catalogue."""
    try:
        data = parse_json(text)
    except ValueError as exc:
        raise CatalogueError(f"not JSON: {exc}") from None
    entries, refused = [], []
    for label, hint, raw in _raw_entries(data):
        try:
            entries.append(_entry(raw, hint, now))
        except _Refused as reason:
            refused.append(f"{label}: {reason}")
    names = [entry.policy.name.lower() for entry in entries]
    if len(set(names)) != len(names):  # names are unique whatever their case and path, as an account's own are
        raise CatalogueError("the catalogue names a policy more than once (names differing only in case or path are one name)")
    return entries, refused


def import_catalogue(ctx: ServiceContext, entries: Iterable[CatalogueEntry]) -> ImportReport:
    """Store each entry (create, or replace what an earlier import stored: roles keep it attached); one transaction
    per policy, so that a failure leaves each policy either as it was or as the catalogue has it."""
    report = ImportReport()
    for entry in entries:
        try:
            done = ctx.store.put_aws_managed_policy(entry.policy, entry.versions)
        except AlreadyExists:
            report.refused.append(f"{entry.policy.name}: another policy has its PolicyId, or another AWS managed policy its name (in any case, on any path)")
            continue
        {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}[done].append(entry.policy.arn)
    return report


def delete_policy(ctx: ServiceContext, arn: str) -> str | None:
    """Delete an imported AWS managed policy; None when done, otherwise why not."""
    if not AWS_POLICY_ARN.fullmatch(arn):
        return "not an AWS managed policy's ARN (arn:aws:iam::aws:policy/…)"
    try:
        ctx.store.delete_aws_managed_policy(arn)
    except NotFound:
        return "no such policy was imported"
    except Conflict:
        return "a role uses it (attached or as its permissions boundary): detach it everywhere first"
    return None


class _Refused(Exception):
    """Why one entry of the catalogue cannot be stored."""


def _raw_entries(data: Any) -> list[tuple[str, str | None, Any]]:
    """(label for messages, name from the key, entry) of each entry, whichever shape the catalogue has."""
    if isinstance(data, dict) and isinstance(data.get("Policies"), list):
        data = data["Policies"]
    if isinstance(data, list):
        return [(_label(raw, f"entry {index + 1}"), None, raw) for index, raw in enumerate(data)]
    if isinstance(data, dict) and data and all(isinstance(value, dict) for value in data.values()):
        return [(str(name), str(name), raw) for name, raw in data.items()]
    raise CatalogueError("expected {\"Policies\": [...]} (get-account-authorization-details), a list of policies, or policies keyed by name")


def _label(raw: Any, fallback: str) -> str:
    name = raw.get("PolicyName") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and name else fallback


def _entry(raw: Any, name_hint: str | None, now: datetime) -> CatalogueEntry:
    if not isinstance(raw, dict):
        raise _Refused("not an object")
    name, path, arn = _names(raw, name_hint)
    policy_id = _optional_text(raw, "PolicyId") or _derived_policy_id(arn)
    if not POLICY_ID.fullmatch(policy_id):
        raise _Refused(f"PolicyId {policy_id!r} is not 16-32 capital letters and digits")
    description = _optional_text(raw, "Description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise _Refused(f"Description longer than {MAX_DESCRIPTION} characters")
    created = _date(raw, "CreateDate", now)
    updated = _date(raw, "UpdateDate", created)
    versions = _versions(raw, created)
    (default,) = [version for version in versions if version.is_default]
    policy = ManagedPolicy(
        arn=arn, account_id=AWS_MANAGED, name=name, policy_id=policy_id, path=path, document=default.document,
        created_at=created, updated_at=updated, description=description, default_version_id=default.version_id,
    )
    return CatalogueEntry(policy, versions)


def _names(raw: dict[str, Any], name_hint: str | None) -> tuple[str, str, str]:
    """(name, path, ARN), from the ARN when there is one (and then the name and path given must agree with it)."""
    name = _optional_text(raw, "PolicyName") or name_hint
    path = _optional_text(raw, "Path")
    arn = _optional_text(raw, "Arn")
    if arn is not None:
        match = AWS_POLICY_ARN.fullmatch(arn)
        if match is None:
            raise _Refused(f"Arn {arn!r} is not an AWS managed policy's ARN (arn:aws:iam::aws:policy/…)")
        if (name is not None and name != match["name"]) or (path is not None and path != match["path"]):
            raise _Refused(f"Arn {arn!r} does not agree with its PolicyName or Path")
        name, path = match["name"], match["path"]
    if name is None or not NAME_PATTERN.fullmatch(name) or len(name) > 128:
        raise _Refused(f"PolicyName {name!r} is not 1-128 characters of [\\w+=,.@-]")
    path = path or "/"
    if not POLICY_PATH.fullmatch(path) or len(path) > MAX_PATH:
        raise _Refused(f"Path {path!r} is not a policy path")
    return name, path, arn or f"arn:aws:iam::aws:policy{path}{name}"


def _versions(raw: dict[str, Any], created: datetime) -> tuple[PolicyVersion, ...]:
    listed = raw.get("PolicyVersionList")
    default_id = _optional_text(raw, "DefaultVersionId")
    if listed is None:  # one document: the default version
        return (PolicyVersion(default_id or "v1", _document(raw.get("Document")), True, created),)
    if not isinstance(listed, list) or not listed:
        raise _Refused("PolicyVersionList is not a list of versions")
    versions = []
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("VersionId"), str) or not isinstance(item.get("IsDefaultVersion", False), bool):
            raise _Refused("a version without a VersionId, or with an IsDefaultVersion that is no boolean")
        versions.append(PolicyVersion(item["VersionId"], _document(item.get("Document")), item.get("IsDefaultVersion", False), _date(item, "CreateDate", created)))
    ids = [version.version_id for version in versions]
    if len(set(ids)) != len(ids) or not all(VERSION_ID.fullmatch(version_id) for version_id in ids):
        raise _Refused("version IDs must be distinct, each v1, v2, …")
    defaults = [version.version_id for version in versions if version.is_default]
    if len(defaults) != 1 or default_id not in (None, defaults[0]):
        raise _Refused("exactly one version must be the default, and DefaultVersionId must name it")
    return tuple(versions)


def _document(value: Any) -> str:
    """A version's document as text: the CLI prints it decoded (an object), the query API sends it URL-encoded."""
    if isinstance(value, dict):
        text = json.dumps(value, separators=(",", ":"))  # compact: AWS's largest documents are already near the bound below
    elif isinstance(value, str):
        text = unquote(value) if value[:3].upper() == "%7B" else value
    else:
        raise _Refused("a version without a Document")
    # IAM's characters, but not the API parameter's 131,072-character bound: AWS serves managed policies longer than
    # that (AWSSupportServiceRolePolicy is 135,200 characters without any whitespace).
    if not POLICY_CHARACTERS.fullmatch(text):
        raise _Refused("a Document that is empty or holds characters outside IAM's policy characters (tab, line breaks, U+0020-U+00FF)")
    try:
        check_identity_policy(text)
    except ServiceError as refused:
        raise _Refused(f"a Document samlfed cannot evaluate: {refused.message}") from None
    return text


def _optional_text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _Refused(f"{key} is not a non-empty string")
    return value


def _date(raw: dict[str, Any], key: str, default: datetime) -> datetime:
    value = _optional_text(raw, key)
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the range by its offset
        raise _Refused(f"{key} {value!r} is not an ISO 8601 date and time within years 1-9999") from None


def _derived_policy_id(arn: str) -> str:
    """A PolicyId for a catalogue that has none: ANPA and 17 characters of the ARN's digest, the same on every
    import (so that a second import updates the policy rather than clashing with itself)."""
    return "ANPA" + base64.b32encode(hashlib.sha256(arn.encode()).digest()).decode()[:17]

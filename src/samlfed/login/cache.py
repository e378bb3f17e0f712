"""The `credential_process` cache: one JSON file per profile, owner-only, under `$XDG_CACHE_HOME/samlfed`.

The file holds the credentials of the role signed in to last (its top-level fields) and, under `others`, those of
the profile's other roles that are still valid: AWS profiles that use one login profile with different roles
(`--role`) must not each replace the other's credentials, or every call of one after the other signs in again."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..files import make_private_directories, write_private
from ..timestamps import aws_timestamp
from .credentials_file import AwsCredentials
from .roles import RolesError, matching

REFRESH_WITHIN = timedelta(minutes=15)
"""Credentials this close to expiry are refreshed when they can be (a kept password): botocore asks for new ones
15 minutes before expiry (advisory) and insists from 10 (mandatory), so it must get fresher ones from 15 on."""
SERVE_MARGIN = timedelta(seconds=60)
"""Credentials that cannot be refreshed are served until this close to expiry: ones about to expire would fail the
call they were asked for (clocks differ a little)."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "samlfed" / "credentials"


def _private_cache_dir() -> Path:
    """cache_dir(), made when missing owner-only, and its parent `samlfed` too (it holds the lock of the credentials
    file), and $XDG_CACHE_HOME (~/.cache) when it is missing, as the XDG Base Directory spec asks."""
    directory = cache_dir()
    make_private_directories(directory)
    return directory


def _path(profile: str) -> Path:
    """One file per profile name: percent-encoded, so that `acme:dev` and `acme_dev` never share one (names of
    letters, digits, `-`, `_`, `.` and `~` are their own file name)."""
    return cache_dir() / f"{quote(profile, safe='')}.json"


def exists(profile: str) -> bool:
    """Whether anything is cached for this profile (a login made with flags only, without a config entry, too)."""
    return _path(profile).is_file()


def store(profile: str, role_arn: str, credentials: AwsCredentials, offered: list[str] | None = None,
          issued: datetime | None = None) -> None:
    """Cache the credentials of `role_arn`, issued now unless said; `offered` (the sign-in's roles) lets a role name
    be looked up as login does. The profile's other roles keep their cached credentials while they are valid.

    Two processes storing for one profile at once (a login and another role's refresh) may each write the file as
    it was before the other's: a role's entry is then lost, and that role signs in again the next time it is asked."""
    _private_cache_dir()
    path = _path(profile)
    now = datetime.now(UTC)
    others = {
        arn: {key: entry[key] for key in _FIELDS if key in entry}  # the credentials only, not the document around them
        for arn, entry in _entries(_document(path)).items() if arn != role_arn and _servable(entry, now) is not None
    }
    document = {
        "role": role_arn, "offered": offered or [role_arn], **_fields(credentials, issued or now), "others": others,
    }
    write_private(path, json.dumps(document).encode("utf-8"))


_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Issued")


def _fields(credentials: AwsCredentials, issued: datetime) -> dict[str, str]:
    return {
        "AccessKeyId": credentials.access_key_id, "SecretAccessKey": credentials.secret_access_key, "SessionToken": credentials.session_token,
        "Expiration": credentials.expiration_text, "Issued": aws_timestamp(issued),
    }


def _document(path: Path) -> dict[str, Any]:
    """The cache file's JSON object; {} when there is none or it is no JSON object."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _entries(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The cached credentials by role ARN: the top-level ones (the last sign-in's role) and the others'."""
    others = document.get("others")
    entries = {arn: entry for arn, entry in others.items() if isinstance(entry, dict)} if isinstance(others, dict) else {}
    role = document.get("role")
    if isinstance(role, str):
        entries[role] = document
    return entries


def _servable(entry: dict[str, Any], now: datetime) -> AwsCredentials | None:
    """The entry's credentials when they stay valid beyond SERVE_MARGIN, else None (corrupt ones too)."""
    credentials = _credentials(entry)
    return credentials if credentials is not None and credentials.expiration - now > SERVE_MARGIN else None


def _credentials(entry: dict[str, Any]) -> AwsCredentials | None:
    """The credentials of one cache entry, or None when they are missing or corrupt (no time zone too)."""
    try:
        fields = [entry[key] for key in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")]
        if not all(isinstance(field, str) for field in fields):  # a number or null where text belongs: corrupt
            return None
        access_key_id, secret_access_key, session_token, expiration = fields
        credentials = AwsCredentials(access_key_id, secret_access_key, session_token, _instant(expiration))
    except (ValueError, KeyError, TypeError):
        return None
    if credentials.expiration.tzinfo is None:  # no time zone: no telling when they expire
        return None
    return credentials


@dataclass(frozen=True)
class Cached:
    credentials: AwsCredentials
    issued: datetime | None
    """When they were cached; None from a version of samlfed that did not write it down."""

    def due(self, now: datetime | None = None) -> bool:
        """Whether botocore will soon ask for fresher credentials, and a sign-in now would give them.

        Within REFRESH_WITHIN botocore asks on every call, so credentials that are short from the start (900 s) would
        otherwise cost an IdP sign-in per AWS call: those are refreshed once half their life is gone instead."""
        left = self.credentials.expiration - (now or datetime.now(UTC))
        if left > REFRESH_WITHIN:
            return False
        return self.issued is None or left <= (self.credentials.expiration - self.issued) / 2


def valid(profile: str, role: str, now: datetime | None = None) -> Cached | None:
    """Cached credentials for this profile and role (its ARN, or its name as login takes it) that stay valid beyond
    SERVE_MARGIN, or None (a cache file that is missing or corrupt too). RolesError when a name matches roles in
    several accounts: not for the cache to guess."""
    document = _document(_path(profile))
    entries = _entries(document)
    entry = entries.get(_cached_role(document, role) or "")
    credentials = _servable(entry, now or datetime.now(UTC)) if entry is not None else None
    if entry is None or credentials is None:
        return None
    return Cached(credentials, _issued(entry.get("Issued"), credentials.expiration))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _issued(text: object, expiration: datetime) -> datetime | None:
    """The cached issue time, or None when it is missing or makes no sense (a refresh then goes by REFRESH_WITHIN)."""
    try:
        issued = _instant(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return issued if issued is not None and issued.tzinfo is not None and issued < expiration else None


@contextmanager
def refreshing(profile: str) -> Iterator[None]:
    """Held while a profile's credentials are refreshed. AWS tools may run credential_process several times at once:
    each would sign in at the IdP (a stale kept password then counts once per call towards the IdP's lockout), so
    the others wait here and then read the cache the first one wrote. The holder's exchanges each have a deadline, and
    the lock goes with its process if it dies."""
    _private_cache_dir()
    path = _path(profile).with_suffix(".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _cached_role(document: dict[str, Any], role: str) -> str | None:
    """The ARN that `role` names, resolved among the roles of the last sign-in as `login --role` resolves it (the
    ARN of a role cached earlier names itself), or None."""
    if role in _entries(document):
        return role
    offered = document.get("offered")
    if not isinstance(offered, list):  # cached before names were looked up: a login writes the roles again
        return None
    found = matching([arn for arn in offered if isinstance(arn, str)], role)
    if len(found) > 1:
        raise RolesError(f"the role {role} is not unique among the roles of your last sign-in ({', '.join(found)}); give its ARN instead")
    return found[0] if found else None

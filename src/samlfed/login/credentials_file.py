"""Writing profiles into `~/.aws/credentials` without touching anything else in the file.

configparser would re-format the whole file and drop comments, so a profile's credentials are replaced as text:
every byte outside them stays as it was (the section's header line, its other settings and comments too).
Sections are found with botocore's own parser (aws_ini), and the result is read back the same way: if any
profile would read differently (beyond the new credentials), nothing is written. The write is atomic (a temporary file renamed over the old one), goes through
a symbolic link to its target, leaves the file owner-only, and is serialized with other logins' writes.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..files import make_private_directories, write_private
from ..timestamps import aws_timestamp
from .aws_ini import IniError, Parsed, lines_of, parse


class CredentialsFileError(ValueError):
    """The credentials file cannot be read or updated safely; the message names it and why."""


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    @property
    def expiration_text(self) -> str:
        return aws_timestamp(self.expiration)


def credentials_path() -> Path:
    """`$AWS_SHARED_CREDENTIALS_FILE` expanded as botocore expands it ($VARS, then ~), else ~/.aws/credentials."""
    configured = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
    if configured:
        return Path(os.path.expanduser(os.path.expandvars(configured)))
    return Path.home() / ".aws" / "credentials"


def check_profile_name(name: str) -> None:
    """Refuse a name that cannot be written as a section header botocore reads back as the same profile."""
    if not name or name != name.strip() or any(ch in name for ch in "\r\n") or name == "DEFAULT":
        raise CredentialsFileError(
            f"{name!r} cannot be an AWS profile name (empty, spaces around it, a line break, or DEFAULT)"
        )


LEGACY_TOKEN = "aws_security_token"
"""The session token's older name, which saml2aws and boto 2 era tools write beside or instead of aws_session_token.
botocore reads it first: left as it was, it would pair the old session's token with the new keys."""


def check_replaceable(parsed: Parsed, name: str, source: str = "credentials") -> None:
    """Refuse to replace long-term access keys (a key and its secret without a session token): temporary credentials
    written over them would lose them for good, as AWS never shows a secret access key again."""
    section = parsed.profiles.get(name, {})
    temporary = section.get("aws_session_token") or section.get(LEGACY_TOKEN)
    if section.get("aws_access_key_id") and section.get("aws_secret_access_key") and not temporary:
        raise CredentialsFileError(
            f"profile {name} in {source} holds long-term access keys, which temporary credentials would replace for good; "
            "it was left as it is: write them to another profile (--profile-name NAME)"
        )


def _values(credentials: AwsCredentials, *, legacy_token: bool = False) -> dict[str, str]:
    return {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "aws_session_token": credentials.session_token,
        **({LEGACY_TOKEN: credentials.session_token} if legacy_token else {}),
        "x_security_token_expires": credentials.expiration_text,
    }


def _is_blank_or_comment(line: str) -> bool:
    return not line.strip() or line.strip().startswith(("#", ";"))


def replace_profile(text: str, name: str, credentials: AwsCredentials, source: str = "credentials") -> str:
    """`text` with the credentials of the section `[name]` replaced (or the section appended), every other byte
    unchanged.

    Raises CredentialsFileError when botocore cannot read `text`, or would read another profile differently.
    """
    check_profile_name(name)
    try:
        before = parse(text, source)
    except IniError as exc:
        raise CredentialsFileError(f"{source} is not a file AWS tools can read, so it was left as it is: {exc}") from None
    check_replaceable(before, name, source)
    newline = "\r\n" if "\r\n" in text else "\n"
    # An older token name the profile has (its own or the [DEFAULT] section's) gets the new token: botocore reads it first.
    values = _values(credentials, legacy_token=LEGACY_TOKEN in before.profiles.get(name, before.defaults))
    body = "".join(f"{key} = {value}{newline}" for key, value in values.items())
    lines = lines_of(text)
    starts = [index for index, _ in before.headers]
    mine = [index for index, header in before.headers if header == name]  # one at most: the parser is strict
    if not mine:
        separator = "" if not text or text.endswith(("\n", "\r")) else newline
        blank = newline if text.strip() else ""
        updated = text + separator + blank + f"[{name}]{newline}" + body
    else:
        start = mine[0]
        end = next((index for index in starts if index > start), len(lines))
        header = lines[start] if lines[start].endswith(("\n", "\r")) else lines[start] + newline
        kept, at = _without_credentials(lines[start + 1:end], values)
        if kept and not kept[-1].endswith(("\n", "\r")):  # the file's last line: the new ones may follow it
            kept[-1] += newline
        updated = "".join(lines[:start]) + header + "".join([*kept[:at], body, *kept[at:]]) + "".join(lines[end:])
    _check_only_mine_changed(before, updated, name, values, source)
    return updated


def _without_credentials(body: list[str], values: dict[str, str]) -> tuple[list[str], int]:
    """The section's lines without its options named in `values` (and their continuation lines), and where the new
    ones go: where the first of them was, else right after the header. Everything else the profile holds (region,
    endpoint_url, nested s3 settings, comments) stays: AWS tools read those from this file too."""
    kept: list[str] = []
    at: int | None = None
    dropping = False
    for line in body:
        indented = line[:1] in (" ", "\t")
        if dropping and indented and line.strip():
            if _is_blank_or_comment(line):  # botocore skips an indented comment too: it belongs to no value, and stays
                kept.append(line)
            continue  # a continuation line of a dropped value
        dropping = False
        key = line.split("=", 1)[0].split(":", 1)[0].strip().lower()
        if not indented and not _is_blank_or_comment(line) and key in values:
            dropping = True
            at = len(kept) if at is None else at
            continue
        kept.append(line)
    return kept, 0 if at is None else at


def _check_only_mine_changed(before: Parsed, updated: str, name: str, values: dict[str, str], source: str) -> None:
    """The safety net: botocore must read every other profile as before, and this one as before with `values` set (a
    new one as the `[DEFAULT]` section's values with `values` set: botocore gives those to every profile)."""
    try:
        after = parse(updated, source).profiles
    except IniError:
        after = {}
    others_kept = {k: v for k, v in after.items() if k != name} == {k: v for k, v in before.profiles.items() if k != name}
    if not others_kept or after.get(name) != {**before.profiles.get(name, before.defaults), **values}:
        raise CredentialsFileError(
            f"{source}: profile {name} cannot be written without changing how AWS tools read the rest of the file "
            "(unusual indentation?); it was left as it is"
        )


def read_text(path: Path) -> str:
    """The credentials file's text ("" when there is none), checked to be readable by AWS tools and writable."""
    parent = Path(os.path.realpath(path)).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise CredentialsFileError(f"cannot write {path}: {parent} is not a directory")
    try:  # the new file is written beside it and renamed over it: the directory must take one
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise CredentialsFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with path.open(encoding="utf-8", newline="") as handle:  # newline="": keep the file's own line endings
            text = handle.read()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        raise CredentialsFileError(f"{path} is not UTF-8 text; AWS tools cannot read it either; fix it first (it was left as it is)") from None
    except OSError as exc:
        raise CredentialsFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        parse(text, str(path))
    except IniError as exc:
        raise CredentialsFileError(f"{path} is not a file AWS tools can read; fix it first (it was left as it is): {exc}") from None
    return text


def write_profiles(path: Path, profiles: dict[str, AwsCredentials]) -> None:
    """Write these profiles into the credentials file at `path`; CredentialsFileError when that is not possible."""
    with _writing():
        text = read_text(path)
        for name, credentials in profiles.items():
            text = replace_profile(text, name, credentials, str(path))
        try:
            write_private(path, text.encode("utf-8"))
        except OSError as exc:
            raise CredentialsFileError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def _writing() -> Iterator[None]:
    """Held from reading the credentials file to renaming its new text over it: two logins at once (to different
    profiles) would otherwise each write the file as it was before the other's, and one profile would be lost. The
    lock file is samlfed's own (under $XDG_CACHE_HOME/samlfed), not one more file in ~/.aws."""
    lock = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "samlfed" / "aws-credentials.lock"
    try:
        make_private_directories(lock.parent)  # $XDG_CACHE_HOME too, when missing: the XDG spec asks 0700 of it
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise CredentialsFileError(f"cannot lock {lock}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def render(credentials: AwsCredentials, style: str) -> str:
    """The credentials for a shell (`env`), PowerShell or as credential_process JSON (`json`)."""
    import json

    # Each also removes AWS_SECURITY_TOKEN, the session token's older name (saml2aws exports it too): botocore reads it
    # before AWS_SESSION_TOKEN, so one left from an earlier session would go with the new keys.
    if style == "env":
        return "\n".join([*(f"export {name}={shlex.quote(value)}" for name, value in _variables(credentials)), "unset AWS_SECURITY_TOKEN"])
    if style == "powershell":  # a single-quoted PowerShell string takes everything literally but '', its quote; $null removes
        return "\n".join([*(f"$Env:{name}='{value.replace(chr(39), chr(39) * 2)}'" for name, value in _variables(credentials)),
                          "$Env:AWS_SECURITY_TOKEN=$null"])
    if style == "json":
        return json.dumps(process_json(credentials))
    raise ValueError(f"unknown output style {style!r}")


def _variables(credentials: AwsCredentials) -> list[tuple[str, str]]:
    """Quoted on output although STS's answer is checked (`login.sts`): the values come from the network."""
    return [
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id), ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key),
        ("AWS_SESSION_TOKEN", credentials.session_token), ("AWS_CREDENTIAL_EXPIRATION", credentials.expiration_text),
    ]


def process_json(credentials: AwsCredentials) -> dict[str, object]:
    """The AWS `credential_process` document (Version 1)."""
    return {
        "Version": 1, "AccessKeyId": credentials.access_key_id, "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token, "Expiration": credentials.expiration_text,
    }

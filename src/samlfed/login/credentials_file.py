"""Writing profiles into `~/.aws/credentials` without touching anything else in the file.

configparser would re-format the whole file and drop comments, so a profile's section is replaced as text:
every byte outside it stays as it was. The write is atomic (a temporary file renamed over the old one) and the
file ends up owner-only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..files import write_private
from ..timestamps import aws_timestamp

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


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
    return Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials")


def _section_text(name: str, credentials: AwsCredentials, newline: str) -> str:
    lines = [
        f"[{name}]",
        f"aws_access_key_id = {credentials.access_key_id}",
        f"aws_secret_access_key = {credentials.secret_access_key}",
        f"aws_session_token = {credentials.session_token}",
        f"x_security_token_expires = {credentials.expiration_text}",
    ]
    return newline.join(lines) + newline


def replace_profile(text: str, name: str, credentials: AwsCredentials) -> str:
    """`text` with the section `[name]` replaced (or appended), every other byte unchanged."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if (m := _SECTION.match(line)) and m.group(1).strip() == name), None)
    section = _section_text(name, credentials, newline)
    if start is None:
        separator = "" if not text or text.endswith(("\n", "\r")) else newline
        blank = newline if text.strip() else ""
        return text + separator + blank + section
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])), len(lines))
    # Keep the blank lines and comments that precede the next section with that section.
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(("#", ";"))):
        end -= 1
    return "".join(lines[:start]) + section + "".join(lines[end:])


def write_profiles(path: Path, profiles: dict[str, AwsCredentials]) -> None:
    text = ""
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:  # newline="": keep the file's own line endings
            text = handle.read()
    for name, credentials in profiles.items():
        text = replace_profile(text, name, credentials)
    write_private(path, text.encode("utf-8"))


def render(credentials: AwsCredentials, style: str) -> str:
    """The credentials for a shell (`env`), PowerShell or as credential_process JSON (`json`)."""
    import json

    if style == "env":
        return (f"export AWS_ACCESS_KEY_ID={credentials.access_key_id}\nexport AWS_SECRET_ACCESS_KEY={credentials.secret_access_key}\n"
                f"export AWS_SESSION_TOKEN={credentials.session_token}\nexport AWS_CREDENTIAL_EXPIRATION={credentials.expiration_text}")
    if style == "powershell":
        return (f'$Env:AWS_ACCESS_KEY_ID="{credentials.access_key_id}"\n$Env:AWS_SECRET_ACCESS_KEY="{credentials.secret_access_key}"\n'
                f'$Env:AWS_SESSION_TOKEN="{credentials.session_token}"')
    if style == "json":
        return json.dumps(process_json(credentials))
    raise ValueError(f"unknown output style {style!r}")


def process_json(credentials: AwsCredentials) -> dict[str, object]:
    """The AWS `credential_process` document (Version 1)."""
    return {
        "Version": 1, "AccessKeyId": credentials.access_key_id, "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token, "Expiration": credentials.expiration_text,
    }

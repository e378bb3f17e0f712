"""Users of the built-in IdP: a YAML file, argon2id password hashes, optional TOTP."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyotp
import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..files import LARGE_FILE_LIMIT, read_at_most, write_private

USERNAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so that an unknown user costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("samlfed: no such user")


class DirectoryError(ValueError):
    """A directory file or a change to it is invalid."""


@dataclass
class User:
    username: str
    password_hash: str
    display_name: str = ""
    email: str = ""
    department: str = ""
    groups: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    """Further attributes (multi-valued) that claim rules can use."""
    totp_secret: str | None = None
    disabled: bool = False

    def attribute(self, name: str) -> list[str]:
        """Values of a named attribute: the fixed fields, `groups`, or an entry of `attributes`."""
        if name in ("username", "display_name", "email", "department"):
            value = getattr(self, name)
            return [value] if value else []
        if name == "groups":
            return list(self.groups)
        return list(self.attributes.get(name, []))

    def to_yaml(self) -> dict[str, Any]:
        data: dict[str, Any] = {"password_hash": self.password_hash}
        for key in ("display_name", "email", "department"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.groups:
            data["groups"] = list(self.groups)
        if self.attributes:
            data["attributes"] = {k: list(v) for k, v in self.attributes.items()}
        if self.totp_secret:
            data["totp_secret"] = self.totp_secret
        if self.disabled:
            data["disabled"] = True
        return data


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise DirectoryError("passwords have at least 8 characters")
    return _HASHER.hash(password)


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    # A number reads as its digits (an employee number); a YAML boolean does not: PyYAML reads an unquoted yes, no,
    # on, off, true or false as one, so `groups: [NO]` (Norway) would have been the group "False".
    if isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    raise DirectoryError(f"{what} must be a string or a list of strings (quote a value such as yes, no, on, off, true or false)")


def yaml_flag(data: dict[str, Any], name: str, where: str) -> bool:
    """A true/false setting, False when left out. Only a YAML boolean: a quoted "no" or "false" would be a non-empty
    string, true to bool(), so anything else is refused rather than guessed at."""
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise DirectoryError(f"{name} of {where} must be true or false, unquoted (a YAML boolean)")
    return value


USER_SETTINGS = ("password_hash", "display_name", "email", "department", "groups", "attributes", "totp_secret", "disabled")


def known_settings(data: dict[Any, Any], known: tuple[str, ...], where: str) -> None:
    """Refuse a setting samlfed does not read: a mistyped one (`disable: true`, `totp:`, `require_signed_request:`)
    was ignored without a word, leaving the user enabled, without a second factor, or the SP's requests unchecked."""
    unknown = sorted(str(name) for name in data if name not in known)
    if unknown:
        raise DirectoryError(f"{where} has unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}")


def yaml_text(data: dict[str, Any], name: str, where: str, default: str = "") -> str:
    """A text setting, `default` when left out or empty; a number reads as its digits. Anything else is refused:
    str() made text of its own of a list or mapping (`email: [a, b]` was asserted as "['a', 'b']")."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):  # PyYAML reads an unquoted yes, no, on, off, true or false as one
        raise DirectoryError(f"{name} of {where} must be text, not a YAML boolean (quote a value such as yes, no, on or off)")
    if not isinstance(value, (str, int)):
        raise DirectoryError(f"{name} of {where} must be text, not a {'list' if isinstance(value, list) else 'mapping' if isinstance(value, dict) else type(value).__name__}")
    return str(value)


def user_from_yaml(username: str, data: Any) -> User:
    if not USERNAME.fullmatch(username):
        raise DirectoryError(f"user name {username!r} is not 1-64 ASCII letters, digits or ._@+-")
    if not isinstance(data, dict) or not isinstance(data.get("password_hash"), str):
        raise DirectoryError(f"user {username!r} needs a password_hash (use `samlfed idp users add`)")
    known_settings(data, USER_SETTINGS, f"user {username!r}")
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise DirectoryError(f"attributes of user {username!r} must be a mapping")
    totp = data.get("totp_secret")
    if totp is not None and (not isinstance(totp, str) or not re.fullmatch(r"[A-Z2-7]{16,}", totp)):
        raise DirectoryError(f"totp_secret of user {username!r} is not a base32 secret")
    return User(
        username=username,
        password_hash=data["password_hash"],
        display_name=yaml_text(data, "display_name", f"user {username!r}"),
        email=yaml_text(data, "email", f"user {username!r}"),
        department=yaml_text(data, "department", f"user {username!r}"),
        groups=_strings(data.get("groups"), f"groups of user {username!r}"),
        attributes={str(k): _strings(v, f"attribute {k!r} of user {username!r}") for k, v in attributes.items()},
        totp_secret=totp,
        disabled=yaml_flag(data, "disabled", f"user {username!r}"),
    )


class TotpSteps(Protocol):
    def accept_totp_step(self, username: str, step: int) -> bool:
        """Record `step` as `username`'s last used one; False if it is not later than the last accepted."""
        ...


class ProcessTotpSteps:
    """The last accepted TOTP step per user, in this process only: for a directory used outside a serving IdP
    (commands, tests). The serving IdP shares the steps between its workers (state.IdpState)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def accept_totp_step(self, username: str, step: int) -> bool:
        with self._lock:
            if step <= self._last.get(username, -1):
                return False
            self._last[username] = step
            return True


def totp_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (RFC 6238) whose code `code` is: the current one or its neighbours (clock skew), else None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    matches = [step for step in (current - 1, current, current + 1) if pyotp.utils.strings_equal(code.strip(), totp.generate_otp(step))]
    return matches[-1] if matches else None  # the latest, should two steps share a code: never a reusable one


class Directory:
    """The `users:` section of the IdP's YAML file. Reads are from memory; writes replace the file atomically."""

    def __init__(self, users: dict[str, User], totp_steps: TotpSteps | None = None) -> None:
        self.users = users
        self.totp_steps: TotpSteps = totp_steps or ProcessTotpSteps()
        """Where used TOTP steps are remembered; the serving IdP puts its shared state here."""

    def get(self, username: str) -> User | None:
        return self.users.get(username)

    def authenticate(self, username: str, password: str, totp_code: str | None) -> User | None:
        """The user, if the password (and TOTP code, when the user has one) is right and the user is enabled.

        Every failure returns None after the same work, so a caller cannot tell them apart.
        """
        user, _ = self.sign_in(username, password, totp_code)
        return user

    def sign_in(self, username: str, password: str, totp_code: str | None) -> tuple[User | None, bool]:
        """(the user or None, whether the only thing missing is a one-time code).

        The second value is True only for an enabled user whose password was right and who sent no code at all,
        so that a client can ask for the second factor; a wrong code and every other failure look alike.
        """
        user = self.users.get(username)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
            password_ok = user is not None
        except (VerificationError, InvalidHashError):
            password_ok = False
        if not password_ok or user is None or user.disabled:
            return None, False
        if user.totp_secret and not totp_code:
            return None, True
        if user.totp_secret:
            # A code is accepted once, and never after a later one (RFC 6238 §5.2): a code seen by someone else
            # (shoulder, phishing proxy, log) cannot sign in again.
            step = totp_step(user.totp_secret, totp_code or "")
            if step is None or not self.totp_steps.accept_totp_step(user.username, step):
                return None, False
        return user, False


def load_users(section: Any) -> Directory:
    if section is None:
        return Directory({})
    if not isinstance(section, dict):
        raise DirectoryError("`users` must be a mapping of user name to user")
    return Directory({str(name): user_from_yaml(str(name), data) for name, data in section.items()})


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load's loader, refusing a key written twice in one mapping: PyYAML keeps the last silently, so a user
    listed again further down (`disabled: true` above, say) replaced the first entry unseen. Keys merged in by `<<`
    may still be overridden, as YAML means them to be."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the constructor below says so
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found key {key!r} more than once", key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = read_at_most(path, LARGE_FILE_LIMIT).decode("utf-8") if path.exists() else ""
    except OSError as exc:
        raise DirectoryError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DirectoryError(f"{path.name} is not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data only, as safe_load
    except yaml.YAMLError as exc:
        raise DirectoryError(f"{path.name} is not valid YAML: {yaml_problem(exc)}") from None
    except RecursionError:  # PyYAML composes nested collections recursively: thousands of `[` exhaust the stack
        raise DirectoryError(f"{path.name} nests lists or mappings too deeply to be read") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DirectoryError(f"{path.name} must hold a mapping at the top level")
    return data


def yaml_problem(exc: yaml.YAMLError) -> str:
    """What YAML found wrong and where, in one line. Not its own message: that quotes the offending line of the
    file, which may hold a password hash or TOTP secret, and this reaches the IdP's pages and log."""
    if isinstance(exc, yaml.MarkedYAMLError):
        what = ", ".join(part for part in (exc.context, exc.problem) if part) or "not YAML"
        mark = exc.problem_mark or exc.context_mark
        return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark else what
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def holds_comments(path: Path) -> bool:
    """Whether the YAML file has a comment: a `#` outside every scalar. `write_yaml` does not keep them."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if "#" not in text:
        return False
    try:
        scalars = [(t.start_mark.index, t.end_mark.index) for t in yaml.scan(text) if isinstance(t, yaml.ScalarToken)]
    except yaml.YAMLError:
        return True  # read_yaml refuses such a file before anything rewrites it
    return any(not any(start <= at < end for start, end in scalars) for at, char in enumerate(text) if char == "#")


def write_yaml(path: Path, data: dict[str, Any], *, before_replace: Callable[[], None] | None = None) -> None:
    """Write atomically with owner-only permissions: the file holds password hashes and TOTP secrets.
    `before_replace` (files.write_private) may refuse the write at the last moment by raising."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")
    write_private(path, text, parent_mode=0o777, before_replace=before_replace)

"""Policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`, `${saml:sub, 'none'}`, `${*}`, `${?}`, `${$}`)
and the IAM wildcard patterns they appear in.

IAM User Guide, "IAM policy elements: Variables and tags": variables are replaced only in policies with
Version 2012-10-17, in Resource/NotResource and in condition values; a variable whose key is missing (and has
no default) makes that value match nothing; a multivalued key cannot be a variable; `${*}`, `${?}` and `${$}`
stand for the literal characters. A substituted value is literal text, never a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

Context = Mapping[str, Sequence[str]]
"""Request context: lower-cased condition key → its values (a single-valued key is a one-element list)."""

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string split into literal text, wildcards and variables."""

    parts: tuple[tuple[str, str], ...]
    """('text', s) literal text, ('wild', '*'|'?') an IAM wildcard, ('var', key) with key lower-cased,
    ('default', key + '\\x00' + default)."""

    @property
    def has_variables(self) -> bool:
        return any(kind in ("var", "default") for kind, _ in self.parts)


@lru_cache(maxsize=8192)
def template(text: str, *, with_variables: bool) -> Template:
    parts: list[tuple[str, str]] = []

    def literal(chunk: str) -> None:
        for piece in re.split(r"([*?])", chunk):
            if piece in ("*", "?"):
                parts.append(("wild", piece))
            elif piece:
                parts.append(("text", piece))

    position = 0
    for match in (_VARIABLE.finditer(text) if with_variables else ()):
        literal(text[position:match.start()])
        inner = match.group(1)
        if inner in _SPECIAL:
            parts.append(("text", _SPECIAL[inner]))
        else:
            key, default = _key_and_default(inner)
            parts.append(("var", key.lower()) if default is None else ("default", key.lower() + "\x00" + default))
        position = match.end()
    literal(text[position:])
    return Template(tuple(parts))


def _key_and_default(inner: str) -> tuple[str, str | None]:
    """A variable's key as written and its default (None without one), from what stands between `${` and `}`."""
    default = _DEFAULT.match(inner)
    return (default.group(1), default.group(2)) if default is not None else (inner.strip(), None)


def written_keys(text: str) -> tuple[str, ...]:
    """The keys of the string's variables as the policy spells them (lookups lower-case them; a simulation reports
    the keys it missed as written, as it does condition keys)."""
    return tuple(_key_and_default(match.group(1))[0] for match in _VARIABLE.finditer(text) if match.group(1) not in _SPECIAL)


def _value(kind: str, value: str, context: Context) -> str | None:
    key, _, default = value.partition("\x00")
    values = context.get(key)
    if values is not None and len(values) == 1:
        return values[0]
    return default if kind == "default" and not values else None


def resolve(text: str, context: Context, *, with_variables: bool) -> str | None:
    """The string with variables replaced (wildcards kept as they are), or None when a variable is missing."""
    out = []
    for kind, value in template(text, with_variables=with_variables).parts:
        if kind in ("text", "wild"):
            out.append(value)
        else:
            resolved = _value(kind, value, context)
            if resolved is None:
                return None
            out.append(resolved)
    return "".join(out)


def _glob_regex(parts: tuple[tuple[str, str], ...]) -> str:
    """An IAM wildcard pattern as a regex for fullmatch that cannot backtrack more than linearly per `*`.

    Written naively (`.*` for each `*`), a pattern such as `b/*a*a*a*a*b` backtracks through every way of
    splitting the value: minutes for one resource of 60 characters. A glob matches if and only if it matches with
    every segment between two `*` at its leftmost place (taking less never hurts what follows), so each such
    segment is found lazily and committed to in an atomic group; only the last `*` backtracks, once.
    """
    segments: list[str] = [""]
    for kind, value in parts:
        if kind == "wild" and value == "*":
            segments.append("")
        else:
            segments[-1] += "." if kind == "wild" else re.escape(value)
    if len(segments) == 1:
        return segments[0]
    first, *middle, last = segments
    return first + "".join(f"(?>.*?{segment})" for segment in middle if segment) + ".*" + last


_STAR, _ONE = "(*)", "(?)"  # the wildcards among _arn_glob_regex's items, each other item one literal character


def _arn_glob_regex(parts: tuple[tuple[str, str], ...]) -> str:
    """A Resource pattern as a regex for fullmatch, with the IAM User Guide's rule for wildcards in ARNs
    ("IAM JSON policy elements: Resource"): `*` and `?` match "within the individual segments of an ARN (the parts
    separated by colons)", but "if the * wildcard is the last character of a resource ARN segment, it can expand
    to match beyond the colon boundaries". So `function:*-prod` does not match `function:dev:alias-prod`.

    Linear as _glob_regex is: a segment-final `*` is followed by ':', so the text up to the next such `*` (a chunk)
    can only start at a colon of the value, and the first place it matches is committed to in an atomic group; a
    `*` inside a segment cannot cross a colon, so committing to the first place of the text after it is safe too.
    """
    items: list[str] = []
    for kind, value in parts:
        if kind == "wild":
            if not (value == "*" and items and items[-1] == _STAR):  # `**` is one `*`
                items.append(_STAR if value == "*" else _ONE)
        else:
            items.extend(value)
    chunks: list[list[str]] = [[]]  # split at the segment-final `*`s, which may cross colons
    for index, item in enumerate(items):
        if item == _STAR and (index + 1 == len(items) or items[index + 1] == ":"):
            chunks.append([])
        else:
            chunks[-1].append(item)

    def within_segments(chunk: list[str]) -> str:
        pieces = [""]
        for item in chunk:
            if item == _STAR:
                pieces.append("")
            else:
                pieces[-1] += "[^:]" if item == _ONE else re.escape(item)
        if len(pieces) == 1:
            return pieces[0]
        first, *middle, last = pieces
        return first + "".join(f"(?>[^:]*?{piece})" for piece in middle if piece) + "[^:]*" + last

    if len(chunks) == 1:
        return within_segments(chunks[0])
    first, *middle, last = (within_segments(chunk) for chunk in chunks)
    return first + "".join(f"(?>.*?{chunk})" for chunk in middle) + ".*" + last


def alternation(patterns: tuple[str, ...], *, ignore_case: bool, arn: bool = False) -> re.Pattern[str]:
    """One compiled regex matching any of the IAM wildcard patterns (no variables), for the hot path. `arn`: the
    patterns are Resources, whose wildcards keep to ARN segments (_arn_glob_regex)."""
    glob = _arn_glob_regex if arn else _glob_regex
    body = "|".join("(?:" + glob(template(p, with_variables=False).parts) + ")" for p in patterns)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@lru_cache(maxsize=16384)
def _regex(parts: tuple[tuple[str, str], ...], ignore_case: bool, arn: bool) -> re.Pattern[str]:
    return re.compile((_arn_glob_regex if arn else _glob_regex)(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def concrete_parts(text: str, context: Context, *, with_variables: bool) -> tuple[tuple[str, str], ...] | None:
    """The pattern's parts with each variable replaced by its value as literal text; None when one is missing."""
    parsed = template(text, with_variables=with_variables)
    if not parsed.has_variables:
        return parsed.parts
    concrete = []
    for kind, item in parsed.parts:
        if kind in ("var", "default"):
            resolved = _value(kind, item, context)
            if resolved is None:
                return None
            concrete.append(("text", resolved))
        else:
            concrete.append((kind, item))
    return tuple(concrete)


def parts_match(parts: tuple[tuple[str, str], ...], value: str, *, ignore_case: bool = False, arn: bool = False) -> bool:
    return _regex(parts, ignore_case, arn).fullmatch(value) is not None


def pattern_matches(
    text: str, value: str, context: Context, *, with_variables: bool, ignore_case: bool = False, arn: bool = False,
) -> bool:
    """IAM wildcard match of `value` against the policy string `text`, variables substituted as literal text.
    `arn`: `text` is a Resource, whose wildcards keep to ARN segments (_arn_glob_regex)."""
    parts = concrete_parts(text, context, with_variables=with_variables)
    return parts is not None and parts_match(parts, value, ignore_case=ignore_case, arn=arn)  # a missing variable matches nothing


def arn_pattern_matches(text: str, value: str, context: Context, *, with_variables: bool) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated ARN parts matched on its own (a wildcard does not cross a
    colon), with variables substituted as literal text and `${*}`/`${?}` literal characters, as in StringLike."""
    parts = concrete_parts(text, context, with_variables=with_variables)
    values = value.split(":", 5)
    if parts is None or len(values) != 6:
        return False
    segments: list[list[tuple[str, str]]] = [[]]
    for kind, item in parts:
        if kind != "text" or ":" not in item:
            segments[-1].append((kind, item))
            continue
        for index, piece in enumerate(item.split(":")):
            if index:
                segments.append([])
            if piece:
                segments[-1].append(("text", piece))
    if len(segments) > 6:  # the last ARN part (the resource) may hold colons of its own
        segments[5:] = [[*segments[5], *[p for rest in segments[6:] for p in [("text", ":"), *rest]]]]
    if len(segments) != 6:
        return False
    return all(parts_match(tuple(segment), part) for segment, part in zip(segments, values, strict=True))

"""The AWS attributes of a verified assertion: Role pairs, RoleSessionName, SourceIdentity, duration and tags.

Rules from aws-saml-contract.md §3.5-3.8. Each function raises `SamlValidationError` with the AWS message.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree

from ..arn_syntax import PROVIDER_ARN, ROLE_ARN
from . import constants as c
from .checks import AwsError
from .errors import SamlValidationError
from .model import RolePair

SESSION_NAME_PATTERN = "[a-zA-Z_0-9+=,.@-]{2,64}"
SESSION_NAME = re.compile(SESSION_NAME_PATTERN)
_ASCII_WS = " \t\r\n"
_TAG_EXTRA_CHARS = frozenset("_.:/=+-@")
MAX_TAGS = 50


def single_value(attributes: dict[str, tuple[str, ...]], name: str, check_id: str, aws: AwsError | None = None) -> str | None:
    """The one value of a single-valued AWS attribute, or None when absent. Several values are refused with `aws`
    (default: the check's own error)."""
    values = attributes.get(name)
    if values is None:
        return None
    if len(values) != 1:
        short = name.removeprefix(c.AWS_ATTR_PREFIX)
        raise SamlValidationError(
            check_id, f"{short} must have exactly one value; it has {len(values)}",
            hint=f"Send {short} as exactly one AttributeValue; a rule that maps it from a multi-valued attribute sends several.", aws=aws,
        )
    return trimmed(values[0])


def trimmed(value: str) -> str:
    """An attribute value without the ASCII whitespace IdPs and pretty-printers put around it (contract §3.5); other
    white space (U+00A0 …) is the value's own."""
    return value.strip(_ASCII_WS)


_SESSION_NAME_MISMATCH = AwsError("InvalidIdentityToken", 400, f"RoleSessionName in AuthnResponse must match {SESSION_NAME_PATTERN}")


def _why_not_a_session_name(value: str) -> str:
    outside = sorted({ch for ch in value if not SESSION_NAME.fullmatch(ch * 2)})
    if outside:
        return f"it holds {', '.join(map(repr, outside[:10]))}, which {'is' if len(outside) == 1 else 'are'} not allowed"
    count = f"{len(value)} character{'' if len(value) == 1 else 's'}"
    return f"it has {count}, " + ("at least 2 are needed" if len(value) < 2 else "at most 64 are allowed")


NAMES_LISTED_AT_MOST = 20


def attribute_names(attributes: dict[str, tuple[str, ...]]) -> str:
    """What the assertion has instead of a missing AWS attribute: its attribute names (at most NAMES_LISTED_AT_MOST),
    so that a claim sent under another name, or not at all, shows in the message itself."""
    names = list(attributes)
    if not names:
        return "the assertion has no attributes"
    shown = ", ".join(map(repr, names[:NAMES_LISTED_AT_MOST]))
    more = f" and {len(names) - NAMES_LISTED_AT_MOST} more" if len(names) > NAMES_LISTED_AT_MOST else ""
    return f"the assertion's attributes are {shown}{more}"


def role_session_name(attributes: dict[str, tuple[str, ...]]) -> str:
    # Two values are a RoleSessionName that is there but is no session name: AWS's "must match", not "is required".
    value = single_value(attributes, c.AWS_ROLE_SESSION_NAME, "aws.role_session_name", aws=_SESSION_NAME_MISMATCH)
    if value is None:
        raise SamlValidationError(
            "aws.role_session_name",
            f"the RoleSessionName attribute is missing; {attribute_names(attributes)}",
            hint=f"Add an attribute named {c.AWS_ROLE_SESSION_NAME} (for example the user's email or login name); AWS requires it.",
        )
    if not SESSION_NAME.fullmatch(value):
        raise SamlValidationError(
            "aws.role_session_name",
            f"RoleSessionName {value!r} does not match {SESSION_NAME_PATTERN}: {_why_not_a_session_name(value)}",
            hint="Map RoleSessionName from an attribute without spaces, 2 to 64 characters, such as the email address.",
            aws=_SESSION_NAME_MISMATCH,
        )
    return value


def source_identity(attributes: dict[str, tuple[str, ...]]) -> str | None:
    value = single_value(attributes, c.AWS_SOURCE_IDENTITY, "aws.source_identity")
    if value is not None and value.lower().startswith("aws:"):
        raise SamlValidationError(
            "aws.source_identity",
            f"SourceIdentity {value!r} begins with aws:, a prefix reserved for AWS",
            hint="The aws: prefix (in any case) is reserved for AWS: map SourceIdentity from a value that does not start with it, such as the user name or email.",
        )
    if value is not None and not SESSION_NAME.fullmatch(value):
        raise SamlValidationError(
            "aws.source_identity",
            f"SourceIdentity {value!r} does not match {SESSION_NAME_PATTERN}",
            hint="SourceIdentity is usually the user name or email; it cannot contain spaces.",
        )
    return value


def session_seconds(text: str) -> int | None:
    """A SessionDuration, as the SAML attribute and the federation endpoint's parameter take it: an integer from 900
    to 43200 in at most nine ASCII digits; None for anything else."""
    # The length bound comes first: int() refuses strings of over 4,300 digits with a ValueError.
    if len(text) > 9 or not text.isascii() or not text.isdigit():
        return None
    seconds = int(text)
    return seconds if 900 <= seconds <= 43200 else None


def session_duration(attributes: dict[str, tuple[str, ...]]) -> int | None:
    value = single_value(attributes, c.AWS_SESSION_DURATION, "aws.session_duration")
    if value is None:
        return None
    seconds = session_seconds(value)
    if seconds is None:
        raise SamlValidationError(
            "aws.session_duration",
            f"SessionDuration {value!r} is not an integer from 900 to 43200",
            hint="SessionDuration is a number of seconds between 900 (15 minutes) and 43200 (12 hours).",
        )
    return seconds


_ASCII_TAG_TEXT = re.compile(r"[A-Za-z0-9 _.:/=+\-@]*")


def _valid_tag_text(text: str) -> bool:
    """Letters, separators and numbers of any script, plus _.:/=+-@ (AWS's \\p{L}\\p{Z}\\p{N} pattern)."""
    if text.isascii() and text.isalnum():  # the commonest case in C, a tenth of the regex's call
        return True
    if _ASCII_TAG_TEXT.fullmatch(text):  # the common case, without a per-character lookup
        return True
    return all(ch in _TAG_EXTRA_CHARS or unicodedata.category(ch)[0] in "LZN" for ch in text)


def is_valid_tag_key(key: str) -> bool:
    return 1 <= len(key) <= 128 and _valid_tag_text(key) and not key.lower().startswith("aws:")


def is_valid_tag_value(value: str) -> bool:
    return len(value) <= 256 and _valid_tag_text(value)


def _bad_tags(message: str) -> SamlValidationError:
    return SamlValidationError(
        "aws.session_tags",
        message,
        hint="Session tags: at most 50, keys 1-128 and values 0-256 characters of letters, digits, spaces and _.:/=+-@, no aws: prefix.",
    )


def session_tags(attributes: dict[str, tuple[str, ...]]) -> tuple[dict[str, str], tuple[str, ...]]:
    """PrincipalTag:* attributes and TransitiveTagKeys, with AWS's limits (a transitive key may name a tag that the
    provider's attribute mapping adds: `sts.trust_context.requested_tags` checks that each names one)."""
    tags: dict[str, str] = {}
    seen: set[str] = set()
    prefix = c.AWS_PRINCIPAL_TAG_PREFIX
    for name in attributes:
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):]
        folded = key.lower()
        value = single_value(attributes, name, "aws.session_tags") or ""
        if not 1 <= len(key) <= 128 or not _valid_tag_text(key):
            raise _bad_tags(f"session tag key {key!r} is not 1-128 allowed characters")
        if folded.startswith("aws:"):
            raise _bad_tags(f"session tag key {key!r} uses the reserved aws: prefix")
        if len(value) > 256 or not _valid_tag_text(value):
            raise _bad_tags(f"the value of session tag {key!r} is not 0-256 allowed characters")
        if folded in seen:
            raise _bad_tags(f"session tag key {key!r} is repeated (tag keys are case-insensitive)")
        seen.add(folded)
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise _bad_tags(f"{len(tags)} session tags; at most {MAX_TAGS} are allowed")
    transitive = tuple([v.strip(_ASCII_WS) for v in attributes.get(c.AWS_TRANSITIVE_TAG_KEYS, ())])
    for key in transitive:  # that each names a session tag is checked once the provider's mapping has added its own
        if not is_valid_tag_key(key):
            raise _bad_tags(f"TransitiveTagKeys names {key!r}, which is not a valid session tag key")
    return tags, transitive


def role_pairs(values: tuple[str, ...]) -> tuple[tuple[RolePair, ...], list[str], list[str]]:
    """Parse Role attribute values into (pairs, problems, warnings).

    Each value is one `role,provider` pair in either order, classified by resource type, never by position (a
    role whose name holds commas too: see `comma_named_pair`).
    A value that is not one pair but several separated by semicolons is accepted with a warning (contract §11;
    AWS itself would not): see `joined_pairs`.
    """
    pairs: list[RolePair] = []
    problems: list[str] = []
    warnings: list[str] = []
    for raw in values:
        value = raw.strip(_ASCII_WS)
        pair = _parse_pair(value)
        if not isinstance(pair, str):
            found = [pair]
        elif (joined := joined_pairs(value)) is not None:
            found = joined
            warnings.append(
                f"Role value {value!r} holds {len(joined)} semicolon-separated pairs; samlfed accepts it but AWS expects one pair per AttributeValue"
            )
        else:
            problems.append(_unpaired(value, pair))
            continue
        pairs.extend(p for p in found if p not in pairs)
    return tuple(pairs), problems, warnings


def joined_pairs(value: str) -> list[RolePair] | None:
    """The pairs of a Role value that AWS cannot read as one pair but that holds pairs separated by semicolons,
    each piece a pair; otherwise None.

    AWS's reading comes first: a role path may hold ";" (`role/ops;eu/Deployer`), and such a value is one pair.
    And a value is read whole or not at all: one piece that is no pair voids the others, or a role path holding
    ";" and an ARN (`role/x;arn:aws:iam::…:role/Admin,provider`, a role AWS reads with the path
    `/x;arn:aws:iam::…:role/`) would grant a different role, Admin."""
    if ";" not in value or not isinstance(_parse_pair(value.strip(_ASCII_WS)), str):
        return None
    pieces = [_parse_pair(piece.strip(_ASCII_WS)) for piece in value.split(";") if piece.strip(_ASCII_WS)]
    pairs = [piece for piece in pieces if not isinstance(piece, str)]
    return pairs if pieces and len(pairs) == len(pieces) else None


def _unpaired(value: str, problem: str) -> str:
    """The problem of a value that is no pair: with semicolons in it, that of its first piece that is no pair."""
    if ";" not in value:
        return problem
    pieces = (_parse_pair(piece.strip(_ASCII_WS)) for piece in value.split(";") if piece.strip(_ASCII_WS))
    first = next((piece for piece in pieces if isinstance(piece, str)), problem)
    return f"Role value {value!r} is neither one 'role ARN,provider ARN' pair nor pairs separated by semicolons: {first}"


def named_role_pairs(root: etree._Element) -> tuple[RolePair, ...]:
    """The pairs the Role attribute of an UNVERIFIED document names, in document order: only a hint of whom to
    ask or what to offer (the console picks providers by it, the login client lists roles); never a grant."""
    values = tuple(
        value.text or ""
        for attribute in root.iter(c.ATTRIBUTE)
        if attribute.get("Name") == c.AWS_ROLE
        for value in attribute.iter(c.ATTRIBUTE_VALUE)
    )
    return role_pairs(values)[0]


def _parse_pair(value: str) -> RolePair | str:
    pieces = value.split(",")
    if len(pieces) != 2:
        return comma_named_pair(value) or f"Role value {value!r} is not one 'role ARN,provider ARN' pair separated by a comma"
    first, second = pieces[0].strip(_ASCII_WS), pieces[1].strip(_ASCII_WS)
    # A role ARN (":role/") is never a provider ARN (":saml-provider/"), so one role and one provider means:
    # one piece is a role, and the other a provider.
    # A role ARN holds ":role/": testing that first skips the regex on the provider ARN of a swapped pair.
    if ":role/" in first and ROLE_ARN.fullmatch(first):
        role, provider = first, second
    elif ROLE_ARN.fullmatch(second):
        role, provider = second, first
    else:
        role = provider = ""
    if not role or not PROVIDER_ARN.fullmatch(provider):
        return f"Role value {value!r} does not hold exactly one role ARN and one saml-provider ARN"
    return RolePair(role, provider)


def comma_named_pair(value: str) -> RolePair | None:
    """The pair of a value whose role name holds commas (IAM's role names may: `[\\w+=,.@-]`), or None.

    Still one reading only: a provider's name holds no comma (`[\\w._-]`), so the comma between the two ARNs is the
    last one when the role comes first and the first one when the provider does, and both cannot fit (a role ARN
    never begins like a provider ARN). Commas are taken as the role's only in its name: a role path may hold any
    printable character, so with commas there too `R1,P1,R2,P2` (pairs joined with commas by mistake) would read
    as one role whose path is `/…,…:saml-provider/…,…:role/`, and not be reported as the mistake it is."""
    head, _, last = value.rpartition(",")
    first, _, rest = value.partition(",")
    for role, provider in ((head, last), (rest, first)):
        role, provider = role.strip(_ASCII_WS), provider.strip(_ASCII_WS)
        match = ROLE_ARN.fullmatch(role)
        if match and "," not in match["path"] and PROVIDER_ARN.fullmatch(provider):
            return RolePair(role, provider)
    return None

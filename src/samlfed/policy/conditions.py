"""IAM condition operators, with the `...IfExists` suffix and the `ForAnyValue:`/`ForAllValues:` set qualifiers.

Semantics follow the IAM User Guide (condition operators; single- and multivalued context keys):
* condition key names are case-insensitive; a context maps lower-cased keys to lists of values;
* a missing key makes positive operators false and negated operators true, `...IfExists` true, and
  `ForAllValues` true (an empty set satisfies it) but `ForAnyValue` false;
* a key whose values are all empty (none, or only empty strings) is null to `Null` and an empty set to the set
  qualifiers, so the documented guard `Null: false` keeps it from satisfying `ForAllValues`;
* a single-valued operator on a multivalued key: positive operators match if any value matches, negated
  operators if no value matches the policy's values.
* a key with an empty list of values (`{"StringEquals": {"k": []}}`, which IAM accepts) has no policy value to
  match: positive operators never match it, negated ones ("equal to none of no values") hold, as they did before
  IAM's acceptance was known here (a stored policy must evaluate as it did);
* an operator with no keys (`{"DateGreaterThan": {}}`, even an unknown name: `{"a": {}}`) constrains nothing;
* a key without a vendor prefix ("a") is a context key like any other: absent unless the request gives it.
An operator this engine does not know, given keys, is refused when the policy is parsed, never ignored.

A value this engine cannot read, in the policy ("10.0.0.0/33", a Numeric "abc", a date it cannot place) or in the
request (a session tag "five" under a Numeric operator), leaves its comparison unknown; AWS documents no answer.
Taken as "no match", it made negated operators hold: an Allow on `NotIpAddress "10.0.0.0/33"` allowed every request,
and a Deny on `IpAddress "10.0.0.0/33"` denied none. An unknown now fails an Allow's condition whenever some answer
to it would, and holds a Deny's whenever some answer would. A condition ORs its comparisons (NOR when negated) and
ANDs or ORs them over the request's values, with or without a set qualifier: it only grows with its comparisons (only
shrinks, negated), so an unknown comparison counts as a match in a Deny's positive operator and in an Allow's negated
one, and as none otherwise. `...IfExists` on an absent key and `Null` compare no value. Readable values compare as
they always did.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

from .variables import Context, arn_pattern_matches, pattern_matches, resolve, written_keys

__all__ = ["Condition", "Context", "parse_conditions", "wildcard_match"]


_Value = TypeVar("_Value", Decimal, datetime)  # what the Numeric and Date operators compare


class UnknownOperator(ValueError):
    pass


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    return pattern_matches(pattern, value, {}, with_variables=False, ignore_case=ignore_case)


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
"""An integer or decimal, also as Python prints a JSON float policy value (`1e+21`)."""


def _number(text: str) -> Decimal:
    """The exact value: floats would make 9007199254740993 equal 9007199254740992. What `float()` also takes
    (`nan`, `inf`, `1_000`, surrounding spaces, non-ASCII digits) is not a number: an unknown (module docstring)."""
    if not _NUMBER.fullmatch(text):
        raise ValueError("not a number")
    return Decimal(text)


def _date(text: str) -> datetime:
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", text, re.ASCII):  # epoch seconds, signed as IAM accepts them
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (OverflowError, OSError):  # epoch seconds beyond what a datetime holds: not a date
            raise ValueError("not a date") from None
    if re.fullmatch(r"\d{4}-\d{2}", text, re.ASCII):  # W3C's ISO 8601 profile also has YYYY-MM: its first instant
        text += "-01"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _written_date(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _written_date(text: str) -> datetime:
    """A date IAM accepts (`written.is_policy_date`) that fromisoformat does not read: one-digit fields
    ("2026-1-5T2:00:00Z"), a lower-case "z", a "+" before the year, an offset in whole hours ("+23"), a bare "T".
    Unread, such a date matched no time, and a Deny written with it never applied. Years of fewer than four digits
    ("01T") are left unread, as before."""
    from .written import ISO_DATE  # written imports this module

    if text.startswith("-"):
        raise ValueError("a year before 1 is no datetime")
    match = ISO_DATE.fullmatch(text)
    if match is None or len(match["year"]) < 4:
        raise ValueError("not a date")
    number = {name: int(match[name]) if match[name] else 0 for name in ("hour", "minute", "second", "offset_hours", "offset_minutes")}
    fraction = match["fraction"] or ""
    sign = -1 if match["sign"] == "-" else 1
    offset = timedelta(hours=number["offset_hours"], minutes=number["offset_minutes"]) * sign
    return datetime(
        int(match["year"]), int(match["month"] or 1), int(match["day"] or 1), number["hour"], number["minute"], number["second"],
        int(fraction[:6].ljust(6, "0")), tzinfo=timezone(offset),
    )


def _arn_like(pattern: str, value: str) -> bool:
    return arn_pattern_matches(pattern, value, {}, with_variables=False)


def _ip(policy: str, value: str) -> bool:
    """`value` in the policy's network. An IPv4-mapped IPv6 address (::ffff:192.0.2.1, what a dual-stack listener
    reports for an IPv4 client) is also that IPv4 address: AWS sees the client's IPv4 address, and a Deny on an IPv4
    range must not be escaped by connecting to a dual-stack socket."""
    address = ipaddress.ip_address(value)
    network = ipaddress.ip_network(policy, strict=False)
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address in network or (mapped is not None and mapped in network)


def _binary(policy: str, value: str) -> bool:
    return base64.b64decode(policy, validate=True) == base64.b64decode(value, validate=True)


def _single(mapped: str, character: str) -> str:
    """A case mapping that stays one character, else the character itself: Java's simple mappings, where Python's full
    ones write some characters as two ("ß".upper() is "SS")."""
    return mapped if len(mapped) == 1 else character


def _folded(character: str) -> str:
    """Java's Character.toLowerCase(Character.toUpperCase(c)): "İ" is the one letter whose simple lower case ("i") is
    not the start of its full one. Equal to Java 17's for every code point but the 40 added by Unicode 14, which
    Java 17 does not know (compared once over all of them)."""
    upper = _single(character.upper(), character)
    return "i" if upper == "\u0130" else _single(upper.lower(), upper)


def equals_ignore_case(policy: str, value: str) -> bool:
    """StringEqualsIgnoreCase as IAM, a Java service, compares (String.equalsIgnoreCase): the same length, and at each
    position the same letter up to case. Not str.casefold, which equates "straße" with "STRASSE" and "ﬁ" with "FI":
    a policy would then match values IAM's would not."""
    if len(policy) != len(value):
        return False
    if policy.isascii() and value.isascii():
        return policy.lower() == value.lower()
    return all(p == v or _folded(p) == _folded(v) for p, v in zip(policy, value, strict=True))


def _compare(convert: Callable[[str], _Value], test: Callable[[_Value, _Value], bool]) -> Callable[[str, str], bool]:
    def match(policy: str, value: str) -> bool:
        return test(convert(value), convert(policy))

    return match


# name → (matches one policy value against one context value, negated operator?)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (equals_ignore_case, True),
    "StringLike": (lambda p, v: wildcard_match(p, v), False),
    "StringNotLike": (lambda p, v: wildcard_match(p, v), True),
    "NumericEquals": (_compare(_number, lambda v, p: v == p), False),
    "NumericNotEquals": (_compare(_number, lambda v, p: v == p), True),
    "NumericLessThan": (_compare(_number, lambda v, p: v < p), False),
    "NumericLessThanEquals": (_compare(_number, lambda v, p: v <= p), False),
    "NumericGreaterThan": (_compare(_number, lambda v, p: v > p), False),
    "NumericGreaterThanEquals": (_compare(_number, lambda v, p: v >= p), False),
    "DateEquals": (_compare(_date, lambda v, p: v == p), False),
    "DateNotEquals": (_compare(_date, lambda v, p: v == p), True),
    "DateLessThan": (_compare(_date, lambda v, p: v < p), False),
    "DateLessThanEquals": (_compare(_date, lambda v, p: v <= p), False),
    "DateGreaterThan": (_compare(_date, lambda v, p: v > p), False),
    "DateGreaterThanEquals": (_compare(_date, lambda v, p: v >= p), False),
    "Bool": (lambda p, v: p.lower() == v.lower(), False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    # "ArnEquals and ArnLike behave identically" (IAM condition operators): wildcards per ARN part in both.
    "ArnEquals": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnLike": (_arn_like, False),
    "ArnNotLike": (_arn_like, True),
}


_PATTERN_MATCHERS = {
    "StringLike": pattern_matches, "StringNotLike": pattern_matches,
    "ArnLike": arn_pattern_matches, "ArnNotLike": arn_pattern_matches, "ArnEquals": arn_pattern_matches, "ArnNotEquals": arn_pattern_matches,
}
"""The wildcard operators: with variables, their values are matched as patterns in which a substituted value and
`${*}`/`${?}` are literal text (substituting first and matching after would make them wildcards)."""
_VARIABLE_OPERATORS = ("String", "Arn", "Bool")
"""Policy variables are substituted only in these operators' values; in Numeric, Date, IP address and Binary
conditions "${…}" is literal text (IAM User Guide, policy variables), which matches nothing."""


@dataclass(frozen=True)
class Condition:
    operator: str
    qualifier: str | None
    """'ForAnyValue', 'ForAllValues' or None."""
    if_exists: bool
    key: str
    """Lower-cased: condition key names are case-insensitive."""
    values: tuple[str, ...]
    name: str = ""
    """The key as the policy wrote it (for MissingContextValues)."""

    def matches(self, context: Context, *, effect: str, with_variables: bool = False) -> bool:
        """Whether the condition holds in a statement of this `effect` ("Allow" or "Deny"), which decides a
        comparison of a value this engine cannot read (module docstring)."""
        present = self.key in context
        values = context.get(self.key, ())
        if self.operator == "Null":
            # "true": the key is absent or null; "false": "the context key in the request exists and its value is not
            # null", which the IAM User Guide gives as the guard that keeps "missing context keys or context keys with
            # empty values" from satisfying ForAllValues: so a key with only empty values is null here too.
            null = _empty(values)
            return any(null == (v.lower() == "true") for v in self.values)
        if not present and self.if_exists:
            # "If the key is not present, evaluate the condition element as true", whatever its values hold: the IAM
            # User Guide gives ...IfExists as the way to keep a variable without a value from invalidating a statement.
            return True
        # A value whose variable has no value is "effectively null" (IAM User Guide, policy variables with no value):
        # it equals and is like nothing, so StringEquals/StringLike do not match it and the inverted operators
        # (StringNotEquals, StringNotLike...) do. AWS's own example is a Deny on StringNotEquals
        # "${aws:PrincipalTag/Team}" that must deny a principal without the tag.
        with_variables = with_variables and self.operator.startswith(_VARIABLE_OPERATORS) and any("${" in v for v in self.values)
        one = self._tester(context, with_variables, effect)
        if self.qualifier is not None:
            if _empty(values):  # "an empty data set (for example, an empty string)": no values
                values = ()
            if self.qualifier == "ForAllValues":
                return all(one(v) for v in values)
            return any(one(v) for v in values)
        if not present:
            return _OPERATORS[self.operator][1]
        negated = _OPERATORS[self.operator][1]
        return all(one(v) for v in values) if negated else any(one(v) for v in values)

    def _tester(self, context: Context, with_variables: bool, effect: str) -> Callable[[str], bool]:
        test, negated = _OPERATORS[self.operator]
        unreadable_matches = (effect == "Deny") != negated  # fails an Allow's condition, holds a Deny's
        policy_values: Sequence[str] = self.values
        if with_variables:  # a value with a variable that has no value matches nothing: it is dropped
            matcher = _PATTERN_MATCHERS.get(self.operator)
            if matcher is not None:
                def like(value: str) -> bool:
                    hit = any(matcher(p, value, context, with_variables=True) for p in self.values)
                    return not hit if negated else hit

                return like
            policy_values = [r for r in (resolve(v, context, with_variables=True) for v in self.values) if r is not None]

        def one(value: str) -> bool:
            hit = any(_holds(test, policy, value, unreadable_matches) for policy in policy_values)
            return not hit if negated else hit

        return one

    def variable_keys(self) -> tuple[str, ...]:
        """The keys of the variables in this condition's values, as written."""
        return tuple(key for v in self.values if "${" in v for key in written_keys(v))


def _empty(values: Sequence[str]) -> bool:
    """No values, or only empty strings: the null data set of the set qualifiers and of Null."""
    return all(v == "" for v in values)


def _holds(test: Callable[[str, str], bool], policy: str, value: str, unreadable_matches: bool) -> bool:
    """One policy value against one context value. A value of the wrong type on either side (a context value that is
    no number, a policy address or date this engine cannot read) is an unknown, decided by `unreadable_matches`
    (module docstring); the other policy values of the condition still match as they do."""
    try:
        return test(policy, value)
    except (ValueError, binascii.Error):
        return unreadable_matches


def _policy_values(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    values = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, int | float | str):
            values.append(str(item))
        else:
            raise UnknownOperator("Condition values must be strings, numbers or booleans.")
    return tuple(values)


def parse_operator(name: str) -> tuple[str, str | None, bool]:
    qualifier = None
    if ":" in name:
        qualifier, name = name.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise UnknownOperator(f"Invalid Condition type : {qualifier}:{name}")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    if base not in _OPERATORS and base != "Null":
        raise UnknownOperator(f"Invalid Condition type : {name}")
    if base == "Null" and (if_exists or qualifier):
        raise UnknownOperator(f"Invalid Condition type : {name}")
    return base, qualifier, if_exists


def parse_conditions(raw: object) -> tuple[Condition, ...]:
    """The conditions of a Condition element. An operator with no keys (`{"DateGreaterThan": {}}`, even an unknown
    one: `{"a": {}}`) constrains nothing, as IAM accepts it (recorded: LocalStack's test_create_policy_valid_document
    valid-17, -19, -31); a key with an empty list of values is kept, with no values (see `Condition.matches`)."""
    from .document import SYNTAX_ERRORS, MalformedPolicy  # the document module owns the policy error

    if not isinstance(raw, dict):
        raise MalformedPolicy(SYNTAX_ERRORS, "Condition must be an object.")
    conditions = []
    try:
        for operator_name, block in raw.items():
            if not isinstance(block, dict):
                raise UnknownOperator(f"The value of condition operator {operator_name} must be an object of condition keys.")
            if not block:
                continue
            operator, qualifier, if_exists = parse_operator(operator_name)
            for key, values in block.items():
                conditions.append(Condition(operator, qualifier, if_exists, key.lower(), _policy_values(values), key))
    except UnknownOperator as exc:
        raise MalformedPolicy(SYNTAX_ERRORS, str(exc)) from None
    return tuple(conditions)

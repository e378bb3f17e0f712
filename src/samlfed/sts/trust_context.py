"""What a role's trust policy is asked when a verified assertion signs in: the actions and the request context.

One definition for the server (`assume.admit_role`) and for `samlfed doctor`, which must reach the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ..iam.permissions import add_origin_keys
from ..saml import SamlValidationError, VerifiedAssertion
from ..saml.aws_claims import MAX_TAGS, is_valid_tag_value, trimmed
from ..saml.response import SessionTagsCheck
from ..timestamps import aws_timestamp, aws_timestamp_of_second, epoch_second
from .saml_context import saml_context

ASSUME = "sts:AssumeRoleWithSAML"
TAG_SESSION = "sts:TagSession"
SET_SOURCE_IDENTITY = "sts:SetSourceIdentity"


SESSION_TAGS_CHECK = "trust.session_tags"
"""The check id of the session tags a sign-in asks for (PrincipalTag attributes and the provider's attribute mapping,
with TransitiveTagKeys), in the log and the doctor."""
SESSION_TAGS_TITLE = "Session tags, mapped ones included, follow AWS's rules and TransitiveTagKeys names only them"
"""SESSION_TAGS_CHECK in words, as a validator check has its title (`saml.checks`), for the console's refusal page."""


class InvalidSessionTags(ValueError):
    """The sign-in's session tags break AWS's rules (STS answers InvalidIdentityToken); the message says which."""


def requested_tags(verified: VerifiedAssertion, attribute_mapping: Mapping[str, list[str]] | None) -> dict[str, str]:
    """PrincipalTag:* attributes, plus the provider's attribute mapping (an explicit PrincipalTag wins); every
    TransitiveTagKeys value must name one of them, a mapped one included (contract §3.4 step 20, §11)."""
    claims = verified.claims
    return session_tags_of(claims.principal_tags, verified.response.attributes, claims.transitive_tag_keys, attribute_mapping)


def session_tags_of(
    principal_tags: Mapping[str, str], attributes: Mapping[str, tuple[str, ...]], transitive_tag_keys: Sequence[str],
    attribute_mapping: Mapping[str, list[str]] | None,
) -> dict[str, str]:
    """`requested_tags` from the parts of an assertion the validator has at its session-tag check (step 20), so
    that it can run there, before the Role attribute is read (step 21)."""
    tags = dict(principal_tags)
    taken = {key.lower() for key in tags}
    for key, names in (attribute_mapping or {}).items():
        values = next((attributes[name] for name in names if attributes.get(name)), None)
        if values is None or key.lower() in taken:
            continue
        value = trimmed(values[0])  # as a PrincipalTag attribute's value is
        if len(values) != 1 or not is_valid_tag_value(value):
            raise InvalidSessionTags(f"the attribute mapped to session tag {key!r} has {len(values)} values or a value tags cannot hold")
        tags[key] = value
        taken.add(key.lower())
    if len(tags) > MAX_TAGS:
        raise InvalidSessionTags(f"{len(tags)} session tags; at most {MAX_TAGS} are allowed")
    for key in transitive_tag_keys:
        if key.lower() not in taken:
            raise InvalidSessionTags(f"TransitiveTagKeys names {key!r}, which is not a session tag of this sign-in")
    return tags


def session_tags_check(attribute_mapping: Mapping[str, list[str]] | None) -> SessionTagsCheck:
    """Step 20 in full, inside the validator (`validate`'s `session_tags_check`): the tags the provider's attribute
    mapping adds, and that every TransitiveTagKeys value names a tag. Checked after the Role attribute (step 21), a
    response with both faults got AccessDenied."""

    def check(attributes: dict[str, tuple[str, ...]], principal_tags: dict[str, str], transitive_tag_keys: tuple[str, ...]) -> None:
        try:
            session_tags_of(principal_tags, attributes, transitive_tag_keys, attribute_mapping)
        except InvalidSessionTags as exc:
            raise SessionTagsRejected("aws.session_tags", str(exc)) from None

    return check


class SessionTagsRejected(SamlValidationError):
    """`session_tags_check`'s refusal: the validator's session-tag check failed on a rule of SESSION_TAGS_CHECK,
    under which the log records it (as the doctor and the console name it)."""


def noting_tag_faults(check: SessionTagsCheck, faults: list[SessionTagsRejected]) -> SessionTagsCheck:
    """`check`, appending its refusal to `faults` instead of raising it, so that the validator runs on to the Role
    attribute: STS's answer then depends on both (`tags_refused_first`), in one validation."""

    def noting(attributes: dict[str, tuple[str, ...]], principal_tags: dict[str, str], transitive_tag_keys: tuple[str, ...]) -> None:
        try:
            check(attributes, principal_tags, transitive_tag_keys)
        except SessionTagsRejected as refusal:
            faults.append(refusal)

    return noting


def tags_refused_first(error: SamlValidationError, faults: Sequence[SessionTagsRejected]) -> SessionTagsRejected | None:
    """The session tags' refusal STS answers in place of `error`, from a validation with `noting_tag_faults`: a
    failing Role attribute (step 21) comes after the session tags (step 20, contract §3.4); None when `error` stands."""
    return faults[0] if error.check_id == "aws.role" and faults else None


def needed_actions(*, tags: bool, source_identity: bool) -> list[str]:
    """Every action the trust policy must allow: AWS also asks for sts:TagSession when the sign-in carries session
    tags and for sts:SetSourceIdentity when it carries a SourceIdentity."""
    return [ASSUME] + ([TAG_SESSION] if tags else []) + ([SET_SOURCE_IDENTITY] if source_identity else [])


def _time_texts(now: datetime) -> tuple[str, str]:
    """aws:CurrentTime and aws:EpochTime of `now` (aws_timestamp(now) and str(int(now.timestamp()))), the first
    kept per second for UTC instants: formatting them cost 18,000 instructions of every sign-in."""
    second = epoch_second(now)
    if second is None:
        return aws_timestamp(now), str(int(now.timestamp()))
    return aws_timestamp_of_second(second), str(second)


def trust_context(
    verified: VerifiedAssertion, *, account_id: str, provider_name: str, tags: dict[str, str], now: datetime,
    source_ip: str | None = None, secure_transport: bool | None = None,
) -> dict[str, list[str]]:
    """The condition keys of the sign-in, lower-cased: the assertion's saml:* keys, the session's sts:* keys, the
    requested tags, the time, and aws:SourceIp / aws:SecureTransport where the request's origin is known."""
    claims = verified.claims
    context = saml_context(verified, account_id=account_id, provider_name=provider_name)
    current_time, epoch_time = _time_texts(now)
    context.update(
        {
            "aws:currenttime": [current_time],
            "aws:epochtime": [epoch_time],
            "sts:rolesessionname": [claims.role_session_name],
        }
    )
    if tags:
        context.update({f"aws:requesttag/{k}".lower(): [v] for k, v in tags.items()})
        context["aws:tagkeys"] = list(tags)
    if claims.transitive_tag_keys:
        context["sts:transitivetagkeys"] = list(claims.transitive_tag_keys)
    if claims.source_identity is not None:
        context["sts:sourceidentity"] = [claims.source_identity]
    add_origin_keys(context, source_ip, secure_transport)
    return context

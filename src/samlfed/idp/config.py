"""The built-in IdP's configuration file (YAML): the IdP itself, its service providers with claim rules, its users.

    idp:
      entity_id: http://127.0.0.1:8080/idp/metadata    # default: <public URL>/idp/metadata
    service_providers:
      aws:
        display_name: AWS (samlfed)
        entity_id: urn:amazon:webservices
        acs_urls: [http://127.0.0.1:8080/saml, https://signin.aws.amazon.com/saml]
        preset: okta
        claims:
          name_id: email
          roles:
            - group: 'AWS-(\\d{12})-(\\w+)'
              value: 'arn:aws:iam::$1:role/$2,arn:aws:iam::$1:saml-provider/samlfed-idp'
          role_session_name: email
          session_duration: 3600
          principal_tags: {department: department}
          transitive_tag_keys: [department]
          source_identity: username
          attributes: {email: email}
    users:
      alice: {password_hash: ..., email: alice@example.com, groups: [...]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .directory import Directory, DirectoryError, load_users, read_yaml
from .presets import Preset, preset


@dataclass(frozen=True)
class RoleRule:
    """Each group matching `group` (a full match) yields `value` with $1..$9 replaced by the match's groups."""

    group: re.Pattern[str] | None
    value: str

    def apply(self, groups: list[str]) -> list[str]:
        if self.group is None:
            return [self.value]
        return [_expand(self.value, match) for name in groups if (match := self.group.fullmatch(name))]


_REFERENCE = re.compile(r"\$(\d)", re.ASCII)


def _expand(template: str, match: re.Match[str]) -> str:
    return _REFERENCE.sub(lambda ref: match.group(int(ref.group(1))) or "", template)


@dataclass(frozen=True)
class ClaimRules:
    name_id: str = "username"
    roles: tuple[RoleRule, ...] = ()
    role_session_name: str = "username"
    session_duration: int | None = None
    principal_tags: dict[str, str] = field(default_factory=dict)
    """Session tag key -> user attribute."""
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    """Further assertion attribute name -> user attribute."""


@dataclass(frozen=True)
class ServiceProvider:
    key: str
    entity_id: str
    acs_urls: tuple[str, ...]
    display_name: str
    preset: Preset
    claims: ClaimRules
    request_certificate: str | None = None
    """PEM certificate of the SP's request-signing key; when set, signed AuthnRequests are verified with it."""
    require_signed_requests: bool = False


@dataclass
class IdpConfig:
    entity_id: str | None
    service_providers: dict[str, ServiceProvider]
    directory: Directory
    raw: dict[str, Any]

    def provider_by_entity_id(self, entity_id: str) -> ServiceProvider | None:
        return next((sp for sp in self.service_providers.values() if sp.entity_id == entity_id), None)


def _claims(key: str, data: Any) -> ClaimRules:
    data = data or {}
    if not isinstance(data, dict):
        raise DirectoryError(f"claims of service provider {key!r} must be a mapping")
    rules = []
    for rule in data.get("roles") or []:
        if not isinstance(rule, dict) or not isinstance(rule.get("value"), str):
            raise DirectoryError(f"each role rule of {key!r} needs a `value` (and optionally a `group` pattern)")
        try:
            pattern = re.compile(rule["group"]) if rule.get("group") else None
        except re.error as exc:
            raise DirectoryError(f"role rule pattern {rule['group']!r} of {key!r} is not a regular expression: {exc}") from None
        highest = max((int(n) for n in _REFERENCE.findall(rule["value"])), default=0)
        if highest > (pattern.groups if pattern else 0):
            raise DirectoryError(f"role rule value {rule['value']!r} of {key!r} uses ${highest}, but its pattern has fewer groups")
        rules.append(RoleRule(pattern, rule["value"]))
    duration = data.get("session_duration")
    if duration is not None and (not isinstance(duration, int) or not 900 <= duration <= 43200):
        raise DirectoryError(f"session_duration of {key!r} must be 900-43200 seconds")
    return ClaimRules(
        name_id=str(data.get("name_id", "username")),
        roles=tuple(rules),
        role_session_name=str(data.get("role_session_name", "username")),
        session_duration=duration,
        principal_tags={str(k): str(v) for k, v in (data.get("principal_tags") or {}).items()},
        transitive_tag_keys=tuple(str(k) for k in data.get("transitive_tag_keys") or ()),
        source_identity=data.get("source_identity"),
        attributes={str(k): str(v) for k, v in (data.get("attributes") or {}).items()},
    )


def _service_provider(key: str, data: Any) -> ServiceProvider:
    if not isinstance(data, dict) or not data.get("entity_id") or not data.get("acs_urls"):
        raise DirectoryError(f"service provider {key!r} needs an entity_id and acs_urls")
    acs_urls = data["acs_urls"] if isinstance(data["acs_urls"], list) else [data["acs_urls"]]
    if not all(isinstance(u, str) and re.match(r"https?://", u) for u in acs_urls):
        raise DirectoryError(f"acs_urls of {key!r} must be http(s) URLs")
    try:
        shape = preset(str(data.get("preset", "samlfed")))
    except ValueError as exc:
        raise DirectoryError(f"service provider {key!r}: {exc}") from None
    return ServiceProvider(
        key=key,
        entity_id=str(data["entity_id"]),
        acs_urls=tuple(acs_urls),
        display_name=str(data.get("display_name") or key),
        preset=shape,
        claims=_claims(key, data.get("claims")),
        request_certificate=data.get("request_certificate"),
        require_signed_requests=bool(data.get("require_signed_requests", False)),
    )


def parse_config(data: dict[str, Any]) -> IdpConfig:
    idp = data.get("idp") or {}
    providers = data.get("service_providers") or {}
    if not isinstance(idp, dict) or not isinstance(providers, dict):
        raise DirectoryError("`idp` and `service_providers` must be mappings")
    return IdpConfig(
        entity_id=idp.get("entity_id"),
        service_providers={str(k): _service_provider(str(k), v) for k, v in providers.items()},
        directory=load_users(data.get("users")),
        raw=data,
    )


def load_config(path: Path) -> IdpConfig:
    return parse_config(read_yaml(path))

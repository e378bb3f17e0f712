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
        encryption_certificate: |          # optional: encrypt the assertions issued to this SP
          -----BEGIN CERTIFICATE-----
          ...
        encryption: {data_algorithm: aes256-gcm, key_transport: rsa-oaep-mgf1p, detached_key: false}
    users:
      alice: {password_hash: ..., email: alice@example.com, groups: [...]}
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..saml.metadata import UNREADABLE_CERTIFICATE
from .directory import Directory, DirectoryError, known_settings, load_users, read_yaml, yaml_flag, yaml_text
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


CLAIM_SETTINGS = (
    "name_id", "roles", "role_session_name", "session_duration", "principal_tags", "transitive_tag_keys", "source_identity", "attributes",
)
SP_SETTINGS = (
    "display_name", "entity_id", "acs_urls", "preset", "claims", "request_certificate", "require_signed_requests",
    "encryption_certificate", "encryption",
)
DATA_ALGORITHMS = ("aes256-gcm", "aes128-gcm", "aes256-cbc", "aes128-cbc")
KEY_TRANSPORTS = ("rsa-oaep-mgf1p", "rsa-oaep")
ENCRYPTION_OPTIONS = ("data_algorithm", "key_transport", "detached_key")
MIN_ENCRYPTION_KEY_BITS = 2048


@dataclass(frozen=True)
class AssertionEncryption:
    """How the assertions issued to a service provider are encrypted (`encryption_certificate`, `encryption`)."""

    certificate: x509.Certificate
    data_algorithm: str = DATA_ALGORITHMS[0]
    key_transport: str = KEY_TRANSPORTS[0]
    detached_key: bool = False
    """False: the EncryptedKey inside EncryptedData's KeyInfo (AD FS); True: beside it, named by a RetrievalMethod (Okta)."""

    def options(self) -> dict[str, Any]:
        """The keyword arguments of `samlfed.saml.signing.encrypt_assertion_in`."""
        return {"data_algorithm": self.data_algorithm, "key_transport": self.key_transport, "detached_key": self.detached_key}


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
    encryption: AssertionEncryption | None = None
    """When set, every Assertion issued to this SP is signed, then encrypted to its certificate."""


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
    known_settings(data, CLAIM_SETTINGS, f"claims of service provider {key!r}")
    roles = data.get("roles") or []
    if not isinstance(roles, list):  # a number was a TypeError (a traceback); a string or mapping, its characters or keys
        raise DirectoryError(f"claims.roles of service provider {key!r} must be a list of role rules (- group: ..., value: ...)")
    rules = []
    for rule in roles:
        if not isinstance(rule, dict) or not isinstance(rule.get("value"), str) or not isinstance(rule.get("group") or "", str):
            raise DirectoryError(f"each role rule of {key!r} needs a `value` (and optionally a `group` pattern)")
        known_settings(rule, ("group", "value"), f"a role rule of {key!r}")
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
    transitive = data.get("transitive_tag_keys") or []
    if not isinstance(transitive, list):
        raise DirectoryError(f"claims.transitive_tag_keys of service provider {key!r} must be a list of tag keys")
    source_identity = data.get("source_identity")
    if source_identity is not None and not isinstance(source_identity, str):
        raise DirectoryError(f"claims.source_identity of service provider {key!r} must name one user attribute")
    return ClaimRules(
        name_id=yaml_text(data, "name_id", f"the claims of {key!r}", "username"),
        roles=tuple(rules),
        role_session_name=yaml_text(data, "role_session_name", f"the claims of {key!r}", "username"),
        session_duration=duration,
        principal_tags=_names(key, data, "principal_tags"),
        transitive_tag_keys=tuple(str(k) for k in transitive),
        source_identity=source_identity,
        attributes=_names(key, data, "attributes"),
    )


def _names(key: str, claims: dict[str, Any], name: str) -> dict[str, str]:
    """A claims mapping of names to user attributes (principal_tags, attributes)."""
    value = claims.get(name) or {}
    if not isinstance(value, dict):
        raise DirectoryError(f"claims.{name} of service provider {key!r} must be a mapping of names to user attributes")
    return {str(k): str(v) for k, v in value.items()}


_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)


def _encryption_certificate(key: str, text: Any) -> x509.Certificate:
    """The SP's encryption certificate: PEM as pasted (or its base64 body alone, as metadata shows it), one RSA
    certificate of at least 2048 bits."""
    where = f"encryption_certificate of service provider {key!r}"
    if not isinstance(text, str) or not text.strip():
        raise DirectoryError(f"{where} must be the PEM text of a certificate (-----BEGIN CERTIFICATE----- ...)")
    if "PRIVATE KEY-----" in text:  # the IdP needs only the certificate; the key belongs to the SP (samlfed)
        raise DirectoryError(f"{where} holds a private key: give the IdP only the certificate, and upload the key to the SP")
    bodies = _PEM_CERTIFICATE.findall(text)
    if len(bodies) > 1:
        raise DirectoryError(f"{where} holds {len(bodies)} certificates; give only the SP's encryption certificate")
    body = bodies[0] if bodies else text
    if "-----" in body:
        raise DirectoryError(f"{where} is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode("".join(body.split()), validate=True))
        public_key = certificate.public_key()
    except (binascii.Error, *UNREADABLE_CERTIFICATE):
        raise DirectoryError(f"{where} is not a readable X.509 certificate (paste the whole PEM block)") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise DirectoryError(f"{where} must hold an RSA key (assertions are encrypted with RSA-OAEP)")
    if public_key.key_size < MIN_ENCRYPTION_KEY_BITS:
        raise DirectoryError(f"{where} holds a {public_key.key_size}-bit RSA key; at least {MIN_ENCRYPTION_KEY_BITS} bits are needed")
    return certificate


def _request_certificate(key: str, text: Any) -> str | None:
    """The PEM certificate (RSA) the SP signs its AuthnRequests with, read now: unreadable, it failed every signed
    request with an internal error instead."""
    if text is None:
        return None
    where = f"request_certificate of service provider {key!r}"
    try:
        public_key = x509.load_pem_x509_certificate(text.encode()).public_key() if isinstance(text, str) else None
    except UNREADABLE_CERTIFICATE:
        public_key = None
    if public_key is None:
        raise DirectoryError(f"{where} is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)")
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise DirectoryError(f"{where} must hold an RSA key (AuthnRequest signatures are checked as RSA)")
    return text


def _encryption(key: str, data: dict[str, Any]) -> AssertionEncryption | None:
    options = data.get("encryption")
    if data.get("encryption_certificate") is None:
        if options is not None:
            raise DirectoryError(f"service provider {key!r} has `encryption` options but no encryption_certificate to encrypt to")
        return None
    certificate = _encryption_certificate(key, data["encryption_certificate"])
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise DirectoryError(f"encryption of service provider {key!r} must be a mapping ({', '.join(ENCRYPTION_OPTIONS)})")
    unknown = sorted(str(name) for name in options if name not in ENCRYPTION_OPTIONS)
    if unknown:
        raise DirectoryError(f"encryption of service provider {key!r} has unknown option(s) {', '.join(unknown)}; known: {', '.join(ENCRYPTION_OPTIONS)}")
    data_algorithm = options.get("data_algorithm", DATA_ALGORITHMS[0])
    if data_algorithm not in DATA_ALGORITHMS:
        raise DirectoryError(f"encryption.data_algorithm {data_algorithm!r} of service provider {key!r} is unknown; choose one of {', '.join(DATA_ALGORITHMS)}")
    key_transport = options.get("key_transport", KEY_TRANSPORTS[0])
    if key_transport not in KEY_TRANSPORTS:
        raise DirectoryError(f"encryption.key_transport {key_transport!r} of service provider {key!r} is unknown; choose one of {', '.join(KEY_TRANSPORTS)}")
    detached_key = options.get("detached_key", False)
    if not isinstance(detached_key, bool):
        raise DirectoryError(f"encryption.detached_key of service provider {key!r} must be true or false")
    return AssertionEncryption(certificate, data_algorithm, key_transport, detached_key)


def _service_provider(key: str, data: Any) -> ServiceProvider:
    if not isinstance(data, dict) or not data.get("entity_id") or not data.get("acs_urls"):
        raise DirectoryError(f"service provider {key!r} needs an entity_id and acs_urls")
    known_settings(data, SP_SETTINGS, f"service provider {key!r}")
    acs_urls = data["acs_urls"] if isinstance(data["acs_urls"], list) else [data["acs_urls"]]
    if not all(isinstance(u, str) and re.match(r"https?://", u) for u in acs_urls):
        raise DirectoryError(f"acs_urls of {key!r} must be http(s) URLs")
    where = f"service provider {key!r}"
    name = yaml_text(data, "preset", where, "samlfed")
    try:
        shape = preset(name)
    except ValueError as exc:
        raise DirectoryError(f"service provider {key!r}: {exc}") from None
    return ServiceProvider(
        key=key,
        entity_id=yaml_text(data, "entity_id", where),
        acs_urls=tuple(acs_urls),
        display_name=yaml_text(data, "display_name", where, key),
        preset=shape,
        claims=_claims(key, data.get("claims")),
        request_certificate=_request_certificate(key, data.get("request_certificate")),
        require_signed_requests=yaml_flag(data, "require_signed_requests", f"service provider {key!r}"),
        encryption=_encryption(key, data),
    )


def parse_config(data: dict[str, Any]) -> IdpConfig:
    known_settings(data, ("idp", "service_providers", "users"), "the top level")
    idp = data.get("idp") or {}
    providers = data.get("service_providers") or {}
    if not isinstance(idp, dict) or not isinstance(providers, dict):
        raise DirectoryError("`idp` and `service_providers` must be mappings")
    known_settings(idp, ("entity_id",), "idp")
    if not isinstance(idp.get("entity_id") or "", str):
        raise DirectoryError("idp.entity_id must be the IdP's entity ID (a URI), or left out for <public URL>/idp/metadata")
    return IdpConfig(
        entity_id=idp.get("entity_id"),
        service_providers={str(k): _service_provider(str(k), v) for k, v in providers.items()},
        directory=load_users(data.get("users")),
        raw=data,
    )


def load_config(path: Path) -> IdpConfig:
    return parse_config(read_yaml(path))

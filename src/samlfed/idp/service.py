"""The identity provider itself: configuration (re-read when its file changes), signing keys, throttling, issuing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from ..saml import constants as c
from ..saml.metadata import SsoEndpoint, build_idp_metadata
from ..saml.signing import build_status_response, encode_response, sign_element, sign_response
from .claims import assertion_spec
from .config import IdpConfig, ServiceProvider, load_config
from .directory import User
from .keys import KeyStore
from .presets import EMAIL
from .state import STATE_FILE, IdpState, file_version
from .throttle import LoginThrottle

NAME_ID_FORMATS = (c.NAMEID_PERSISTENT, EMAIL, c.NAMEID_FORMAT_UNSPECIFIED)
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"


class IdentityProvider:
    def __init__(self, config_path: Path, key_dir: Path, base_url: str) -> None:
        """`base_url` is where the IdP is mounted as seen by browsers, e.g. http://127.0.0.1:8080/idp."""
        self.config_path = config_path
        self.base_url = base_url.rstrip("/")
        self.keys = KeyStore(key_dir)
        self.state = IdpState(config_path.parent / STATE_FILE)
        """Shared by every worker: session generations, used TOTP steps and the throttle's counts."""
        self.throttle = LoginThrottle(self.state)
        self._config: IdpConfig | None = None
        self._stamp: str | None = None
        self._witnessed: str | None = None
        self.ends_sessions_of_disabled = False
        """Set by the serving IdP (web.IdpApp): each read of the file ends the sessions of the users it disables, so
        that re-enabling one later does not bring back the sessions it had. Commands leave the state file alone."""

    @property
    def config(self) -> IdpConfig:
        """The configuration, re-read when the file changed (`samlfed idp users add` while serving)."""
        stamp = file_version(self.config_path)
        if self._config is None or stamp != self._stamp:
            config = load_config(self.config_path)
            config.directory.totp_steps = self.state
            if self.ends_sessions_of_disabled:  # before the new file is used: should this fail, the next read tries again
                self.state.end_sessions(*(user.username for user in config.directory.users.values() if user.disabled))
            self._config, self._stamp = config, stamp
        return self._config

    def session_stamp(self, username: str) -> tuple[int, int | None]:
        """The generation and epoch a session of `username` must carry (IdpState.session_stamp), for the
        configuration last read (`config`, which the caller reads first). Before the first decision on a session
        it is judged by, each version of idp.yaml is recorded (IdpState.witness_config: one samlfed did not write
        ends every session). A state file made anew while the IdP serves (removed, replaced) has no epoch until one
        is recorded again: a random one, so that the sessions of the old state file end with it."""
        if self._stamp is not None and self._witnessed != self._stamp:
            self.state.witness_config(self._stamp)
            self._witnessed = self._stamp
        generation, epoch = self.state.session_stamp(username)
        if epoch is None and self._stamp is not None:
            self.state.witness_config(self._stamp)
            generation, epoch = self.state.session_stamp(username)
        return generation, epoch

    @property
    def entity_id(self) -> str:
        return self.config.entity_id or f"{self.base_url}/metadata"

    def metadata(self, now: datetime | None = None) -> bytes:
        endpoints = [
            SsoEndpoint(c.BINDING_HTTP_REDIRECT, f"{self.base_url}/sso"),
            SsoEndpoint(c.BINDING_HTTP_POST, f"{self.base_url}/sso"),
            SsoEndpoint(c.BINDING_SOAP, f"{self.base_url}/ecp"),
        ]
        return build_idp_metadata(
            self.entity_id, self.keys.published(now or datetime.now(UTC)), sso_endpoints=endpoints, name_id_formats=NAME_ID_FORMATS
        )

    def issue_xml(self, user: User, sp: ServiceProvider, acs_url: str, *, in_response_to: str | None = None, now: datetime | None = None) -> bytes:
        """A signed Response for `user` to `sp` at one of its registered ACS URLs; its Assertion encrypted when the SP
        has an `encryption_certificate`. Every way the IdP answers (portal, /sso, ECP, `idp assertion`) comes here."""
        if acs_url not in sp.acs_urls:
            raise ValueError(f"{acs_url} is not a registered ACS URL of {sp.display_name}")
        moment = now or datetime.now(UTC)
        spec = assertion_spec(user, sp, issuer=self.entity_id, acs_url=acs_url, now=moment, in_response_to=in_response_to)
        encryption = sp.encryption  # signed, then encrypted, then the Response signed over it, as IdPs do
        return sign_response(
            spec, self.keys.signer(moment), sign=sp.preset.sign,
            encrypt_for=encryption.certificate if encryption else None, encryption=encryption.options() if encryption else None,
        )

    def issue(self, user: User, sp: ServiceProvider, acs_url: str, *, in_response_to: str | None = None, now: datetime | None = None) -> str:
        """`issue_xml`, base64-encoded as the HTTP-POST binding's SAMLResponse field."""
        return encode_response(self.issue_xml(user, sp, acs_url, in_response_to=in_response_to, now=now))

    def no_passive(self, sp: ServiceProvider, acs_url: str, *, in_response_to: str, now: datetime | None = None) -> str:
        """The signed answer to an IsPassive request that needs a sign-in (SAML Core §3.4.1): no assertion, status
        Responder/NoPassive; base64-encoded as the HTTP-POST binding's SAMLResponse field."""
        if acs_url not in sp.acs_urls:
            raise ValueError(f"{acs_url} is not a registered ACS URL of {sp.display_name}")
        moment = now or datetime.now(UTC)
        response = build_status_response(
            self.entity_id, (STATUS_RESPONDER, STATUS_NO_PASSIVE), issued_at=moment, destination=acs_url, in_response_to=in_response_to
        )
        sign_element(response, self.keys.signer(moment))
        return encode_response(etree.tostring(response, xml_declaration=True, encoding="UTF-8"))

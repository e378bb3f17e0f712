"""Key rotation, shape presets, claim rules, the directory and the throttle of the built-in IdP."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from samlfed.idp.config import parse_config
from samlfed.idp.directory import DirectoryError, User, hash_password, load_users
from samlfed.idp.presets import PRESETS
from samlfed.idp.service import IdentityProvider
from samlfed.idp.state import IdpState
from samlfed.idp.throttle import LoginThrottle
from samlfed.saml import ProviderPolicy, RolePair, SamlValidationError, ValidationSettings, validate
from samlfed.saml.metadata import parse_metadata

ACS = "https://signin.aws.amazon.com/saml"
PROVIDER = "arn:aws:iam::111111111111:saml-provider/corp"
SETTINGS = ValidationSettings()


def _config(preset: str = "samlfed") -> dict:
    return {
        "service_providers": {
            "aws": {
                "entity_id": "urn:amazon:webservices",
                "acs_urls": [ACS],
                "preset": preset,
                "claims": {
                    "roles": [
                        {"group": r"AWS-(\d{12})-(\w+)", "value": "arn:aws:iam::$1:role/$2,arn:aws:iam::$1:saml-provider/corp"},
                        {"value": "arn:aws:iam::111111111111:saml-provider/corp,arn:aws:iam::111111111111:role/Everyone"},
                    ],
                    "role_session_name": "email",
                    "principal_tags": {"department": "department", "missing": "nothing"},
                    "transitive_tag_keys": ["department", "missing"],
                },
            }
        },
        "users": {
            "carol": {
                "password_hash": hash_password("carol's password"),
                "email": "carol@example.com",
                "department": "Engineering",
                "groups": ["AWS-111111111111-Developer", "AWS-111111111111-Ops", "Staff"],
            }
        },
    }


@pytest.fixture
def idp(tmp_path: Path) -> IdentityProvider:
    import yaml

    path = tmp_path / "idp.yaml"
    path.write_text(yaml.safe_dump(_config()))
    return IdentityProvider(path, tmp_path / "keys", "https://idp.example.test/idp")


def _use_preset(idp: IdentityProvider, preset: str) -> None:
    import yaml

    idp.config_path.write_text(yaml.safe_dump(_config(preset)))


def _trust(metadata: bytes, policy: ProviderPolicy = ProviderPolicy()):  # type: ignore[no-untyped-def]
    trust = parse_metadata(metadata).trust()
    return type(trust)(trust.entity_id, trust.signing_keys, policy=policy)


def _issue(idp: IdentityProvider, now: datetime) -> str:
    config = idp.config
    return idp.issue(config.directory.get("carol"), config.service_providers["aws"], ACS, now=now)


def test_a_provider_registered_before_rotation_accepts_assertions_during_and_after_it(idp: IdentityProvider) -> None:
    start = datetime.now(UTC)
    before = idp.metadata(start)
    trust = _trust(before)
    assert len(trust.signing_keys) == 2  # signing key + pre-published next key
    scheduled = idp.keys.rotate(start, timedelta(hours=1))
    during = start + timedelta(minutes=30)
    assert len(_trust(idp.metadata(during)).signing_keys) == 3
    assert validate(_issue(idp, during), trust, now=during, settings=SETTINGS).response.issuer == idp.entity_id
    after = start + timedelta(hours=2)
    assert idp.keys.signing_entry(after).kid == scheduled.kid
    assert validate(_issue(idp, after), trust, now=after, settings=SETTINGS).claims.role_session_name == "carol@example.com"
    # After the switch the old key leaves the metadata; a provider registered during the grace period is ready
    # for the following rotation too.
    assert len(_trust(idp.metadata(after)).signing_keys) == 2
    registered_during = _trust(idp.metadata(during))
    idp.keys.rotate(after, timedelta(0))
    later = after + timedelta(seconds=1)
    validate(_issue(idp, later), registered_during, now=later, settings=SETTINGS)
    with pytest.raises(SamlValidationError) as rejected:  # the first metadata no longer has the signing key
        validate(_issue(idp, later), trust, now=later, settings=SETTINGS)
    assert rejected.value.check_id == "signature.verify"


def test_a_clock_before_the_first_key_still_signs_with_it(idp: IdentityProvider) -> None:
    first = idp.keys.entries()[0]
    assert idp.keys.signing_entry(first.created - timedelta(hours=1)).kid == first.kid


def test_rotation_is_seen_by_a_running_idp_and_keys_are_owner_only(idp: IdentityProvider, tmp_path: Path) -> None:
    other = IdentityProvider(idp.config_path, tmp_path / "keys", idp.base_url)  # e.g. `samlfed idp rotate-key`
    now = datetime.now(UTC)
    other.keys.rotate(now, timedelta(0))
    assert idp.keys.signing_entry(now + timedelta(seconds=1)).kid == other.keys.signing_entry(now + timedelta(seconds=1)).kid
    for key_file in (tmp_path / "keys").glob("*.key.pem"):
        assert key_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_is_accepted_by_the_validation_core_with_the_expected_roles(idp: IdentityProvider, name: str) -> None:
    _use_preset(idp, name)
    now = datetime.now(UTC)
    policy = ProviderPolicy(allow_response_only_signature=PRESETS[name].sign == "response")
    verified = validate(_issue(idp, now), _trust(idp.metadata(now), policy), now=now, settings=SETTINGS)
    assert set(verified.claims.roles) == {
        RolePair("arn:aws:iam::111111111111:role/Developer", PROVIDER),
        RolePair("arn:aws:iam::111111111111:role/Ops", PROVIDER),
        RolePair("arn:aws:iam::111111111111:role/Everyone", PROVIDER),
    }
    assert verified.claims.principal_tags == {"department": "Engineering"}
    assert verified.claims.transitive_tag_keys == ("department",)
    assert verified.response.name_id_format == PRESETS[name].name_id_format
    assert verified.response.signed == PRESETS[name].sign


def test_presets_really_differ_in_shape(idp: IdentityProvider) -> None:
    import base64

    from lxml import etree

    def shape(name: str) -> tuple:
        _use_preset(idp, name)
        root = etree.fromstring(base64.b64decode(_issue(idp, datetime.now(UTC))))
        roles = root.findall(".//{*}Attribute[@Name='https://aws.amazon.com/SAML/Attributes/Role']")
        first_value = roles[0].findtext("{*}AttributeValue")
        return (len(roles), first_value.split(",")[0].split(":")[5].split("/")[0], roles[0].get("NameFormat"), roles[0][0].get("{http://www.w3.org/2001/XMLSchema-instance}type"))

    assert shape("keycloak")[0] == 3 and shape("okta")[0] == 1
    assert shape("adfs")[1] == "saml-provider" and shape("okta")[1] == "role"
    assert shape("entra")[2:] == (None, None) and shape("okta")[2:] == ("urn:oasis:names:tc:SAML:2.0:attrname-format:uri", "xs:string")


def test_the_google_preset_needs_the_response_only_opt_in(idp: IdentityProvider) -> None:
    _use_preset(idp, "google")
    now = datetime.now(UTC)
    with pytest.raises(SamlValidationError) as rejected:
        validate(_issue(idp, now), _trust(idp.metadata(now)), now=now, settings=SETTINGS)
    assert rejected.value.check_id == "signature.required"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["service_providers"]["aws"].update(preset="ping"), "unknown preset"),
        (lambda c: c["service_providers"]["aws"].update(acs_urls=["ftp://x"]), r"must be http\(s\) URLs"),
        (lambda c: c["service_providers"]["aws"]["claims"]["roles"].append({"group": "(", "value": "x"}), "not a regular expression"),
        (lambda c: c["service_providers"]["aws"]["claims"]["roles"].append({"group": "(a)", "value": "$2"}), "fewer groups"),
        (lambda c: c["service_providers"]["aws"]["claims"].update(session_duration=60), "900-43200"),
        (lambda c: c["users"].update({"bad name": {"password_hash": "x"}}), "is not 1-64 ASCII letters"),
        (lambda c: c["users"].update({"dave": {"email": "d@example.com"}}), "needs a password_hash"),
        (lambda c: c["users"]["carol"].update(totp_secret="not base32!"), "not a base32 secret"),
        # Read as they were written, these failed every page and `samlfed idp` command with a traceback:
        (lambda c: c["service_providers"]["aws"]["claims"].update(principal_tags=["department"]), "principal_tags .* must be a mapping"),
        (lambda c: c["service_providers"]["aws"]["claims"].update(attributes=["email"]), "attributes .* must be a mapping"),
        (lambda c: c["service_providers"]["aws"]["claims"].update(transitive_tag_keys=5), "transitive_tag_keys .* must be a list"),
        (lambda c: c["service_providers"]["aws"]["claims"]["roles"].append({"group": 5, "value": "x"}), "needs a `value`"),
        (lambda c: c["service_providers"]["aws"]["claims"].update(roles=5), "roles of service provider 'aws' must be a list of role rules"),
        (lambda c: c["service_providers"]["aws"]["claims"].update(roles={"group": "x", "value": "y"}), "must be a list of role rules"),
        (lambda c: c.update(idp={"entity_id": ["urn:a", "urn:b"]}), "idp.entity_id must be"),
        # ... and this one every assertion of the application:
        (lambda c: c["service_providers"]["aws"]["claims"].update(source_identity=["username"]), "source_identity .* must name one user"),
    ],
)
def test_configuration_errors_are_clear(change, message: str) -> None:  # type: ignore[no-untyped-def]
    config = _config()
    change(config)
    with pytest.raises(DirectoryError, match=message):
        parse_config(config)


@pytest.mark.parametrize("setting", ['"no"', "'false'", '"0"', "0", "1", "off-ish", "~", "[]"])
@pytest.mark.parametrize(("where", "field", "named"), [
    ("users.carol", "disabled", "user 'carol'"), ("service_providers.aws", "require_signed_requests", "service provider 'aws'"),
])
def test_a_flag_of_idp_yaml_is_a_yaml_boolean_or_refused(tmp_path: Path, where: str, field: str, named: str, setting: str) -> None:
    """`disabled: "no"` read as a disabled user (a non-empty string is true): anything but true or false is refused."""
    import yaml

    config = _config()
    section, key = where.split(".")
    config[section][key][field] = "SETTING"
    template = yaml.safe_dump(config)
    with pytest.raises(DirectoryError, match=f"^{field} of {named} must be true or false"):
        parse_config(yaml.safe_load(template.replace("SETTING", setting)))
    for written, meant in (("true", True), ("no", False), ("False", False)):  # YAML 1.1 booleans, as PyYAML reads them
        read = parse_config(yaml.safe_load(template.replace("SETTING", written)))
        assert (read.directory.users["carol"].disabled if field == "disabled" else read.service_providers["aws"].require_signed_requests) is meant


def test_a_yaml_boolean_among_groups_or_attribute_values_is_refused_not_read_as_true_or_false() -> None:
    """PyYAML reads an unquoted NO (Norway), on or yes as a boolean: `groups: [NO]` was the group "False"."""
    import yaml

    for field in ("groups: [Admins, NO]", "attributes: {country: [NO]}"):
        data = yaml.safe_load(f"dave:\n  password_hash: x\n  {field}\n")
        with pytest.raises(DirectoryError, match="must be a string or a list of strings .quote a value such as yes, no"):
            load_users(data)
    quoted = load_users(yaml.safe_load("dave:\n  password_hash: x\n  groups: [Admins, 'NO', 42]\n")).users["dave"]
    assert quoted.groups == ["Admins", "NO", "42"]


def test_authentication_fails_the_same_way_for_every_reason() -> None:
    secret = pyotp.random_base32()
    directory = load_users(
        {
            "erin": {"password_hash": hash_password("erin's password")},
            "frank": {"password_hash": hash_password("frank's password"), "disabled": True},
            "grace": {"password_hash": hash_password("grace's password"), "totp_secret": secret},
        }
    )
    assert isinstance(directory.authenticate("erin", "erin's password", None), User)
    assert directory.authenticate("erin", "wrong password", None) is None
    assert directory.authenticate("nobody", "erin's password", None) is None
    assert directory.authenticate("frank", "frank's password", None) is None
    assert directory.authenticate("grace", "grace's password", None) is None
    assert directory.authenticate("grace", "grace's password", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111") is None
    assert directory.authenticate("grace", "grace's password", pyotp.TOTP(secret).now()) is not None
    with pytest.raises(DirectoryError):
        hash_password("short")
    assert load_users({"erin": {"password_hash": hash_password("erin's password")}}).users["erin"].password_hash.startswith("$argon2id$")


def test_throttle_windows_and_limits(tmp_path: Path) -> None:
    state = IdpState(tmp_path / "idp-state.db")
    throttle = LoginThrottle(state, per_user=3, per_address=100, window=60)
    for moment in (0, 1, 2):
        attempt = throttle.reserve("a", "10.0.0.1", now=moment)
        assert attempt is not None
        throttle.failed(attempt)
    assert throttle.reserve("a", "10.0.0.1", now=3) is None
    assert throttle.reserve("a", "10.0.0.1", now=61) is not None  # the first failure left the window
    logins = LoginThrottle(state, per_user=2, per_address=3)
    for name, address in (("Erin", "10.0.0.1"), ("erin", "10.0.0.2")):
        attempt = logins.reserve(name, address)
        assert attempt is not None
        logins.failed(attempt)
    assert logins.reserve("ERIN", "10.0.0.9") is None  # user names are counted case-insensitively
    for name in ("x", "y", "z"):
        attempt = logins.reserve(name, "10.0.0.3")
        assert attempt is not None
        logins.failed(attempt)
    assert logins.reserve("someone-else", "10.0.0.3") is None


def test_a_reserved_attempt_counts_until_it_ends_and_only_a_success_forgets_the_users_failures(tmp_path: Path) -> None:
    state = IdpState(tmp_path / "idp-state.db")
    logins = LoginThrottle(state, per_user=2, per_address=10)
    first, second = logins.reserve("fay", "10.0.0.1"), logins.reserve("fay", "10.0.0.1")
    assert first is not None and second is not None
    assert logins.reserve("fay", "10.0.0.1") is None  # two in flight fill the limit before either is checked
    logins.give_back(second)
    logins.failed(first)
    success = logins.reserve("fay", "10.0.0.1")
    assert success is not None and logins.reserve("fay", "10.0.0.1") is None
    logins.succeeded(success)
    assert logins.reserve("fay", "10.0.0.1") is not None  # the failure is forgotten and the success given back
    # Another throttle on the same file (another worker) sees the same counts.
    assert LoginThrottle(state, per_user=2, per_address=10).reserve("fay", "10.0.0.1") is not None
    assert LoginThrottle(IdpState(tmp_path / "idp-state.db"), per_user=2).reserve("fay", "10.0.0.2") is None


def test_the_attempt_table_stays_bounded(tmp_path: Path) -> None:
    state = IdpState(tmp_path / "idp-state.db")
    logins = LoginThrottle(state, per_user=5, per_address=5, max_rows=10)
    for n in range(40):
        attempt = logins.reserve(f"user-{n}", f"10.0.1.{n}")
        assert attempt is not None
        logins.failed(attempt)
    with sqlite3.connect(state.path) as db:
        assert db.execute("SELECT count(*) FROM login_attempt").fetchone()[0] <= 10


def _open_key_store(directory: Path, start: object, results: object) -> None:
    from samlfed.idp.keys import KeyStore

    start.wait(30)  # type: ignore[attr-defined]
    results.put([entry.kid for entry in KeyStore(directory).entries()])  # type: ignore[attr-defined]


def test_workers_starting_together_on_a_fresh_directory_make_one_pair_of_keys(tmp_path: Path) -> None:
    """Found by probing: `serve --with-idp --workers 4` on a new data directory left 6 private keys, 4 of them in
    no keys.json, and its writers shared one temporary file (a half-written keys.json could be renamed into place)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for round_number in range(5):
        directory = tmp_path / f"keys-{round_number}"
        start, results = context.Barrier(6), context.Queue()
        workers = [context.Process(target=_open_key_store, args=(directory, start, results)) for _ in range(6)]
        for worker in workers:
            worker.start()
        seen = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(30)
        assert all(kids == seen[0] for kids in seen) and len(seen[0]) == 2, seen
        assert sorted(path.name for path in directory.glob("*.key.pem")) == sorted(f"{kid}.key.pem" for kid in seen[0])


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["users"]["carol"].update(disable=True), r"^user 'carol' has unknown setting\(s\) disable; known: password_hash, "),
    (lambda c: c["users"]["carol"].update(totp="JBSWY3DPEHPK3PXP"), r"^user 'carol' has unknown setting\(s\) totp; "),
    (lambda c: c["service_providers"]["aws"].update(require_signed_request=True),
     r"^service provider 'aws' has unknown setting\(s\) require_signed_request; known: .*require_signed_requests"),
    (lambda c: c["service_providers"]["aws"]["claims"].update(role_session=True), r"^claims of service provider 'aws' has unknown setting\(s\) role_session; "),
    (lambda c: c["service_providers"]["aws"]["claims"]["roles"][0].update(groups="x"), r"^a role rule of 'aws' has unknown setting\(s\) groups; known: group, value$"),
    (lambda c: c.update(idp={"entityid": "urn:x"}), r"^idp has unknown setting\(s\) entityid; known: entity_id$"),
    (lambda c: c.update(service_provider={}), r"^the top level has unknown setting\(s\) service_provider; known: idp, service_providers, users$"),
])
def test_a_setting_samlfed_does_not_read_is_refused_not_ignored(change, message: str) -> None:  # type: ignore[no-untyped-def]
    """A mistyped setting was ignored without a word: `disable: true` left the user enabled, `totp:` without a second
    factor, `require_signed_request: true` the SP's requests unchecked."""
    config = _config()
    change(config)
    with pytest.raises(DirectoryError, match=message):
        parse_config(config)


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["service_providers"]["aws"].update(entity_id=["urn:a", "urn:b"]), r"^entity_id of service provider 'aws' must be text, not a list$"),
    (lambda c: c["service_providers"]["aws"].update(display_name={"en": "AWS"}), r"^display_name of service provider 'aws' must be text, not a mapping$"),
    (lambda c: c["service_providers"]["aws"].update(preset=["okta"]), r"^preset of service provider 'aws' must be text, not a list$"),
    (lambda c: c["service_providers"]["aws"]["claims"].update(name_id=["email"]), r"^name_id of the claims of 'aws' must be text, not a list$"),
    (lambda c: c["service_providers"]["aws"]["claims"].update(role_session_name=True), r"^role_session_name of the claims of 'aws' must be text, not a YAML boolean"),
    (lambda c: c["users"]["carol"].update(email=["carol@example.com", "c@example.com"]), r"^email of user 'carol' must be text, not a list$"),
    (lambda c: c["users"]["carol"].update(department=False), r"^department of user 'carol' must be text, not a YAML boolean"),
])
def test_a_text_setting_of_another_type_is_refused_not_turned_into_text(change, message: str) -> None:  # type: ignore[no-untyped-def]
    """str() made text of its own of a list, a mapping or a boolean: `email: [a, b]` was asserted as "['a', 'b']",
    `entity_id: [a, b]` named no SP that exists, `role_session_name: yes` read the attribute "True"."""
    config = _config()
    change(config)
    with pytest.raises(DirectoryError, match=message):
        parse_config(config)


def test_text_settings_left_out_or_numbers_still_read() -> None:
    config = _config()
    config["service_providers"]["aws"].update(display_name=2024, preset=None)
    config["users"]["carol"].update(department=42)
    read = parse_config(config)
    assert read.service_providers["aws"].display_name == "2024" and read.service_providers["aws"].preset.name == "samlfed"
    assert read.directory.users["carol"].department == "42"

"""Settings precedence: command line over environment over the TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from samlfed.config import Settings


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "samlfed.toml"
    config.write_text('port = 9000\nhost = "127.0.0.2"\ndata_dir = "/srv/samlfed"\nstrict_replay = true\n')
    for name in ("SAMLFED_PORT", "SAMLFED_HOST", "SAMLFED_DATA_DIR", "SAMLFED_DATABASE_URL", "SAMLFED_STRICT_REPLAY", "SAMLFED_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    from_file = Settings.from_env(config=config)
    assert (from_file.port, from_file.host, from_file.data_dir, from_file.strict_replay) == (9000, "127.0.0.2", Path("/srv/samlfed"), True)
    monkeypatch.setenv("SAMLFED_PORT", "9100")
    assert Settings.from_env(config=config).port == 9100
    assert Settings.from_env(config=config, port=9200).port == 9200
    monkeypatch.setenv("SAMLFED_CONFIG", str(config))
    assert Settings.from_env().host == "127.0.0.2"


def test_defaults_and_unknown_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SAMLFED_PORT", "SAMLFED_HOST", "SAMLFED_DATA_DIR", "SAMLFED_DATABASE_URL", "SAMLFED_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings.from_env()
    assert (defaults.port, defaults.host, defaults.store_url()) == (8080, "127.0.0.1", "sqlite:///samlfed-data/samlfed.db")
    bad = tmp_path / "bad.toml"
    bad.write_text("prot = 1\n")
    with pytest.raises(ValueError, match="unknown settings"):
        Settings.from_env(config=bad)


def test_idp_settings_travel_to_worker_processes(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from samlfed.config import Settings

    settings = Settings.from_env(data_dir=tmp_path, with_idp=True, port=9000)
    assert settings.idp_directory() == tmp_path / "idp" and settings.base_url == "http://127.0.0.1:9000"
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SAMLFED_IDP_DIR", str(tmp_path / "elsewhere"))
    again = Settings.from_env()
    assert again.with_idp and again.idp_directory() == tmp_path / "elsewhere"
    monkeypatch.setenv("SAMLFED_WITH_IDP", "0")
    assert not Settings.from_env().with_idp


def test_console_settings_from_a_file_and_to_workers(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from samlfed.config import Settings

    for name in ("SAMLFED_REQUIRE_SP_INITIATED", "SAMLFED_CONSOLE_AUTO_SIGN_IN", "SAMLFED_SIGN_AUTHN_REQUESTS", "SAMLFED_CONSOLE_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "samlfed.toml"
    config.write_text(
        'require_sp_initiated = true\nconsole_auto_sign_in = false\nsign_authn_requests = false\n'
        'console_provider = "arn:aws:iam::111111111111:saml-provider/Corp"\nsp_entity_id = "https://samlfed.example.com"\n'
    )
    settings = Settings.from_env(config=config, data_dir=tmp_path)
    assert settings.require_sp_initiated and not settings.console_auto_sign_in and not settings.sign_authn_requests
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    again = Settings.from_env()
    assert (again.require_sp_initiated, again.console_auto_sign_in, again.sign_authn_requests) == (True, False, False)
    assert again.console_provider == "arn:aws:iam::111111111111:saml-provider/Corp" and again.sp_entity_id == "https://samlfed.example.com"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in [n for n in os.environ if n.startswith("SAMLFED_")]:
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('with_idp = "false"', "with_idp must be true or false, not 'false'"),
        ('port = "abc"', "port must be a port number from 1 to 65535"),
        ("port = 70000", "port must be a port number from 1 to 65535, not 70000"),
        ("data_dir = 5", "data_dir must be a non-empty path"),
        ("workers = 0", "workers must be a whole number from 1 to 512"),
        ("workers = 513", "workers must be a whole number from 1 to 512"),
        ("identity_cache_seconds = true", "identity_cache_seconds must be a number of seconds from 0 to 60"),
        ("identity_cache_seconds = nan", "identity_cache_seconds must be"),
    ],
)
def test_file_values_are_checked_and_named(tmp_path: Path, clean_env: pytest.MonkeyPatch, toml: str, message: str) -> None:
    from samlfed.config import SettingsError

    config = tmp_path / "samlfed.toml"
    config.write_text(toml + "\n")
    with pytest.raises(SettingsError, match=message) as raised:
        Settings.from_env(config=config)
    assert str(config) in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SAMLFED_PORT", "abc", "SAMLFED_PORT: port must be"),
        ("SAMLFED_PORT", "0", "SAMLFED_PORT: port must be"),
        ("SAMLFED_WORKERS", "x", "SAMLFED_WORKERS: workers must be"),
        ("SAMLFED_IDENTITY_CACHE_SECONDS", "100", "SAMLFED_IDENTITY_CACHE_SECONDS: identity_cache_seconds must be .* 0 to 60, not '100'"),
        ("SAMLFED_WITH_IDP", "maybe", "SAMLFED_WITH_IDP: with_idp must be true or false"),
        ("SAMLFED_CONFIG", "/nope/samlfed.toml", "cannot read the settings file /nope/samlfed.toml"),
    ],
)
def test_environment_values_are_checked_and_named(clean_env: pytest.MonkeyPatch, variable: str, value: str, message: str) -> None:
    from samlfed.config import SettingsError

    clean_env.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_flags_from_the_environment_and_ranges_from_the_command_line(clean_env: pytest.MonkeyPatch) -> None:
    from samlfed.config import SettingsError

    for text, flag in (("true", True), ("YES", True), ("1", True), ("false", False), ("no", False), ("0", False)):
        clean_env.setenv("SAMLFED_WITH_IDP", text)
        assert Settings.from_env().with_idp is flag
    with pytest.raises(SettingsError, match="--port: port must be a port number from 1 to 65535, not 70000"):
        Settings.from_env(port=70000)
    with pytest.raises(SettingsError, match="--workers"):
        Settings.from_env(workers=0)


@pytest.mark.parametrize("name", ["data?x=1", "data#frag", "d%41ta", "with space"])
def test_the_data_dir_is_taken_literally_in_the_sqlite_url(tmp_path: Path, clean_env: pytest.MonkeyPatch, name: str) -> None:
    from sqlalchemy.engine import make_url

    settings = Settings.from_env(data_dir=tmp_path / name)
    assert make_url(settings.store_url()).database == str(tmp_path / name / "samlfed.db")


def test_tls_settings_go_together_make_the_url_https_and_reach_the_workers(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    from samlfed.config import Settings, SettingsError

    config = tmp_path / "samlfed.toml"
    config.write_text(f'tls_certfile = "{tmp_path / "cert.pem"}"\ntls_keyfile = "{tmp_path / "key.pem"}"\n')
    settings = Settings.from_env(config=config, data_dir=tmp_path, port=8443)
    assert (settings.tls_certfile, settings.tls_keyfile, settings.base_url) == (tmp_path / "cert.pem", tmp_path / "key.pem", "https://127.0.0.1:8443")
    assert Settings.from_env(config=config, data_dir=tmp_path, public_url="https://sso.example.com").base_url == "https://sso.example.com"
    for name, value in settings.to_env().items():
        clean_env.setenv(name, value)
    assert Settings.from_env().tls_keyfile == tmp_path / "key.pem"
    clean_env.delenv("SAMLFED_TLS_KEYFILE")
    with pytest.raises(SettingsError, match="tls_certfile and tls_keyfile go together"):
        Settings.from_env()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true", "sqlite:///file::memory:?uri=true"])
def test_an_sqlite_database_held_in_memory_is_refused(clean_env: pytest.MonkeyPatch, url: str) -> None:
    """Accepted, it was a database of the process's own: `accounts create` printed the key of an account gone as it
    exited, and each worker of `serve` wrote to its own empty database, which no restart kept."""
    from typer.testing import CliRunner

    from samlfed.cli import app
    from samlfed.config import SettingsError

    with pytest.raises(SettingsError, match=r"--database-url: database_url names an SQLite database held in memory .* name its file"):
        Settings.from_env(database_url=url)
    clean_env.setenv("SAMLFED_DATABASE_URL", url)
    with pytest.raises(SettingsError, match=r"SAMLFED_DATABASE_URL: database_url names an SQLite database held in memory"):
        Settings.from_env()
    clean_env.delenv("SAMLFED_DATABASE_URL")
    clean_env.setenv("SAMLFED_MASTER_KEY", "a" * 43 + "=")
    created = CliRunner().invoke(app, ["accounts", "create", "--database-url", url, "--json"])
    assert created.exit_code == 2 and "held in memory" in created.output and "SecretAccessKey" not in created.output, created.output


def test_an_sqlite_file_url_is_kept(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    for url in (f"sqlite:///{tmp_path / 'samlfed.db'}", f"sqlite:///file:{tmp_path / 'samlfed.db'}?mode=rwc&uri=true"):
        assert Settings.from_env(database_url=url).store_url() == url

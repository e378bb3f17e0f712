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

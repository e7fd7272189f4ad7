"""Settings: env prefix, TOML file, clear errors that name the setting, and complete docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assay.core.config import Settings, load_settings, write_secret_key
from assay.core.errors import ConfigError

DOCS = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`(ASSAY_[A-Z_]+)`", DOCS.read_text(encoding="utf-8")))
    missing = {f"ASSAY_{name.upper()}" for name in Settings.model_fields} - documented
    assert not missing, f"settings missing from docs/configuration.md: {sorted(missing)}"


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSAY_JOB_BACKEND", "redis")
    settings = load_settings()
    assert settings.data_dir == tmp_path
    assert settings.job_backend == "redis"
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'assay.db').resolve()}"


def test_toml_file_is_read_below_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "assay.toml"
    config.write_text('[assay]\nport = 9001\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("ASSAY_CONFIG_FILE", str(config))
    monkeypatch.setenv("ASSAY_HOST", "127.0.0.2")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.host == "127.0.0.2"


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSAY_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"ASSAY_CONFIG_FILE.*nope\.toml.*does not exist"):
        load_settings()


def test_corrupt_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[assay\nport = ")
    monkeypatch.setenv("ASSAY_CONFIG_FILE", str(config))
    with pytest.raises(ConfigError, match=r"bad\.toml is not valid TOML"):
        load_settings()


def test_unknown_setting_in_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text("[assay]\nprot = 1\n")
    monkeypatch.setenv("ASSAY_CONFIG_FILE", str(config))
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings()


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_PORT", "eighty")
    with pytest.raises(ConfigError, match="ASSAY_PORT"):
        load_settings()


def test_no_secret_key_refuses_with_the_fix(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="assay init"):
        settings.require_secret_key()


def test_secret_key_file_is_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    path = write_secret_key(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    key = settings.require_secret_key()
    assert len(key) >= 32
    write_secret_key(settings)
    assert settings.require_secret_key() == key

"""One configuration reader: provider variables come through the same sources as every other
setting (the environment over the env files), limits carry the DR_ prefix (the old names still
count, with a warning), and keys stay secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streams.config import Settings


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No provider variable from the machine; an empty env file of our own."""
    for name in list(os.environ):
        if "_API_KEY" in name or name.startswith(("DR_OPENAI", "OPENAI_", "DR_ANTHROPIC")):
            monkeypatch.delenv(name)
    env_file = tmp_path / "test.env"
    env_file.write_text("")
    return env_file


def _settings(env_file: Path) -> Settings:
    return Settings(_env_file=env_file, providers=["openai", "anthropic"])  # type: ignore[call-arg]


def test_keys_and_limits_from_the_environment(clean: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-first")
    monkeypatch.setenv("OPENAI_API_KEY_2", "sk-second")
    monkeypatch.setenv("OPENAI_API_KEY_4", "sk-after-a-gap")
    monkeypatch.setenv("DR_OPENAI_RPM", "120")
    monkeypatch.setenv("DR_OPENAI_TPM_2", "999")
    monkeypatch.setenv("DR_OPENAI_MODEL", "gpt-test")
    config = _settings(clean).provider_configs["openai"]
    assert [k.secret.get_secret_value() for k in config.keys] == ["sk-first", "sk-second"]
    assert (config.rpm, config.model, config.keys[1].tpm, config.keys[0].tpm) == (
        120, "gpt-test", 999, None)
    assert _settings(clean).provider_configs["anthropic"].keys == ()


def test_the_env_file_is_read_and_the_environment_wins(clean: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    clean.write_text("ANTHROPIC_API_KEY=sk-ant-file\nDR_ANTHROPIC_RPM=30\nDR_OPENAI_RPM=7\n")
    monkeypatch.setenv("DR_OPENAI_RPM", "8")
    configs = _settings(clean).provider_configs
    assert configs["anthropic"].keys[0].secret.get_secret_value() == "sk-ant-file"
    assert (configs["anthropic"].rpm, configs["openai"].rpm) == (30, 8)


def test_old_limit_names_count_with_a_warning(clean: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_RPM", "45")
    with pytest.warns(DeprecationWarning, match="set DR_OPENAI_RPM instead"):
        assert _settings(clean).provider_configs["openai"].rpm == 45
    monkeypatch.setenv("DR_OPENAI_RPM", "50")  # the new name wins, silently
    assert _settings(clean).provider_configs["openai"].rpm == 50


def test_zero_means_unlimited_not_the_default(clean: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DR_OPENAI_RPM", "0")
    assert _settings(clean).provider_configs["openai"].rpm == 0


def test_keys_never_show_in_the_settings(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    settings = _settings(clean)
    assert settings.provider_configs["openai"].keys
    assert "sk-very-secret" not in repr(settings) + str(settings.model_dump())

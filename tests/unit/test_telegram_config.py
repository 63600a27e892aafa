"""The bridge's configuration: defaults, and clear errors for what is missing or wrong."""

from __future__ import annotations

import pytest

from bot.telegram.config import ConfigError, Mode, TelegramConfig

TOKEN = "123456:ABC-def_ghi"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_MODE", "TELEGRAM_WEBHOOK_URL",
                 "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_LISTEN", "TELEGRAM_WEBHOOK_PORT",
                 "TELEGRAM_API_BASE_URL", "RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODESIGN_SECRET_KEY", "test-secret-key-0123456789abcdef")


def test_polling_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    config = TelegramConfig.from_env()
    assert config.mode is Mode.polling and config.rasa_url == "http://127.0.0.1:5005"
    assert config.api_base_url is None and config.secret_key == b"test-secret-key-0123456789abcdef"


def test_webhook_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_MODE", "Webhook")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.council.example/hooks/telegram")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret_-value")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_PORT", "9000")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("RASA_URL", "http://rasa:5005/")
    config = TelegramConfig.from_env()
    assert config.mode is Mode.webhook and config.port == 9000
    assert config.webhook_path == "hooks/telegram"
    assert config.api_base_url == "http://127.0.0.1:8081" and config.rasa_url == "http://rasa:5005"


@pytest.mark.parametrize(("env", "message"), [
    ({}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "not a token"}, "does not look like a bot token"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "CODESIGN_SECRET_KEY": "short"}, "CODESIGN_SECRET_KEY"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": "push"}, "'polling' or 'webhook'"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": "webhook"}, "needs TELEGRAM_WEBHOOK_URL"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": "webhook",
      "TELEGRAM_WEBHOOK_URL": "http://bot.example/t", "TELEGRAM_WEBHOOK_SECRET": "abc"},
     "must start with https://"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": "webhook",
      "TELEGRAM_WEBHOOK_URL": "https://bot.example/t"}, "needs TELEGRAM_WEBHOOK_SECRET"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MODE": "webhook",
      "TELEGRAM_WEBHOOK_URL": "https://bot.example/t", "TELEGRAM_WEBHOOK_SECRET": "no spaces"},
     "TELEGRAM_WEBHOOK_SECRET"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_PORT": "eighty"}, "TELEGRAM_WEBHOOK_PORT"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "RASA_URL": "localhost:5005"}, "RASA_URL must be"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
])
def test_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                  message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        TelegramConfig.from_env()


def test_cli_reports_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli.main import app

    result = CliRunner().invoke(app, ["telegram"])
    assert result.exit_code == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in result.output

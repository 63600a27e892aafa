"""Settings of the web app, its security policy and its command line."""

from __future__ import annotations

import pytest

from bot.web import __main__ as web_main
from bot.web.security import content_security_policy
from bot.web.settings import DEFAULT_RASA_PUBLIC_URL, WebSettings


def test_from_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.db")
    monkeypatch.delenv("RASA_PUBLIC_URL", raising=False)
    monkeypatch.delenv("CODESIGN_SITE_TITLE", raising=False)
    settings = WebSettings.from_env()
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert settings.rasa_public_url == DEFAULT_RASA_PUBLIC_URL == "http://127.0.0.1:5005"
    assert settings.rasa_socket_origins == ("http://127.0.0.1:5005", "ws://127.0.0.1:5005")


def test_from_env_reads_the_public_rasa_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://consult.example.org/bot/")
    monkeypatch.setenv("CODESIGN_SITE_TITLE", "Riverside: have your say")
    settings = WebSettings.from_env()
    assert settings.rasa_origin == "https://consult.example.org"
    assert settings.rasa_socket_origins == ("https://consult.example.org",
                                            "wss://consult.example.org")
    assert settings.site_title == "Riverside: have your say"


@pytest.mark.parametrize("url", ["ftp://example.org", "127.0.0.1:5005", "", "http://"])
def test_rasa_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="RASA_PUBLIC_URL"):
        WebSettings(database_url="sqlite://", rasa_public_url=url)


def test_content_security_policy_lists_only_self_and_the_socket() -> None:
    policy = content_security_policy(["https://bot.example", "wss://bot.example"])
    assert "connect-src 'self' https://bot.example wss://bot.example" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy and "default-src 'none'" in policy


def test_main_passes_host_and_port_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(web_main.uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    web_main.main(["--host", "0.0.0.0", "--port", "8123"])
    assert calls and calls[0]["host"] == "0.0.0.0" and calls[0]["port"] == 8123
    assert calls[0]["proxy_headers"] is False

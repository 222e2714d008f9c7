from __future__ import annotations

import logging

import pytest
import tweepy
from pydantic import ValidationError

from desk.config import Settings, get_settings
from desk.connectors.registry import build_connectors
from desk.domain import Platform
from desk.logs import install_redaction


def test_platform_without_credentials_is_off() -> None:
    assert build_connectors(Settings()) == {}


def test_platforms_turn_on_with_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_X_BEARER_TOKEN", "AAAAbearer-for-tests")
    monkeypatch.setenv("DESK_X_USER_ID", "42")
    monkeypatch.setenv("DESK_FB_PAGE_ID", "1001")
    monkeypatch.setenv("DESK_FB_PAGE_TOKEN", "EAAB-page-token")
    monkeypatch.setenv("DESK_GRAPH_API_VERSION", "21.0")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.graph_api_version == "v21.0"
    connectors = build_connectors(settings)
    assert set(connectors) == {Platform.X, Platform.FACEBOOK}
    assert connectors[Platform.FACEBOOK].graph.version == "v21.0"  # type: ignore[attr-defined]


def test_placeholder_secrets_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_X_BEARER_TOKEN", "changeme")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings()


def test_secrets_never_reach_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    install_redaction(["AAAA-very-secret-bearer"])
    for handler in logging.getLogger().handlers:  # prove the record itself is clean, not one handler
        handler.filters.clear()
    logging.getLogger("tweepy.client").setLevel(logging.DEBUG)
    log = logging.getLogger("tweepy.client")
    log.debug("Headers: {'Authorization': 'Bearer AAAA-very-secret-bearer'}")
    log.warning("GET https://graph.facebook.com/v19.0/1/feed?access_token=EAAB123&limit=5")
    text = caplog.text
    assert "AAAA-very-secret-bearer" not in text
    assert "EAAB123" not in text
    assert "access_token=[redacted]" in text


def test_secret_settings_do_not_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_FB_PAGE_TOKEN", "EAAB-page-token")
    assert "EAAB-page-token" not in repr(Settings())
    _ = tweepy  # the library whose DEBUG logging this guards


def test_an_apis_error_text_is_flattened_and_shortened_for_people() -> None:
    from desk.errors import clip

    assert clip("Invalid\n  token\tgiven") == "Invalid token given"
    long = clip("x" * 500, limit=50)
    assert len(long) == 50 and long.endswith("…")
    assert clip({"error": "odd body"}) == "{'error': 'odd body'}"

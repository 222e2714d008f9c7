"""Sandbox networks and settings that point the connectors at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desk.config import Settings


@pytest.fixture
def nets() -> Iterator[object]:
    from desk.sandbox import SandboxNetworks

    with SandboxNetworks.start(host="127.0.0.1", x_port=0, graph_port=0, incident=None) as networks:
        yield networks


@pytest.fixture
def desk_settings(nets, monkeypatch: pytest.MonkeyPatch) -> Settings:  # type: ignore[no-untyped-def]
    for key, value in nets.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DESK_HTTP_TIMEOUT_SECONDS", "1.0")
    monkeypatch.setenv("DESK_RETRY_ATTEMPTS", "4")
    monkeypatch.setenv("DESK_RETRY_MAX_WAIT_SECONDS", "3")
    monkeypatch.setenv("DESK_PAGE_SIZE", "10")
    from desk.config import get_settings

    get_settings.cache_clear()
    return get_settings()


class SleepRecorder:
    """Records the backoff waits instead of sleeping them (the waits are what we assert on)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()

"""Page tests run the whole app (app.py) under AppTest on a migrated temp SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine


@pytest.fixture
def desk_engine(sqlite_engine: Engine, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from desk.config import get_settings

    monkeypatch.setenv("DESK_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield sqlite_engine


@pytest.fixture
def sandbox_desk(desk_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, object]]:
    """The desk pointed at in-process sandbox networks (real tweepy/facebook-sdk over HTTP)."""
    from desk.config import get_settings
    from desk.sandbox import SandboxNetworks

    with SandboxNetworks.start(
        host="127.0.0.1", x_port=0, graph_port=0, incident=None, speed=float("inf")
    ) as nets:
        for key, value in nets.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DESK_HTTP_TIMEOUT_SECONDS", "2")
        monkeypatch.setenv("DESK_RETRY_ATTEMPTS", "1")
        get_settings.cache_clear()
        yield desk_engine, nets

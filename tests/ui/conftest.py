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

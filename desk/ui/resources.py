"""Process-wide resources shared by every browser session (``st.cache_resource``).

They must be thread-safe: an SQLAlchemy engine is; connectors hold a requests
session each; the triager is read-only after loading.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from sqlalchemy import Engine

from desk.config import get_settings
from desk.connectors.base import Connector
from desk.domain import Platform


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    from desk.store.engine import make_engine
    from desk.store.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)  # idempotent; lets the desk start on an empty database
    return engine


def engine() -> Engine:
    return _engine(get_settings().database_url)


@st.cache_resource(show_spinner=False)
def _connectors(url: str, fingerprint: tuple[str, ...]) -> dict[Platform, Connector]:
    from desk.connectors.registry import build_connectors

    return build_connectors(get_settings())


def connectors() -> dict[Platform, Connector]:
    settings = get_settings()
    # Rebuild when the endpoints change (tests start fresh sandboxes in one process).
    fingerprint = (
        settings.x_api_base,
        settings.graph_api_base,
        str(settings.x_read_enabled),
        str(settings.facebook_enabled),
    )
    return _connectors(settings.database_url, fingerprint)


@st.cache_resource(show_spinner="Loading the triage model…")
def triager() -> Any:
    from desk.triage.model import load_triager

    return load_triager(get_settings())

"""Which connectors are on: a platform without credentials is simply off."""

from __future__ import annotations

from desk.config import Settings
from desk.connectors.base import Connector
from desk.domain import Platform
from desk.logs import install_redaction


def build_connectors(settings: Settings) -> dict[Platform, Connector]:
    install_redaction(settings.secrets())
    connectors: dict[Platform, Connector] = {}
    if settings.x_read_enabled:
        from desk.connectors.x import XConnector

        connectors[Platform.X] = XConnector(settings)
    if settings.facebook_enabled:
        from desk.connectors.facebook import FacebookConnector

        connectors[Platform.FACEBOOK] = FacebookConnector(settings)
    return connectors

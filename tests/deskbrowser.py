"""Shared values of the browser tests (tests/e2e): screenshot folder, screen sizes, the running desk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = os.environ.get("DESK_TEST_CHROMIUM", "/usr/bin/chromium")
VIEWPORTS = {"laptop": (1366, 768), "monitor": (1920, 1080)}


@dataclass
class Desk:
    url: str
    nets: Any
    engine: Any
    mentions: dict[str, str]  # label -> external id
    connectors: Any = None  # the desk's connectors, for ingesting more mentions during a test
    settings: Any = None

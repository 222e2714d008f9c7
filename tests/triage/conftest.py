"""Triage fixtures: the shipped model, loaded once per test session, and the fixed validation sample."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE_DIR = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def triager():  # type: ignore[no-untyped-def]
    """The shipped model as ``load_triager()`` gives it (cached, so later calls reuse this one)."""
    from desk.config import Settings
    from desk.triage.model import load_triager

    return load_triager(Settings(_env_file=None, triage_model=None))  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE_DIR

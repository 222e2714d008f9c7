"""AppTest of the whole desk (app.py) as a given agent."""

from __future__ import annotations

import re
from pathlib import Path

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def app(agent: str | None = "Ana", page: str | None = None, **state: object):  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=30)
    if agent:
        at.session_state["desk.agent"] = agent
    for key, value in state.items():
        at.session_state[key] = value
    if page:
        at.switch_page(page)
    return at


def page(name: str, agent: str | None = "Ana"):  # type: ignore[no-untyped-def]
    """One page's ``render()`` on its own (no navigation), as ``agent``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(f"from desk.ui.views.{name} import render\nrender()\n", default_timeout=30)
    if agent:
        at.session_state["desk.agent"] = agent
    return at


def plain(value: str) -> str:
    """What a person reads from escaped Markdown (the desk escapes messages that carry others' text)."""
    return re.sub(r"\\(.)", r"\1", value)

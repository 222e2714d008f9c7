"""Rules of the UI that a grep can keep: only desk/ui imports streamlit; no page renders raw HTML."""

from __future__ import annotations

import re
from pathlib import Path

DESK = Path(__file__).resolve().parents[2] / "desk"
IMPORTS_STREAMLIT = re.compile(r"^\s*(import streamlit|from streamlit)", re.MULTILINE)


def test_only_the_ui_package_imports_streamlit() -> None:
    offenders = [
        str(path.relative_to(DESK))
        for path in DESK.rglob("*.py")
        if "ui" not in path.relative_to(DESK).parts[:1] and IMPORTS_STREAMLIT.search(path.read_text())
    ]
    assert offenders == []


def test_no_page_renders_raw_html() -> None:
    ui = DESK / "ui"
    assert list(ui.rglob("*.py"))
    for path in ui.rglob("*.py"):
        text = path.read_text()
        assert "unsafe_allow_html" not in text, path
        assert "st.html(" not in text and "components.html" not in text, path

"""The desk's pages, built in one place so ``app.py`` and page switches agree on them."""

from __future__ import annotations

import streamlit as st

from desk.ui import resources, widgets
from desk.ui.views import analytics, conversation, queue, settings

_PAGES = {
    "queue": (queue.render, "Queue", ":material/inbox:"),
    "conversation": (conversation.render, "Conversation", ":material/forum:"),
    "analytics": (analytics.render, "Analytics", ":material/monitoring:"),
    "settings": (settings.render, "Settings", ":material/settings:"),
}


def page(name: str) -> st.Page:
    fn, title, icon = _PAGES[name]
    return st.Page(widgets.guarded(fn), title=title, icon=icon, url_path=name, default=name == "queue")


def all_pages() -> list[st.Page]:
    return [page(name) for name in _PAGES]


def go(name: str) -> None:
    st.switch_page(page(name))


@widgets.guarded
def frame(current: st.navigation) -> None:  # type: ignore[valid-type]
    """The page frame: who is working (sidebar), then the chosen page."""
    widgets.agent_sidebar(resources.engine())
    current.run()  # type: ignore[attr-defined]

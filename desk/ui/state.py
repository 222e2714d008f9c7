"""Typed accessors for ``st.session_state``: one place knows the keys.

Drafts live in the text area's own state with ``persist_state="session"``, keyed by
mention id, so navigating away, auto-refresh and reruns never wipe what an agent typed.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import streamlit as st

from desk.queue import QueueFilter

AGENT = "desk.agent"
MENTION = "desk.mention_id"
FILTER = "desk.queue_filter"
PAGE = "desk.queue_page"
FLASH = "desk.flash"
REPLY_KEY = "desk.reply_key.{mention_id}"
TEMPLATE = "desk.template.{mention_id}"
DRAFT = "draft-{mention_id}"


def agent() -> str | None:
    value = st.session_state.get(AGENT)
    return value if isinstance(value, str) and value else None


def set_agent(name: str | None) -> None:
    st.session_state[AGENT] = name
    if name:
        st.query_params["agent"] = name
    elif "agent" in st.query_params:
        del st.query_params["agent"]


def current_mention() -> int | None:
    value = st.session_state.get(MENTION)
    return value if isinstance(value, int) else None


def set_current_mention(mention_id: int | None) -> None:
    st.session_state[MENTION] = mention_id
    if mention_id is None:
        st.query_params.pop("mention", None)
    else:
        st.query_params["mention"] = str(mention_id)


def queue_filter() -> QueueFilter:
    value = st.session_state.get(FILTER)
    return value if isinstance(value, QueueFilter) else QueueFilter()


def set_queue_filter(flt: QueueFilter) -> None:
    if flt != queue_filter():
        st.session_state[PAGE] = 1
    st.session_state[FILTER] = flt


def update_queue_filter(**changes: object) -> None:
    set_queue_filter(replace(queue_filter(), **changes))  # type: ignore[arg-type]


def queue_page() -> int:
    value = st.session_state.get(PAGE)
    return value if isinstance(value, int) and value > 0 else 1


def set_queue_page(page: int) -> None:
    st.session_state[PAGE] = max(1, page)


def draft_key(mention_id: int) -> str:
    return DRAFT.format(mention_id=mention_id)


def draft(mention_id: int) -> str:
    value = st.session_state.get(draft_key(mention_id))
    return value if isinstance(value, str) else ""


def set_draft(mention_id: int, text: str) -> None:
    st.session_state[draft_key(mention_id)] = text


def template_key(mention_id: int) -> str:
    return TEMPLATE.format(mention_id=mention_id)


def reply_key(mention_id: int) -> str:
    """Idempotency key of this session's reply to ``mention_id``: a retry reuses it, never posting twice."""
    key = REPLY_KEY.format(mention_id=mention_id)
    if not isinstance(st.session_state.get(key), str):
        st.session_state[key] = f"ui-{mention_id}-{uuid.uuid4().hex}"
    return str(st.session_state[key])


def flash(kind: str, message: str) -> None:
    """A message to show once, on the next render (survives a page switch)."""
    st.session_state.setdefault(FLASH, []).append((kind, message))


def take_flashes() -> list[tuple[str, str]]:
    messages = st.session_state.get(FLASH) or []
    st.session_state[FLASH] = []
    return list(messages)

"""Small pieces every page uses. Text from the networks goes through :func:`network_text` or
:func:`md` — shown as text, never as HTML, with invisible characters made visible."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ParamSpec

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from desk.display import escape_markdown, reveal_invisible
from desk.errors import DeskError
from desk.replies import platform_name
from desk.team import add_member, clean_name, get_member, list_members
from desk.ui import state

log = logging.getLogger(__name__)
PLATFORM_ICONS = {"x": "𝕏", "facebook": "f"}
STATUS_WORDS = {"new": "new", "claimed": "claimed", "replied": "replied", "closed": "closed"}


def network_text(value: str | None, limit: int = 0) -> None:
    """A post or name from a network: plain text, invisible characters revealed, cut to ``limit`` if given."""
    shown = reveal_invisible(value) or "—"
    if limit and len(shown) > limit:
        shown = shown[: limit - 1] + "… (open it for the full text)"
    st.text(shown)


def md(value: str | None) -> str:
    """Network text made safe to embed inside our own Markdown."""
    return escape_markdown(value)


def platform_label(platform: str) -> str:
    return f"{PLATFORM_ICONS.get(platform, '?')} {platform_name(platform)}"


def age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def triage_chips(sentiment: str | None, angry: bool, question: bool | None) -> str:
    """Markdown badges in our own words (no network text in here)."""
    if sentiment is None:
        return ":gray-badge[not triaged yet]"
    colour = {"negative": "red", "neutral": "gray", "positive": "green"}.get(sentiment, "gray")
    chips = [f":{colour}-badge[{sentiment}]"]
    if angry:
        chips.append(":orange-badge[angry]")
    if question:
        chips.append(":blue-badge[question]")
    return " ".join(chips)


def status_chip(status: str, claimed_by: str | None, handled_by: str | None, me: str | None) -> str:
    if status in ("new", "claimed") and claimed_by:
        who = "you are" if claimed_by == me else f"{md(claimed_by)} is"
        return f":violet-badge[{who} replying]"
    if status == "replied":
        return f":green-badge[replied by {md(handled_by or 'the team')}]"
    if status == "closed":
        return f":gray-badge[closed by {md(handled_by or 'the team')}]"
    return ":blue-badge[new]"


P = ParamSpec("P")


def guarded(fn: Callable[P, None]) -> Callable[P, None]:
    """Run a page or fragment so that a broken database or a refusal shows as a sentence, not a traceback.

    Streamlit's own control-flow exceptions (rerun, stop, page switch) are not caught.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except DeskError as exc:
            error_box(exc)
        except SQLAlchemyError as exc:
            log.warning("database error while rendering %s: %s", fn.__name__, exc)
            st.error(
                "The desk's database did not answer properly, so this part cannot be shown right now. "
                f"Try again in a moment; if it persists, tell a lead. ({type(exc).__name__})"
            )

    return run


def show_flashes() -> None:
    for kind, message in state.take_flashes():
        # Messages can carry a platform's error text or a person's name: escaped, never Markdown.
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(md(message))


def error_box(exc: DeskError) -> None:
    st.error(md(str(exc)) or "Something went wrong.")


def agent_sidebar(engine: Engine) -> str | None:
    """Who is working: picked once per browser session, remembered in the URL (``?agent=``) across reloads."""
    current = state.agent()
    if current is None:
        from_url = st.query_params.get("agent")
        if from_url:
            try:
                current = clean_name(from_url)
                add_member(engine, current)
                state.set_agent(current)
            except DeskError:
                current = None
    if current and st.query_params.get("agent") != current:
        st.query_params["agent"] = current  # a page switch drops query params; a reload must keep the name
    with st.sidebar:
        if current:
            member = get_member(engine, current)
            role = "lead" if member and member.is_lead else "agent"
            st.markdown(f"Working as **{md(current)}** ({role})")
            if st.button("Switch person", key="desk.switch_agent"):
                state.set_agent(None)
                st.rerun()
            return current
        st.markdown("**Who is working?**")
        names = [m.name for m in list_members(engine)]
        with st.form("desk.pick_agent", border=False):
            picked = (
                st.selectbox("Your name", names, index=None, placeholder="Pick your name") if names else None
            )
            new_name = st.text_input("…or a new name", max_chars=80)
            if st.form_submit_button("Start working", type="primary"):
                try:
                    name = clean_name(new_name) if new_name.strip() else clean_name(picked or "")
                    add_member(engine, name)
                    state.set_agent(name)
                    st.rerun()
                except DeskError as exc:
                    error_box(exc)
    return None


def require_agent() -> str:
    """The agent's name, or a calm request to pick one (the page stops there)."""
    name = state.agent()
    if name is None:
        st.info("Pick your name in the sidebar first: every claim, reply and note records who did it.")
        st.stop()
    return name  # type: ignore[return-value]

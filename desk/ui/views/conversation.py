"""Conversation page: one mention with its thread, author card, triage explanation, the reply composer,
claim controls and internal notes."""

from __future__ import annotations

import math

import streamlit as st
from sqlalchemy import Engine

from desk.claims import CLAIM_IDLE, claim, release, take_over, touch
from desk.conversation import MentionDetail, mention_detail
from desk.display import handle_label, safe_link
from desk.errors import DeskError
from desk.incidents import current_incident
from desk.notes import add_note
from desk.replies import mark_done, platform_name, send_reply
from desk.store.types import utcnow
from desk.team import is_lead
from desk.templates import count_for, first_name_of, handle_for_reply, list_templates
from desk.templates import render as render_template
from desk.ui import resources, state, widgets

OPEN = ("new", "claimed")
THREAD_REFRESH_SECONDS = 15
ROLE_WORDS = {
    "parent": "Original post",
    "earlier": "Earlier, same author",
    "this": "This mention",
    "later": "Later, same author",
    "conversation": "In this conversation",
    "elsewhere": "Same name on another platform (maybe the same person)",
    "ours": "Our reply",
}


def _mention_id() -> int | None:
    mention_id = state.current_mention()
    if mention_id is None:
        raw = st.query_params.get("mention")
        if raw and raw.isdigit():
            mention_id = int(raw)
            state.set_current_mention(mention_id)
    return mention_id


def render() -> None:
    engine = resources.engine()
    widgets.show_flashes()
    me = state.agent()
    mention_id = _mention_id()
    if mention_id is None:
        st.title("Conversation")
        st.info("Open a mention from the Queue, or take the next one.")
        if st.button("Next mention", type="primary", shortcut="Alt+N", key="desk.conv.next_empty"):
            from desk.ui.views.queue import open_next

            open_next(me)
        return
    if st.query_params.get("mention") != str(mention_id):
        st.query_params["mention"] = str(mention_id)  # a reload reopens the same mention
    try:
        detail = mention_detail(engine, mention_id)
    except DeskError as exc:
        widgets.error_box(exc)
        return
    if me and detail.claim and detail.claim.agent == me and detail.status in OPEN:
        touch(engine, mention_id, me)  # a person is working on it: keep the claim alive
    _header(detail)
    _claim_bar(engine, detail, me)
    left, right = st.columns([3, 2], gap="large")
    with left:
        _thread(mention_id)
        _triage(engine, detail, me)
    with right:
        _author(detail)
        _composer(engine, detail, me)
        _notes(engine, detail, me)


def _header(detail: MentionDetail) -> None:
    author = detail.author
    who = handle_label(detail.platform, author.handle if author else None, author.name if author else None)
    st.title("Conversation")
    st.markdown(
        f"**{widgets.platform_label(detail.platform)}** · {widgets.md(who)} · {detail.kind} · "
        f"{widgets.when(detail.created_at)} · waiting {detail.waiting_minutes():.0f} min"
    )
    link = safe_link(detail.permalink)
    if link:
        st.link_button(f"Open on {platform_name(detail.platform)}", link)


def _claim_bar(engine: Engine, detail: MentionDetail, me: str | None) -> None:
    holder = detail.claim.agent if detail.claim else None
    cols = st.columns([4, 1, 1])
    if detail.status == "replied":
        cols[0].success(
            f"Answered by {widgets.md(detail.handled_by or 'the team')} at {widgets.when(detail.handled_at)}."
        )
    elif detail.status == "closed":
        cols[0].info(
            f"Closed without reply by {widgets.md(detail.handled_by or 'the team')} "
            f"at {widgets.when(detail.handled_at)}."
        )
    elif holder is None:
        cols[0].info("Nobody is replying to this mention.")
        if me and cols[1].button("Claim", key="desk.conv.claim", type="primary"):
            _act(lambda: claim(engine, detail.id, me))
    elif holder == me:
        minutes = int(CLAIM_IDLE.total_seconds() // 60)
        cols[0].info(
            f"You are replying. Others cannot send to it; the claim lapses after {minutes} idle minutes."
        )
        if cols[1].button("Release", key="desk.conv.release", help="Give it back to the queue"):
            _act(lambda: release(engine, detail.id, me))
    else:
        cols[0].warning(f"{widgets.md(holder)} is replying to this mention; you cannot send to it.")
        if me and is_lead(engine, me):
            if cols[1].button("Take over", key="desk.conv.take_over", type="primary"):
                _act(lambda: take_over(engine, detail.id, me))
            if cols[2].button("Release theirs", key="desk.conv.release_other"):
                _act(lambda: release(engine, detail.id, me))
    if st.button(
        "Next mention",
        key="desk.conv.next",
        shortcut="Alt+N",
        help="Go to the next most urgent mention (Alt+N)",
    ):
        _next(engine, detail, me)


def _next(engine: Engine, detail: MentionDetail, me: str | None) -> None:
    from desk.ui.views.queue import open_next

    if (
        me
        and detail.claim
        and detail.claim.agent == me
        and detail.status in OPEN
        and not state.draft(detail.id)
    ):
        release(engine, detail.id, me)  # nothing drafted: hand it back rather than sit on it
    open_next(me, exclude=frozenset({detail.id}))


def _act(action) -> None:  # type: ignore[no-untyped-def]
    try:
        action()
    except DeskError as exc:
        state.flash("error", str(exc))
    st.rerun()


@st.fragment(run_every=THREAD_REFRESH_SECONDS)
@widgets.guarded
def _thread(mention_id: int) -> None:
    """The conversation around the mention; refreshes itself so new messages appear."""
    try:
        detail = mention_detail(resources.engine(), mention_id)
    except DeskError as exc:
        widgets.error_box(exc)
        return
    me = state.agent()
    if me and detail.claim and detail.claim.agent == me and state.draft(mention_id).strip():
        # Someone with a draft in progress is working, even without clicking: keep their claim alive.
        touch(resources.engine(), mention_id, me)
    st.subheader("Thread")
    st.caption(
        f"Thread updated {utcnow().strftime('%H:%M:%S')} UTC (refreshes every {THREAD_REFRESH_SECONDS} s)"
    )
    for item in detail.thread:
        this = item.role == "this"
        with st.container(border=True):
            label = ROLE_WORDS.get(item.role, item.role)
            who = widgets.md(item.who) if item.who else "unknown"
            extra = ""
            if item.role == "ours":
                extra = f" · {item.status}"
            st.markdown(
                f"{'**' if this else ''}{label}{'**' if this else ''} · "
                f"{widgets.platform_label(item.platform)} · {who} · {widgets.when(item.at)}{extra}"
            )
            widgets.network_text(item.text)
            if item.error:
                st.caption(f"Not sent: {item.error}")


def _triage(engine: Engine, detail: MentionDetail, me: str | None) -> None:
    st.subheader("Why this priority")
    t = detail.triage
    if t is None:
        st.info("Not triaged yet; the model reads new mentions within a minute.")
        return
    followers = detail.author.followers if detail.author else None
    st.markdown(
        widgets.triage_chips(t.sentiment, t.anger >= 0.5 or t.emotion == "anger", t.question)
        + (" :gray-badge[corrected by an agent]" if t.corrected else "")
    )
    cols = st.columns(4)
    cols[0].metric("Priority (0–100)", f"{t.priority:.0f}")
    cols[1].metric("Anger", f"{t.anger:.0%}")
    cols[2].metric("Negative", f"{t.negative:.0%}")
    cols[3].metric("Question", f"{t.question_score:.0%}")
    st.caption("Because: " + "; ".join(t.reasons(followers, detail.waiting_minutes())))
    try:
        from desk.triage import priority as p

        content = p.W_ANGER * t.anger + p.W_NEGATIVE * t.negative + p.W_QUESTION * float(t.question)
        reach = min(
            1.0,
            math.log10(1 + (followers if followers is not None else p.UNKNOWN_FOLLOWERS)) / p.REACH_DECADES,
        )
        waiting = -math.expm1(-detail.waiting_minutes() / p.WAITING_SCALE_MINUTES)
        st.caption(
            f"Points: what the text says {100 * p.W_CONTENT * content:.0f} · "
            f"reach {100 * p.W_REACH * reach:.0f} · "
            f"waiting {100 * p.W_WAITING * waiting:.0f} · the rest from engagement and repeat contact. "
            f"Sentiment {t.negative:.0%} negative / {t.neutral:.0%} neutral / {t.positive:.0%} positive; "
            f"emotion {t.emotion}; model {t.model_version}."
        )
    except ImportError:
        pass
    if not me:
        return
    with st.expander("Correct the triage"), st.form(f"desk.conv.correct.{detail.id}", border=False):
        from desk.triage.data import EMOTION_LABELS, SENTIMENT_LABELS

        sentiment = st.selectbox(
            "Sentiment",
            SENTIMENT_LABELS,
            index=list(SENTIMENT_LABELS).index(t.sentiment) if t.sentiment in SENTIMENT_LABELS else 0,
        )
        emotion = st.selectbox(
            "Emotion",
            EMOTION_LABELS,
            index=list(EMOTION_LABELS).index(t.emotion) if t.emotion in EMOTION_LABELS else 0,
        )
        question = st.radio("Asks a question?", ["yes", "no"], index=0 if t.question else 1, horizontal=True)
        if st.form_submit_button("Save correction"):
            from desk.triage.service import correct_triage

            try:
                correct_triage(
                    engine,
                    detail.id,
                    agent=me,
                    sentiment=sentiment,
                    emotion=emotion,
                    question=question == "yes",
                )
                state.flash("success", "Triage corrected; the priority follows.")
            except DeskError as exc:
                state.flash("error", str(exc))
            st.rerun()


def _author(detail: MentionDetail) -> None:
    st.subheader("Author")
    a = detail.author
    if a is None:
        st.caption("The network did not say who wrote this.")
        return
    with st.container(border=True):
        if a.handle:
            st.markdown(f"Handle: {widgets.md(('@' if detail.platform == 'x' else '') + a.handle)}")
        if a.name:
            st.markdown(f"Name: {widgets.md(a.name)}")
        followers = f"{a.followers:,}" if a.followers is not None else "unknown"
        st.markdown(f"Followers: {followers} · mentions stored: {a.mentions_total}")
    if detail.replies_to_author_during_incident:
        st.warning(
            f"We already answered this person {detail.replies_to_author_during_incident}× during this "
            "incident. Check the thread before answering again."
        )


def _template_values(engine: Engine, detail: MentionDetail) -> dict[str, str | None]:
    incident = current_incident(engine)
    a = detail.author
    return {
        "first_name": first_name_of(a.name if a else None, a.handle if a else None),
        "handle": handle_for_reply(detail.platform, a.handle if a else None, a.name if a else None),
        "incident_title": incident.title if incident else None,
        "status_url": incident.status_url if incident else None,
        "eta": incident.eta if incident else None,
    }


def _apply_template(mention_id: int, bodies: dict[int, str], values: dict[str, str | None]) -> None:
    template_id = st.session_state.get(state.template_key(mention_id))
    if template_id in bodies:
        state.set_draft(mention_id, render_template(bodies[template_id], values).text)


def _send(mention_id: int, me: str) -> None:
    """Runs as the button's callback, before the page renders, so a sent draft can be cleared."""
    text = state.draft(mention_id)
    try:
        reply = send_reply(
            resources.engine(),
            resources.connectors(),
            mention_id=mention_id,
            agent=me,
            text=text,
            template_id=st.session_state.get(state.template_key(mention_id)),
            idempotency_key=state.reply_key(mention_id),
        )
    except DeskError as exc:
        state.flash("error", f"Not sent: {exc} Your draft is kept.")
        return
    if reply.status == "sent":
        state.flash("success", "Reply sent.")
        state.set_draft(mention_id, "")
    else:
        state.flash("error", f"Not sent — {reply.error} Your draft is kept; send again when ready.")


def _done(mention_id: int, me: str) -> None:
    try:
        mark_done(resources.engine(), mention_id, me)
        state.flash("success", "Marked done without a reply.")
    except DeskError as exc:
        state.flash("error", str(exc))


def _composer(engine: Engine, detail: MentionDetail, me: str | None) -> None:
    st.subheader("Reply")
    if detail.status not in OPEN:
        st.caption("This mention is handled; nothing to send.")
        return
    if not me:
        st.info("Pick your name in the sidebar to reply.")
        return
    holder = detail.claim.agent if detail.claim else None
    if holder not in (None, me):
        st.caption(f"{widgets.md(holder)} is replying; the composer is locked.")
        return
    templates = list_templates(engine)
    values = _template_values(engine, detail)
    bodies = {t.id: t.body for t in templates}
    names = {t.id: t.name for t in templates}
    st.selectbox(
        "Canned reply",
        list(bodies),
        index=None,
        key=state.template_key(detail.id),
        format_func=lambda tid: names.get(tid, str(tid)),
        placeholder="Start from a template…",
        on_change=_apply_template,
        args=(detail.id, bodies, values),
    )
    st.text_area(
        "Your reply",
        key=state.draft_key(detail.id),
        height=140,
        persist_state="session",
        placeholder="Write the reply. Ctrl+Enter updates the count and preview; Tab then Enter sends.",
    )
    st.button(
        "Send reply",
        type="primary",
        key="desk.conv.send",
        on_click=_send,
        args=(detail.id, me),
        # No keyboard shortcut on purpose: a shortcut fires without leaving the text box, so text typed
        # since the last Ctrl+Enter would not be committed yet and an older draft would go out. Tab (which
        # commits the text) then Enter is the keyboard path, and it always sends what is in the box.
        help="Sends exactly what is in the box. Keyboard: Tab from the text box, then Enter.",
    )
    text = state.draft(detail.id)
    count = count_for(detail.platform, text.strip())
    rule = (
        "X counts every link as 23 and emoji or CJK characters as 2"
        if detail.platform == "x"
        else "Facebook counts characters"
    )
    if count.fits:
        st.caption(f"{count.used} / {count.limit} characters · {count.remaining} left ({rule}).")
    else:
        st.error(f"{count.used} / {count.limit} characters: {-count.remaining} too many ({rule}).")
    rendered = render_template(text, values)
    if rendered.missing:
        st.warning(
            "Fill in before sending: "
            + ", ".join("{" + m + "}" for m in rendered.missing)
            + (
                " — set them on the open incident in Settings."
                if any(m in ("incident_title", "status_url", "eta") for m in rendered.missing)
                else ""
            )
        )
    if text.strip():
        with st.container(border=True):
            st.caption(f"Preview as {platform_name(detail.platform)} will show it")
            widgets.network_text(text.strip())
    cols = st.columns(2)
    cols[0].button(
        "Done without reply",
        key="desk.conv.done",
        on_click=_done,
        args=(detail.id, me),
        help="Close this mention; nothing is sent.",
    )


def _notes(engine: Engine, detail: MentionDetail, me: str | None) -> None:
    st.subheader("Internal notes")
    for note in detail.notes:
        with st.container(border=True):
            st.caption(f"{widgets.md(note.agent)} · {widgets.when(note.created_at)}")
            st.text(note.text)
    if not me:
        return
    with st.form(f"desk.conv.note.{detail.id}", clear_on_submit=True, border=False):
        text = st.text_area("New note (only the team sees it)", max_chars=4000, height=80)
        if st.form_submit_button("Add note"):
            try:
                add_note(engine, detail.id, me, text)
                state.flash("success", "Note added.")
            except DeskError as exc:
                state.flash("error", str(exc))
            st.rerun()

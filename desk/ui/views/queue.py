"""Queue page: every open mention in priority order, filtered and paged by the database."""

from __future__ import annotations

import streamlit as st

from desk.claims import ClaimedByOther
from desk.display import handle_label
from desk.errors import DeskError
from desk.queue import (
    PAGE_SIZES,
    PLATFORMS,
    SENTIMENTS,
    STATUSES,
    QueueFilter,
    QueueRow,
    all_views,
    delete_team_view,
    list_queue,
    open_counts,
    save_team_view,
)
from desk.queue import next_mention as claim_next
from desk.queue import saved_view as find_view
from desk.store.types import utcnow
from desk.ui import resources, state, widgets

REFRESH_SECONDS = 10
QUEUE_TEXT_LIMIT = 600  # a wall of text from one person must not push everyone else off the screen
PAGE_SIZE_KEY = "desk.queue.page_size"


def render() -> None:
    st.title("Queue")
    counts = open_counts(resources.engine())
    st.caption(
        "Open now: " + " · ".join(f"{widgets.platform_label(p)} {counts.get(p, 0):,}" for p in PLATFORMS)
    )
    widgets.show_flashes()
    me = state.agent()
    _filters()
    top = st.columns([2, 2, 2, 3], vertical_alignment="bottom")
    if top[0].button(
        "Next mention",
        type="primary",
        shortcut="Alt+N",
        key="desk.queue.next",
        help="Claim the most urgent open mention nobody else holds (Alt+N).",
    ):
        open_next(me)
    top[1].selectbox("Per page", PAGE_SIZES, index=1, key=PAGE_SIZE_KEY)
    with top[2]:
        _save_view_controls()
    _listing()


def open_next(me: str | None, exclude: frozenset[int] = frozenset()) -> None:
    from desk.ui import navigation

    if me is None:
        st.warning("Pick your name in the sidebar first.")
        return
    try:
        mention_id = claim_next(resources.engine(), me, state.queue_filter(), exclude=exclude)
    except DeskError as exc:
        widgets.error_box(exc)
        return
    if mention_id is None:
        st.info("Nothing left to pick up in this view. Well done.")
        return
    state.set_current_mention(mention_id)
    navigation.go("conversation")


def open_mention(mention_id: int) -> None:
    """Open a mention; opening to reply claims it unless someone else is already on it."""
    from desk.claims import claim
    from desk.ui import navigation

    me = state.agent()
    if me is not None:
        try:
            claim(resources.engine(), mention_id, me)
        except ClaimedByOther as exc:
            state.flash("warning", str(exc))
        except DeskError:
            pass  # handled already: the conversation page says so
    state.set_current_mention(mention_id)
    navigation.go("conversation")


def _apply_view() -> None:
    name = st.session_state.get("desk.queue.view")
    if name:
        try:
            view = find_view(name, resources.engine())
        except DeskError as exc:  # deleted by a colleague meanwhile
            state.flash("warning", str(exc))
            return
        state.set_queue_filter(view.filter)
        _sync_widgets(view.filter)


def _sync_widgets(flt: QueueFilter) -> None:
    st.session_state["desk.queue.platforms"] = list(flt.platforms)
    st.session_state["desk.queue.sentiments"] = list(flt.sentiments)
    st.session_state["desk.queue.statuses"] = list(flt.statuses)
    st.session_state["desk.queue.angry"] = flt.angry_only
    st.session_state["desk.queue.questions"] = flt.questions_only
    st.session_state["desk.queue.author"] = flt.author
    st.session_state["desk.queue.search"] = flt.search
    st.session_state["desk.queue.waiting"] = flt.waiting_minutes or 0
    st.session_state["desk.queue.mine"] = bool(flt.claimed_by)


def _read_widgets() -> None:
    waiting = int(st.session_state.get("desk.queue.waiting") or 0)
    me = state.agent()
    flt = QueueFilter(
        platforms=tuple(st.session_state.get("desk.queue.platforms") or ()),
        sentiments=tuple(st.session_state.get("desk.queue.sentiments") or ()),
        statuses=tuple(st.session_state.get("desk.queue.statuses") or ()),
        angry_only=bool(st.session_state.get("desk.queue.angry")),
        questions_only=bool(st.session_state.get("desk.queue.questions")),
        author=str(st.session_state.get("desk.queue.author") or "")[:200],
        search=str(st.session_state.get("desk.queue.search") or "")[:200],
        waiting_minutes=waiting or None,
        claimed_by=me if st.session_state.get("desk.queue.mine") and me else None,
    )
    state.set_queue_filter(flt)
    st.session_state["desk.queue.view"] = None


def _filters() -> None:
    if "desk.queue.platforms" not in st.session_state:
        _sync_widgets(state.queue_filter())
    views = all_views(resources.engine())
    with st.container(border=True):
        row = st.columns([2, 2, 2, 2])
        row[0].selectbox(
            "Saved view",
            [v.name for v in views],
            index=None,
            key="desk.queue.view",
            placeholder="Pick a saved view",
            on_change=_apply_view,
            help="\n".join(f"- **{widgets.md(v.name)}**: {widgets.md(v.description)}" for v in views),
        )
        row[1].multiselect(
            "Platform",
            PLATFORMS,
            key="desk.queue.platforms",
            on_change=_read_widgets,
            format_func=widgets.platform_label,
            placeholder="All platforms",
        )
        row[2].multiselect(
            "Sentiment",
            SENTIMENTS,
            key="desk.queue.sentiments",
            on_change=_read_widgets,
            placeholder="Any sentiment",
        )
        row[3].multiselect(
            "Status", STATUSES, key="desk.queue.statuses", on_change=_read_widgets, placeholder="Any status"
        )
        row = st.columns([3, 3, 2, 2, 2, 2])
        row[0].text_input(
            "Search text",
            key="desk.queue.search",
            on_change=_read_widgets,
            max_chars=200,
            placeholder="words in the mention",
        )
        row[1].text_input(
            "Author",
            key="desk.queue.author",
            on_change=_read_widgets,
            max_chars=200,
            placeholder="handle or name",
        )
        row[2].number_input(
            "Waiting ≥ min",
            min_value=0,
            max_value=100_000,
            step=15,
            key="desk.queue.waiting",
            on_change=_read_widgets,
        )
        row[3].toggle("Angry", key="desk.queue.angry", on_change=_read_widgets)
        row[4].toggle("Question", key="desk.queue.questions", on_change=_read_widgets)
        row[5].toggle(
            "Mine", key="desk.queue.mine", on_change=_read_widgets, help="Mentions I am replying to"
        )


def _save_view(me: str) -> None:
    try:
        view = save_team_view(
            resources.engine(), st.session_state.get("desk.queue.view_name") or "", state.queue_filter(), me
        )
        st.session_state["desk.queue.view"] = view.name
        st.session_state["desk.queue.view_name"] = ""
        state.flash("success", f"View {view.name!r} saved; the whole team sees it under Saved view.")
    except DeskError as exc:
        state.flash("error", str(exc))


def _delete_view() -> None:
    try:
        delete_team_view(resources.engine(), st.session_state.get("desk.queue.view") or "")
        st.session_state["desk.queue.view"] = None
        state.flash("success", "View deleted.")
    except DeskError as exc:
        state.flash("error", str(exc))


def _save_view_controls() -> None:
    """Callbacks, because they change widget values (allowed only before the widgets are drawn)."""
    me = state.agent()
    if not me:
        return
    with st.popover("Save or delete a view"):
        st.text_input("Name for the current filters", max_chars=80, key="desk.queue.view_name")
        st.button("Save view for the team", key="desk.queue.save_view", on_click=_save_view, args=(me,))
        if st.session_state.get("desk.queue.view"):
            st.button("Delete the selected view", key="desk.queue.delete_view", on_click=_delete_view)


@st.fragment(run_every=REFRESH_SECONDS)
@widgets.guarded
def _listing() -> None:
    """Re-renders on its own every few seconds: new mentions appear, nothing else on the page is touched."""
    engine = resources.engine()
    me = state.agent()
    page_size = int(st.session_state.get(PAGE_SIZE_KEY) or 20)
    try:
        result = list_queue(engine, state.queue_filter(), page=state.queue_page(), page_size=page_size)
    except DeskError as exc:
        widgets.error_box(exc)
        return
    state.set_queue_page(result.page)
    now = utcnow()
    plus = "" if result.total_exact else "+"
    st.caption(
        f"{result.total:,}{plus} mentions · page {result.page} of {result.pages}{plus} · updated "
        f"{now.strftime('%H:%M:%S')} UTC (refreshes every {REFRESH_SECONDS} s)"
    )
    if not result.rows:
        st.info("No mentions match these filters.")
    for row in result.rows:
        _card(row, me, now)
    pager = st.columns([1, 1, 4])
    # Callbacks, not reruns: a click inside a fragment reruns only the fragment.
    pager[0].button(
        "← Previous",
        disabled=result.page <= 1,
        key="desk.queue.prev",
        on_click=state.set_queue_page,
        args=(result.page - 1,),
    )
    pager[1].button(
        "Next page →",
        disabled=result.page >= result.pages,
        key="desk.queue.next_page",
        on_click=state.set_queue_page,
        args=(result.page + 1,),
    )


def _card(row: QueueRow, me: str | None, now) -> None:  # type: ignore[no-untyped-def]
    with st.container(border=True, key=f"desk-card-{row.mention_id}"):
        head = st.columns([5, 1])
        followers = f" · {row.followers:,} followers" if row.followers is not None else ""
        head[0].markdown(
            f"**{widgets.platform_label(row.platform)}** · "
            f"{widgets.md(handle_label(row.platform, row.handle, row.name))}"
            f"{followers} · waiting {widgets.age(row.waiting(now))} · "
            f"{widgets.triage_chips(row.sentiment, row.angry, row.question)} "
            f"{widgets.status_chip(row.status, row.claimed_by, row.handled_by, me)}"
            + (
                f" :orange-badge[already answered {row.earlier_replies_to_author}× this incident]"
                if row.earlier_replies_to_author
                else ""
            )
        )
        widgets.network_text(row.text, limit=QUEUE_TEXT_LIMIT)
        label = "Open" if row.claimed_by in (None, me) else "View"
        if head[1].button(label, key=f"desk.queue.open.{row.mention_id}", width="stretch"):
            open_mention(row.mention_id)

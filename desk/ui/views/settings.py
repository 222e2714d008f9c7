"""Settings page: connector status per account in plain words, the incident, templates, the team."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine, select

from desk.config import get_settings
from desk.display import safe_link
from desk.errors import DeskError
from desk.incidents import current_incident, open_incident, resolve_incident, update_incident
from desk.replies import allow_posting_again, platform_name
from desk.store.engine import transaction
from desk.store.schema import Account, SyncState
from desk.team import ROLES, add_member, is_lead, list_members, set_member
from desk.templates import VARIABLES, list_templates, save_template
from desk.ui import resources, state, widgets

STATUS_WORDS = {
    "ok": "connected",
    "needs_reauth": "token expired or revoked — reconnect",
    "error": "errors while syncing",
    "posting_blocked": "posting blocked by the network — replies paused",
}


def render() -> None:
    engine = resources.engine()
    st.title("Settings")
    widgets.show_flashes()
    me = state.agent()
    tabs = st.tabs(["Connections", "Incident", "Templates", "Team"])
    with tabs[0]:
        _connections(engine, me)
    with tabs[1]:
        _incident(engine)
    with tabs[2]:
        _templates(engine)
    with tabs[3]:
        _team(engine, me)


def _done(message: str) -> None:
    state.flash("success", message)
    st.rerun()


def _connections(engine: Engine, me: str | None) -> None:
    settings = get_settings()
    configured = {
        "x": ("reading" if settings.x_read_enabled else "not configured")
        + (", replying" if settings.x_write_enabled else " (no replying: user credentials missing)"),
        "facebook": "reading and replying" if settings.facebook_enabled else "not configured",
    }
    with transaction(engine) as session:
        accounts = list(session.scalars(select(Account).order_by(Account.platform, Account.id)))
        streams = list(session.scalars(select(SyncState).order_by(SyncState.platform, SyncState.stream)))
    lead = bool(me and is_lead(engine, me))
    for platform in ("x", "facebook"):
        with st.container(border=True):
            st.markdown(f"**{widgets.platform_label(platform)}** · credentials: {configured[platform]}")
            mine = [a for a in accounts if a.platform == platform]
            if not mine:
                st.caption("No account seen yet (it appears after the first successful sync).")
            for account in mine:
                words = STATUS_WORDS.get(account.status, account.status)
                name = account.handle or account.name or account.external_id
                line = f"Account {widgets.md(name)}: {words}"
                if account.status == "ok":
                    st.success(line)
                else:
                    st.error(f"{platform_name(platform)} {line}")
                    if account.status_message:
                        widgets.network_text(account.status_message)
                if account.status == "posting_blocked":
                    if st.button(
                        "Allow posting again",
                        key=f"desk.settings.unblock.{account.id}",
                        disabled=not lead,
                        help="Leads only, once the network's block has passed.",
                    ):
                        allow_posting_again(engine, platform)
                        _done(f"Posting on {platform_name(platform)} allowed again.")
            for stream in [s for s in streams if s.platform == platform]:
                last = widgets.when(stream.last_success_at)
                st.markdown(f"Stream `{stream.stream}` · last sync {last} · {stream.items_total:,} items")
                if stream.last_error and (
                    stream.last_success_at is None
                    or (stream.last_error_at and stream.last_error_at >= stream.last_success_at)
                ):
                    st.warning(f"Last error at {widgets.when(stream.last_error_at)}:")
                    widgets.network_text(stream.last_error)


def _incident(engine: Engine) -> None:
    incident = current_incident(engine)
    if incident is None:
        st.info("No incident is open. Open one so templates can say what is going on.")
    else:
        link = safe_link(incident.status_url)
        st.markdown(
            f"Open since {widgets.when(incident.started_at)}" + (f" · [status page]({link})" if link else "")
        )
    with st.form("desk.settings.incident"):
        title = st.text_input("Title", value=incident.title if incident else "", max_chars=300)
        url = st.text_input("Status page address", value=(incident.status_url or "") if incident else "")
        eta = st.text_input(
            "Expected recovery (ETA)",
            value=(incident.eta or "") if incident else "",
            placeholder="e.g. within 2 hours",
        )
        if st.form_submit_button("Save incident" if incident else "Open incident", type="primary"):
            try:
                if incident is None:
                    open_incident(engine, title, status_url=url, eta=eta)
                else:
                    update_incident(engine, incident.id, title=title, status_url=url, eta=eta)
                _done("Incident saved.")
            except DeskError as exc:
                widgets.error_box(exc)
    if incident is not None and st.button("Mark incident resolved", key="desk.settings.resolve"):
        resolve_incident(engine, incident.id)
        _done("Incident resolved.")


def _templates(engine: Engine) -> None:
    st.caption("Variables: " + ", ".join(f"`{{{name}}}` {words}" for name, words in VARIABLES.items()))
    templates = list_templates(engine, include_inactive=True)
    options = [None, *[t.id for t in templates]]
    names = {t.id: t.name + ("" if t.active else " (retired)") for t in templates}
    chosen = st.selectbox(
        "Template",
        options,
        format_func=lambda tid: "New template" if tid is None else names[tid],
        key="desk.settings.template",
    )
    current = next((t for t in templates if t.id == chosen), None)
    with st.form(f"desk.settings.template_form.{chosen}"):
        name = st.text_input("Name", value=current.name if current else "", max_chars=120)
        body = st.text_area("Text", value=current.body if current else "", height=120)
        active = st.checkbox("In use", value=current.active if current else True)
        if st.form_submit_button("Save template", type="primary"):
            try:
                save_template(engine, name=name, body=body, template_id=chosen, active=active)
                _done(f"Template {name.strip()!r} saved.")
            except DeskError as exc:
                widgets.error_box(exc)


def _team(engine: Engine, me: str | None) -> None:
    members = list_members(engine, include_inactive=True)
    if members:
        st.dataframe(
            [{"name": m.name, "role": m.role, "active": m.active} for m in members],
            hide_index=True,
            width="stretch",
        )
    with st.form("desk.settings.member", clear_on_submit=True):
        cols = st.columns([3, 1, 1])
        name = cols[0].text_input("Name", max_chars=80)
        role = cols[1].selectbox("Role", ROLES)
        active = cols[2].checkbox("Active", value=True)
        if st.form_submit_button("Add or update member"):
            try:
                add_member(engine, name, role)
                set_member(engine, " ".join(name.split()), role=role, active=active)
                _done("Team updated.")
            except DeskError as exc:
                widgets.error_box(exc)
    st.caption(
        "Leads can release or take over a mention someone else is answering, and allow posting again "
        "after a block."
    )
    _ = me

"""Analytics page: volume, backlog, first-response times, workload and reach, each chart with its CSV."""

from __future__ import annotations

from datetime import datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from desk import analytics
from desk.incidents import current_incident
from desk.store.types import utcnow
from desk.ui import resources

WINDOWS = ("This incident", "Last 24 hours", "Last 7 days", "Last 30 days")


def _time_axis() -> alt.X:
    """Time on a UTC scale with 24-hour labels (Vega's default is the browser's zone and a 12-hour clock)."""
    return alt.X(
        "bucket:T",
        title="time (UTC)",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%d %b %H:%M", labelAngle=0),
    )


def _lines_over_time(
    frame: pd.DataFrame,
    *,
    value: str,
    value_title: str,
    series: str,
    height: int,
    empty: str,
    dash: str | None = None,
) -> None:
    """One line per ``series`` (dashed by ``dash``) across the time buckets; says ``empty`` if none."""
    if frame.empty:
        st.info(empty)
        return
    keys = [series] if dash is None else [series, dash]
    st.altair_chart(
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=_time_axis(),
            y=alt.Y(value, title=value_title),
            color=series,
            strokeDash=alt.Undefined if dash is None else dash,
            tooltip=["bucket:T", *keys, value],
        )
        .properties(height=height),
        width="stretch",
    )


def _window(choice: str, now: datetime) -> datetime:
    if choice == "This incident":
        incident = current_incident(resources.engine())
        if incident is not None:
            # Networks stamp posts to the second: the minute the incident opened belongs to it.
            return incident.started_at.replace(second=0, microsecond=0)
        st.caption("No incident is open; showing the last 24 hours.")
        return now - timedelta(hours=24)
    days = {"Last 24 hours": 1, "Last 7 days": 7, "Last 30 days": 30}[choice]
    return now - timedelta(days=days)


def _download(frame: pd.DataFrame, name: str) -> None:
    st.download_button(
        f"Download {name} (CSV)",
        frame.to_csv(index=False).encode("utf-8"),
        file_name=f"{name.replace(' ', '_')}.csv",
        mime="text/csv",
        key=f"desk.analytics.dl.{name}",
    )


def render() -> None:
    engine = resources.engine()
    st.title("Analytics")
    now = utcnow()
    choice = (
        st.segmented_control("Window", WINDOWS, default=WINDOWS[0], key="desk.analytics.window") or WINDOWS[0]
    )
    since = _window(choice, now)
    freq = analytics.bucket_for(since, now)

    responses = analytics.first_responses(engine, since=since)
    summary = analytics.first_response_summary(responses)
    backlog = analytics.backlog_now(engine)
    open_now = (
        int(backlog[backlog["status"].isin(["new", "claimed"])]["mentions"].sum()) if len(backlog) else 0
    )
    overall = summary.iloc[0]
    cols = st.columns(4)
    cols[0].metric("Open now", f"{open_now:,}")
    cols[1].metric("Answered in window", f"{int(overall['answered']):,}")
    cols[2].metric(
        "First response, median",
        "—" if pd.isna(overall["median_minutes"]) else f"{overall['median_minutes']:.1f} min",
    )
    cols[3].metric(
        "First response, p90", "—" if pd.isna(overall["p90_minutes"]) else f"{overall['p90_minutes']:.1f} min"
    )

    st.subheader("Mentions over time")
    volume = analytics.mentions_over_time(engine, since=since, until=now, freq=freq)
    if volume.empty:
        st.info("No mentions in this window.")
    else:
        chart = (
            alt.Chart(volume)
            .mark_bar()
            .encode(
                x=_time_axis(),
                y=alt.Y("sum(mentions):Q", title="mentions"),
                color=alt.Color(
                    "sentiment:N",
                    scale=alt.Scale(
                        domain=["negative", "neutral", "positive", "untriaged"],
                        range=["#d62728", "#9e9e9e", "#2ca02c", "#c7c7c7"],
                    ),
                ),
                column=alt.Column("platform:N", title=None),
                tooltip=["bucket:T", "platform:N", "sentiment:N", "mentions:Q"],
            )
            .properties(width=330, height=220)
        )
        st.altair_chart(chart)
    _download(volume, "mentions over time")

    st.subheader("Backlog")
    over = analytics.backlog_over_time(engine, since=since, until=now, freq=freq)
    left, right = st.columns([3, 2])
    with left:
        _lines_over_time(
            over,
            value="open:Q",
            value_title="open mentions",
            series="platform:N",
            height=240,
            empty="No backlog in this window.",
        )
        _download(over, "backlog over time")
    with right:
        st.dataframe(backlog, hide_index=True, width="stretch")
        _download(backlog, "backlog now")

    st.subheader("First-response time")
    left, right = st.columns([3, 2])
    with left:
        if responses.empty:
            st.info("No replies sent in this window yet.")
        else:
            st.altair_chart(
                alt.Chart(responses)
                .mark_bar()
                .encode(
                    x=alt.X("minutes:Q", bin=alt.Bin(maxbins=30), title="minutes to first reply"),
                    y=alt.Y("count():Q", title="mentions"),
                    color="platform:N",
                )
                .properties(height=240),
                width="stretch",
            )
        _download(responses, "first responses")
    with right:
        st.dataframe(
            summary,
            hide_index=True,
            width="stretch",
            column_config={
                "median_minutes": st.column_config.NumberColumn("median (min)", format="%.1f"),
                "p90_minutes": st.column_config.NumberColumn("p90 (min)", format="%.1f"),
            },
        )
        _download(summary, "first response summary")

    st.subheader("Responses per agent")
    agents = analytics.responses_per_agent(engine, since=since)
    if agents.empty:
        st.info("Nobody has answered anything in this window yet.")
    else:
        tidy = agents.melt("agent", var_name="outcome", value_name="count")
        st.altair_chart(
            alt.Chart(tidy)
            .mark_bar()
            .encode(
                y=alt.Y("agent:N", sort="-x"),
                x=alt.X("sum(count):Q", title="mentions"),
                color="outcome:N",
                tooltip=["agent:N", "outcome:N", "count:Q"],
            )
            .properties(height=max(120, 30 * len(agents))),
            width="stretch",
        )
    _download(agents, "responses per agent")

    st.subheader("Reach of our replies and posts")
    reach = analytics.reach_over_time(engine, since=since, until=now, freq=freq)
    _lines_over_time(
        reach,
        value="value:Q",
        value_title="count",
        series="item_kind:N",
        dash="metric:N",
        height=260,
        empty="No impressions or engagements measured yet; the worker reads them for our sent replies.",
    )
    _download(reach, "reach over time")

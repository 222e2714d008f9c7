"""The desk's numbers as pandas DataFrames: volume, backlog, response times, workload, reach.

Every function takes a time window (``since``/``until``, UTC) and returns a tidy
DataFrame that the Analytics page charts and offers as CSV. Bucketing happens in
pandas, not SQL, so SQLite and PostgreSQL give the same buckets.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Integer, String, and_, cast, extract, func, select

from desk.store.engine import transaction
from desk.store.schema import MentionRow, MetricSnapshot, Reply, TriageRow
from desk.store.types import utcnow

BUCKETS = ("min", "15min", "h", "D")
IMPRESSION_NAMES = ("impression_count", "post_media_view", "post_impressions", "views")
ENGAGEMENT_NAMES = (
    "like_count",
    "reply_count",
    "repost_count",
    "retweet_count",
    "quote_count",
    "comment_count",
    "reaction_count",
    "share_count",
)


def bucket_for(since: datetime, until: datetime) -> str:
    """A readable bucket size for the window: minutes, 15 minutes, hours or days."""
    span = until - since
    if span <= timedelta(hours=1):  # the first hour of an incident (and the compressed demo)
        return "min"
    if span <= timedelta(hours=6):
        return "15min"
    if span <= timedelta(days=3):
        return "h"
    return "D"


def _floor(series: pd.Series, freq: str) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.floor(freq)


def _window(query, column, since: datetime | None, until: datetime | None):  # type: ignore[no-untyped-def]
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def _bucket_key(column, freq: str, dialect: str):  # type: ignore[no-untyped-def]
    """SQL for the start of ``column``'s bucket as text ``YYYY-MM-DD HH:MM`` (UTC), so the database
    groups 100,000 rows into a few dozen and only those travel to pandas."""
    if freq not in BUCKETS:
        raise ValueError(f"bucket size must be one of {', '.join(BUCKETS)}, not {freq!r}")
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        if freq == "D":
            return func.to_char(utc, "YYYY-MM-DD", type_=String) + " 00:00"
        if freq == "h":
            return func.to_char(utc, "YYYY-MM-DD HH24", type_=String) + ":00"
        if freq == "min":
            return func.to_char(utc, "YYYY-MM-DD HH24:MI", type_=String)
        minute: ColumnElement[int] = cast(func.floor(extract("minute", utc) / 15) * 15, Integer)
        return func.to_char(utc, "YYYY-MM-DD HH24:", type_=String) + func.lpad(
            cast(minute, String), 2, "0", type_=String
        )
    # SQLite keeps UTC as text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
    if freq == "D":
        return func.substr(column, 1, 10, type_=String) + " 00:00"
    if freq == "h":
        return func.substr(column, 1, 13, type_=String) + ":00"
    if freq == "min":
        return func.substr(column, 1, 16, type_=String)
    minute = (cast(func.substr(column, 15, 2), Integer) // 15) * 15
    return func.substr(column, 1, 14, type_=String) + func.printf("%02d", minute, type_=String)


def _as_time(keys: pd.Series) -> pd.Series:
    return pd.to_datetime(keys, format="%Y-%m-%d %H:%M", utc=True)


def mentions_over_time(
    engine: Engine, *, since: datetime | None = None, until: datetime | None = None, freq: str = "h"
) -> pd.DataFrame:
    """Columns: bucket, platform, sentiment ('untriaged' when not read yet), mentions."""
    bucket = _bucket_key(MentionRow.created_at, freq, engine.dialect.name).label("bucket")
    sentiment = func.coalesce(TriageRow.sentiment, "untriaged").label("sentiment")
    query = _window(
        select(bucket, MentionRow.platform, sentiment, func.count())
        .outerjoin(TriageRow, TriageRow.mention_id == MentionRow.id)
        .where(MentionRow.is_own.is_(False))
        .group_by(bucket, MentionRow.platform, sentiment),
        MentionRow.created_at,
        since,
        until,
    )
    with transaction(engine) as session:
        out = pd.DataFrame(
            session.execute(query).all(), columns=["bucket", "platform", "sentiment", "mentions"]
        )
    out["bucket"] = _as_time(out["bucket"])
    out["mentions"] = out["mentions"].astype("int64")
    return out.sort_values(["bucket", "platform", "sentiment"]).reset_index(drop=True)


def backlog_now(engine: Engine) -> pd.DataFrame:
    """Columns: platform, status, mentions — the workload as it stands."""
    with transaction(engine) as session:
        rows = session.execute(
            select(MentionRow.platform, MentionRow.status, func.count())
            .where(MentionRow.is_own.is_(False))
            .group_by(MentionRow.platform, MentionRow.status)
        ).all()
    return (
        pd.DataFrame(rows, columns=["platform", "status", "mentions"])
        .sort_values(["platform", "status"])
        .reset_index(drop=True)
    )


def backlog_over_time(
    engine: Engine, *, since: datetime, until: datetime | None = None, freq: str = "h"
) -> pd.DataFrame:
    """Columns: bucket (its end), platform, open — mentions received and not yet handled by then.

    open(end) = open at ``since`` + received before ``end`` − handled before ``end``, with the
    received and handled counts grouped per bucket by the database.
    """
    until = until or utcnow()
    dialect = engine.dialect.name
    created_key = _bucket_key(MentionRow.created_at, freq, dialect).label("bucket")
    handled_key = _bucket_key(MentionRow.handled_at, freq, dialect).label("bucket")
    own = MentionRow.is_own.is_(False)
    with transaction(engine) as session:
        start = dict(
            session.execute(
                select(MentionRow.platform, func.count())
                .where(own, MentionRow.created_at < since)
                .where(MentionRow.handled_at.is_(None) | (MentionRow.handled_at >= since))
                .group_by(MentionRow.platform)
            ).all()
        )
        received = session.execute(
            select(MentionRow.platform, created_key, func.count())
            .where(own, MentionRow.created_at >= since, MentionRow.created_at < until)
            .group_by(MentionRow.platform, created_key)
        ).all()
        handled = session.execute(
            select(MentionRow.platform, handled_key, func.count())
            .where(own, MentionRow.handled_at >= since, MentionRow.handled_at < until)
            .group_by(MentionRow.platform, handled_key)
        ).all()
    edges = pd.date_range(
        pd.Timestamp(since).floor(freq), pd.Timestamp(until).ceil(freq), freq=freq, tz="UTC"
    )
    if len(edges) < 2:
        edges = pd.date_range(pd.Timestamp(since).floor(freq), periods=2, freq=freq, tz="UTC")
    starts = edges[:-1]
    change: dict[str, pd.Series] = {}
    for rows, sign in ((received, 1), (handled, -1)):
        for platform, key, count in rows:
            series = change.setdefault(platform, pd.Series(0, index=starts, dtype="int64"))
            moment = _as_time(pd.Series([key]))[0]
            if moment in series.index:
                series[moment] += sign * int(count)
    records: list[dict[str, object]] = []
    for platform in sorted(set(start) | set(change)):
        steps = change.get(platform, pd.Series(0, index=starts, dtype="int64"))
        running = int(start.get(platform, 0)) + steps.cumsum()
        records.extend(
            {"bucket": end, "platform": platform, "open": int(value)}
            for end, value in zip(edges[1:], running.to_numpy(), strict=True)
        )
    return pd.DataFrame(records, columns=["bucket", "platform", "open"])


def first_responses(
    engine: Engine, *, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """Columns: mention_id, platform, agent, created_at, first_reply_at, minutes; one row per answer."""
    first = (
        select(Reply.mention_id, func.min(Reply.sent_at).label("first_reply_at"))
        .where(Reply.status == "sent", Reply.sent_at.is_not(None))
        .group_by(Reply.mention_id)
        .subquery()
    )
    query = _window(
        select(MentionRow.id, MentionRow.platform, MentionRow.created_at, first.c.first_reply_at, Reply.agent)
        .join(first, first.c.mention_id == MentionRow.id)
        .join(Reply, and_(Reply.mention_id == MentionRow.id, Reply.sent_at == first.c.first_reply_at)),
        MentionRow.created_at,
        since,
        until,
    )
    with transaction(engine) as session:
        rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["mention_id", "platform", "created_at", "first_reply_at", "agent"])
    frame = frame.drop_duplicates("mention_id")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["first_reply_at"] = pd.to_datetime(frame["first_reply_at"], utc=True)
    frame["minutes"] = (frame["first_reply_at"] - frame["created_at"]).dt.total_seconds() / 60
    return frame[["mention_id", "platform", "agent", "created_at", "first_reply_at", "minutes"]].reset_index(
        drop=True
    )


def first_response_summary(responses: pd.DataFrame) -> pd.DataFrame:
    """Columns: platform ('all' first), answered, median_minutes, p90_minutes."""
    records = []
    groups = [("all", responses)] + [(p, g) for p, g in responses.groupby("platform")]
    for platform, group in groups:
        minutes = group["minutes"].dropna()
        records.append(
            {
                "platform": platform,
                "answered": len(minutes),
                "median_minutes": float(minutes.median()) if len(minutes) else None,
                "p90_minutes": float(minutes.quantile(0.9)) if len(minutes) else None,
            }
        )
    return pd.DataFrame(records, columns=["platform", "answered", "median_minutes", "p90_minutes"])


def responses_per_agent(
    engine: Engine, *, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """Columns: agent, replies_sent, replies_failed, closed_without_reply — most active first."""
    with transaction(engine) as session:
        replies = session.execute(
            _window(
                select(Reply.agent, Reply.status, func.count()).group_by(Reply.agent, Reply.status),
                Reply.created_at,
                since,
                until,
            )
        ).all()
        closed = session.execute(
            _window(
                select(MentionRow.handled_by, func.count())
                .where(MentionRow.status == "closed", MentionRow.handled_by.is_not(None))
                .group_by(MentionRow.handled_by),
                MentionRow.handled_at,
                since,
                until,
            )
        ).all()
    table: dict[str, dict[str, int]] = {}
    for agent, status, count in replies:
        row = table.setdefault(agent, {"replies_sent": 0, "replies_failed": 0, "closed_without_reply": 0})
        if status == "sent":
            row["replies_sent"] += count
        elif status == "failed":
            row["replies_failed"] += count
    for agent, count in closed:
        table.setdefault(agent, {"replies_sent": 0, "replies_failed": 0, "closed_without_reply": 0})
        table[agent]["closed_without_reply"] += count
    frame = pd.DataFrame(
        [{"agent": a, **v} for a, v in table.items()],
        columns=["agent", "replies_sent", "replies_failed", "closed_without_reply"],
    )
    return frame.sort_values(["replies_sent", "agent"], ascending=[False, True]).reset_index(drop=True)


def reach_over_time(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    freq: str = "h",
    kinds: tuple[str, ...] = ("reply", "post"),
) -> pd.DataFrame:
    """Impressions and engagements of our replies and posts. Columns: bucket, item_kind, metric, value.

    Snapshots are cumulative counts read now and then; for each bucket the value is the
    sum over items of each item's latest reading so far (carried forward between readings).
    """
    query = _window(
        select(
            MetricSnapshot.item_kind,
            MetricSnapshot.platform,
            MetricSnapshot.external_id,
            MetricSnapshot.name,
            MetricSnapshot.value,
            MetricSnapshot.captured_at,
        ).where(MetricSnapshot.item_kind.in_(kinds)),
        MetricSnapshot.captured_at,
        None,
        until,
    )
    with transaction(engine) as session:
        rows = session.execute(query).all()
    frame = pd.DataFrame(
        rows, columns=["item_kind", "platform", "external_id", "name", "value", "captured_at"]
    )
    frame["metric"] = frame["name"].map(
        lambda n: "impressions" if n in IMPRESSION_NAMES else "engagements" if n in ENGAGEMENT_NAMES else None
    )
    frame = frame.dropna(subset=["metric"])
    if frame.empty:
        return pd.DataFrame(
            {
                "bucket": pd.Series(dtype="datetime64[ns, UTC]"),
                "item_kind": pd.Series(dtype=str),
                "metric": pd.Series(dtype=str),
                "value": pd.Series(dtype="int64"),
            }
        )
    frame["bucket"] = _floor(frame["captured_at"], freq)
    # Latest reading of each count of each item in each bucket.
    latest = (
        frame.sort_values("captured_at")
        .groupby(["item_kind", "platform", "external_id", "name", "metric", "bucket"])["value"]
        .last()
        .reset_index()
    )
    start = (
        latest["bucket"].min()
        if since is None
        else max(latest["bucket"].min(), _floor(pd.Series([since]), freq)[0])
    )
    buckets = pd.date_range(latest["bucket"].min(), latest["bucket"].max(), freq=freq, tz="UTC")
    series = latest.pivot_table(
        index="bucket",
        columns=["item_kind", "platform", "external_id", "name", "metric"],
        values="value",
        aggfunc="last",
    )
    series = series.reindex(buckets).ffill().fillna(0)
    summed = series.T.groupby(level=["item_kind", "metric"]).sum().T
    summed.index.name = "bucket"
    out = summed.stack(["item_kind", "metric"]).reset_index(name="value")
    out = out[out["bucket"] >= start]
    out["value"] = out["value"].astype("int64")
    return (
        out[["bucket", "item_kind", "metric", "value"]]
        .sort_values(["bucket", "item_kind", "metric"])
        .reset_index(drop=True)
    )

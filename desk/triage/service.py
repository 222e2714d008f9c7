"""Triage in the database: classify new mentions, keep priorities current, take agents' corrections.

* ``triage_new_mentions`` — ingest calls it after each pull: every mention that
  is not our own and has no triage yet gets one (classified in batches).
* ``refresh_priorities`` — the worker calls it every cycle: waiting time, repeat
  contact and answers change while a mention waits, so open mentions' priorities
  are recomputed in bulk (one query in, one bulk update out).
* ``correct_triage`` — an agent says the model was wrong; the correction is kept
  with who and when (``python -m desk train --with-corrections`` learns from it).

The repeat-contact window is the open incident (from the earliest open
incident's start); with no open incident it is the last
``DESK_TRIAGE_REPEAT_WINDOW_HOURS`` hours (default 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import Engine, Table, exists, func, insert, or_, select, text, update

from desk.config import get_settings
from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import AuthorRow, Incident, MentionRow, Reply, TriageCorrection, TriageRow
from desk.triage.data import EMOTION_LABELS, SENTIMENT_LABELS
from desk.triage.priority import priority_scores

TRIAGE_TABLE = cast(Table, TriageRow.__table__)

OPEN_STATUSES = ("new", "claimed")
# Texts fetched from the database per classify call; the model batches inside.
CHUNK = 512


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise Fatal("now must be a timezone-aware datetime.")
    return now.astimezone(UTC)


def repeat_window_start(engine: Engine, now: datetime) -> datetime:
    """Start of the incident window: the earliest open incident's start, else a fixed look-back."""
    hours = get_settings().triage_repeat_window_hours
    with engine.connect() as conn:
        started = conn.execute(
            select(func.min(Incident.started_at)).where(Incident.status == "open")
        ).scalar()
    if started is not None:
        if started.tzinfo is None:  # SQLite aggregates bypass the column type
            started = started.replace(tzinfo=UTC)
        return started
    return now - timedelta(hours=hours)


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite may return aggregate/window results as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _recompute(engine: Engine, now: datetime, mention_ids: Sequence[int] | None = None) -> int:
    """Recompute priorities of open mentions (or of exactly ``mention_ids``) in bulk."""
    window_start = repeat_window_start(engine, now)
    m = MentionRow.__table__
    t = TriageRow.__table__
    a = AuthorRow.__table__
    r = Reply.__table__

    # Earlier mentions by the same author inside the window: a row number per author.
    recent = (
        select(
            m.c.id.label("id"),
            (func.row_number().over(partition_by=m.c.author_id, order_by=(m.c.created_at, m.c.id)) - 1).label(
                "earlier"
            ),
        )
        .where(m.c.created_at >= window_start, m.c.author_id.is_not(None), m.c.is_own.is_(False))
        .subquery("recent")
    )
    earlier = m.alias("same_author")
    answered_here = exists().where(r.c.mention_id == m.c.id, r.c.status == "sent")
    answered_author = exists(
        select(1)
        .select_from(r.join(earlier, earlier.c.id == r.c.mention_id))
        .where(
            r.c.status == "sent",
            earlier.c.author_id == m.c.author_id,
            m.c.author_id.is_not(None),
            func.coalesce(r.c.sent_at, r.c.created_at) >= window_start,
        )
    )
    query = select(
        t.c.mention_id,
        t.c.anger,
        t.c.negative,
        t.c.question_score,
        a.c.followers,
        (m.c.like_count + m.c.reply_count + m.c.repost_count + m.c.quote_count).label("engagement"),
        m.c.created_at,
        func.coalesce(recent.c.earlier, 0).label("earlier"),
        or_(answered_here, answered_author).label("answered"),
    ).select_from(
        t.join(m, m.c.id == t.c.mention_id)
        .outerjoin(a, a.c.id == m.c.author_id)
        .outerjoin(recent, recent.c.id == m.c.id)
    )
    if mention_ids is None:
        query = query.where(m.c.status.in_(OPEN_STATUSES))
    else:
        if not mention_ids:
            return 0
        query = query.where(t.c.mention_id.in_(list(mention_ids)))

    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return 0
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    cols = list(zip(*rows, strict=True))
    created = cols[6]
    now_ts = now.timestamp()
    waiting = np.fromiter(
        ((now_ts - _as_utc(c).timestamp()) / 60.0 for c in created), dtype=np.float64, count=len(rows)
    )
    scores = priority_scores(
        anger=np.asarray(cols[1], dtype=np.float64),
        negative=np.asarray(cols[2], dtype=np.float64),
        question=np.asarray(cols[3], dtype=np.float64),
        followers=np.asarray([np.nan if f is None else f for f in cols[4]], dtype=np.float64),
        engagement=np.asarray([e or 0 for e in cols[5]], dtype=np.float64),
        waiting_minutes=waiting,
        repeat_contacts=np.asarray(cols[7], dtype=np.float64),
        answered=np.asarray([bool(x) for x in cols[8]], dtype=bool),
    )
    _bulk_set_priority(engine, ids, scores)
    return len(rows)


def _bulk_set_priority(engine: Engine, ids: np.ndarray, scores: np.ndarray) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # One statement for any number of rows: arrays in, joined by position.
            conn.execute(
                text(
                    "UPDATE triage AS t SET priority = v.p FROM "
                    "(SELECT unnest(CAST(:ids AS bigint[])) AS id, unnest(CAST(:ps AS float8[])) AS p) AS v "
                    "WHERE t.mention_id = v.id"
                ),
                {"ids": ids.tolist(), "ps": scores.tolist()},
            )
        else:
            conn.execute(
                update(TRIAGE_TABLE)
                .where(TRIAGE_TABLE.c.mention_id == text(":mid"))
                .values(priority=text(":p")),
                [{"mid": int(i), "p": float(s)} for i, s in zip(ids, scores, strict=True)],
            )


def refresh_priorities(engine: Engine, now: datetime | None = None) -> int:
    """Recompute the priority of every open (new/claimed) triaged mention; returns how many."""
    return _recompute(engine, _now(now))


def triage_new_mentions(
    engine: Engine, triager: Any = None, batch_size: int = 64, now: datetime | None = None
) -> int:
    """Classify every mention without triage (our own posts excepted) and store it; returns how many."""
    current = _now(now)
    if triager is None:
        from desk.triage.model import load_triager

        triager = load_triager()
    m = MentionRow.__table__
    t = TriageRow.__table__
    done = 0
    last_id = 0
    while True:
        with engine.connect() as conn:
            pending = conn.execute(
                select(m.c.id, m.c.text)
                .where(m.c.id > last_id, m.c.is_own.is_(False), ~exists().where(t.c.mention_id == m.c.id))
                .order_by(m.c.id)
                .limit(CHUNK)
            ).all()
        if not pending:
            break
        last_id = pending[-1][0]
        results = triager.classify([row[1] or "" for row in pending], batch_size=batch_size)
        rows = [
            {
                "mention_id": row[0],
                "sentiment": res.sentiment,
                "negative": res.sentiment_scores["negative"],
                "neutral": res.sentiment_scores["neutral"],
                "positive": res.sentiment_scores["positive"],
                "emotion": res.emotion,
                "anger": res.anger,
                "question": res.question,
                "question_score": res.question_score,
                "priority": 0.0,
                "model_version": triager.version,
                "corrected": False,
                "triaged_at": current,
            }
            for row, res in zip(pending, results, strict=True)
        ]
        with transaction(engine) as session:
            # Another worker may have triaged some of these meanwhile: skip those, never fail.
            ids = [r["mention_id"] for r in rows]
            taken = set(session.execute(select(t.c.mention_id).where(t.c.mention_id.in_(ids))).scalars())
            fresh = [r for r in rows if r["mention_id"] not in taken]
            if fresh:
                session.execute(_insert_ignoring_duplicates(engine), fresh)
        _recompute(engine, current, [r["mention_id"] for r in fresh])
        done += len(fresh)
    return done


def _insert_ignoring_duplicates(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(TRIAGE_TABLE).on_conflict_do_nothing(index_elements=["mention_id"])
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(TRIAGE_TABLE).on_conflict_do_nothing(index_elements=["mention_id"])
    return insert(TRIAGE_TABLE)


def _parse_question(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"yes", "true", "1"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"no", "false", "0"}:
        return False
    raise Fatal(f"question must be yes or no, not {value!r}.")


def correct_triage(
    engine: Engine,
    mention_id: int,
    *,
    agent: str,
    sentiment: str | None = None,
    emotion: str | None = None,
    question: bool | None = None,
) -> None:
    """Record an agent's correction of a mention's triage and apply it (priority included)."""
    if not isinstance(agent, str) or not agent.strip():
        raise Fatal("Say which agent makes the correction.")
    if sentiment is None and emotion is None and question is None:
        raise Fatal("Nothing to correct: give a sentiment, an emotion or whether it is a question.")
    if sentiment is not None and sentiment not in SENTIMENT_LABELS:
        raise Fatal(f"Sentiment must be one of {', '.join(SENTIMENT_LABELS)}, not {sentiment!r}.")
    if emotion is not None and emotion not in EMOTION_LABELS:
        raise Fatal(f"Emotion must be one of {', '.join(EMOTION_LABELS)}, not {emotion!r}.")
    question_flag = None if question is None else _parse_question(question)
    when = datetime.now(UTC)
    with transaction(engine) as session:
        if session.get(MentionRow, mention_id) is None:
            raise Fatal(f"There is no mention with id {mention_id}.")
        row = session.get(TriageRow, mention_id, with_for_update=True)
        if row is None:
            raise Fatal(f"Mention {mention_id} has not been triaged yet; try again in a moment.")
        changes: list[tuple[str, str, str]] = []
        if sentiment is not None and sentiment != row.sentiment:
            changes.append(("sentiment", row.sentiment, sentiment))
            row.sentiment = sentiment
            # The agent is certain: the scores the priority reads follow the label.
            row.negative, row.neutral, row.positive = (float(sentiment == s) for s in SENTIMENT_LABELS)
        if emotion is not None and emotion != row.emotion:
            changes.append(("emotion", row.emotion, emotion))
            row.emotion = emotion
            row.anger = 1.0 if emotion == "anger" else 0.0
        if question_flag is not None and question_flag != row.question:
            changes.append(("question", "yes" if row.question else "no", "yes" if question_flag else "no"))
            row.question = question_flag
            row.question_score = 1.0 if question_flag else 0.0
        if not changes:
            return
        row.corrected = True
        for field_name, old, new in changes:
            session.add(
                TriageCorrection(
                    mention_id=mention_id,
                    field=field_name,
                    old_value=old,
                    new_value=new,
                    agent=agent.strip(),
                    created_at=when,
                )
            )
    _recompute(engine, when, [mention_id])

"""Triage in the database, on SQLite and PostgreSQL: new mentions, priority refresh, corrections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from deskfactory import add_mention, add_triage
from sqlalchemy import Engine, func, insert, select

from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import AuthorRow, Incident, MentionRow, Reply, TriageCorrection, TriageRow
from desk.triage.priority import PriorityFeatures, priority_score
from desk.triage.service import correct_triage, refresh_priorities, triage_new_mentions

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _mention(
    engine: Engine,
    text: str,
    author: tuple[str, int | None] | None,
    *,
    minutes_ago: float = 10,
    status: str = "new",
    is_own: bool = False,
    likes: int = 0,
) -> int:
    """An untriaged mention by ``author`` (handle, followers), ``minutes_ago`` before NOW."""
    handle, followers = author if author is not None else (None, None)
    return add_mention(
        engine,
        text,
        handle=handle,
        name=None,
        followers=followers,
        created_at=NOW - timedelta(minutes=minutes_ago),
        status=status,
        is_own=is_own,
        like_count=likes,
        sentiment=None,
    )


def _triage_row(engine: Engine, mention_id: int, *, anger: float, negative: float, question: float) -> None:
    add_triage(
        engine,
        mention_id,
        sentiment="negative" if negative > 0.5 else "neutral",
        negative=negative,
        neutral=1 - negative,
        positive=0.0,
        anger=anger,
        emotion="anger" if anger > 0.5 else "joy",
        question=question >= 0.5,
        question_score=question,
    )


def _priority(engine: Engine, mention_id: int) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(select(TriageRow.priority).where(TriageRow.mention_id == mention_id)).scalar_one()
        )


def test_new_mentions_are_triaged_in_batches_and_own_posts_skipped(engine: Engine, triager) -> None:  # type: ignore[no-untyped-def]
    big = ("loud", 250_000)
    small = ("quiet", 40)
    texts = {
        "angry": "@acme your app has been down for 3 hours and nobody answers. Why?? This is unacceptable!",
        "calm": "Reading a book on the train.",
        "thanks": "Thanks @acme, all working again. Great job!",
        "empty": "",
    }
    ids = {
        "angry": _mention(engine, texts["angry"], big),
        "calm": _mention(engine, texts["calm"], small),
        "thanks": _mention(engine, texts["thanks"], small),
        "empty": _mention(engine, texts["empty"], None),
    }
    own = _mention(engine, "We are looking into the outage.", None, is_own=True)

    assert triage_new_mentions(engine, triager, batch_size=2, now=NOW) == 4
    assert triage_new_mentions(engine, triager, now=NOW) == 0

    # Same texts, same batch size: the same batches, so exactly what the service stored.
    expected = dict(zip(texts, triager.classify(list(texts.values()), batch_size=2), strict=True))
    with engine.connect() as conn:
        rows = {r.mention_id: r for r in conn.execute(select(TriageRow)).all()}
    assert own not in rows
    for name, mention_id in ids.items():
        row, want = rows[mention_id], expected[name]
        assert (
            row.sentiment == want.sentiment and row.emotion == want.emotion and row.question == want.question
        )
        assert row.negative == pytest.approx(want.sentiment_scores["negative"])
        assert row.model_version == triager.version and row.corrected is False
    assert rows[ids["angry"]].sentiment == "negative"
    assert rows[ids["angry"]].priority > rows[ids["calm"]].priority > 0


def test_refresh_matches_the_formula_with_waiting_repeats_and_answers(engine: Engine) -> None:
    alice = ("alice", 5_000)
    bob = ("bob", None)
    first = _mention(engine, "first", alice, minutes_ago=90)
    second = _mention(engine, "second", alice, minutes_ago=30, likes=12)
    bobs = _mention(engine, "bob asks", bob, minutes_ago=5)
    closed = _mention(engine, "done", bob, minutes_ago=500, status="closed")  # still an earlier contact
    for mid in (first, second, bobs, closed):
        _triage_row(engine, mid, anger=0.7, negative=0.8, question=0.9)

    assert refresh_priorities(engine, now=NOW) == 3  # the closed one is not open
    assert _priority(engine, closed) == 0.0
    assert _priority(engine, first) == pytest.approx(
        priority_score(PriorityFeatures(0.7, 0.8, 0.9, 5_000, 0, 90, 0, False))
    )
    assert _priority(engine, second) == pytest.approx(
        priority_score(PriorityFeatures(0.7, 0.8, 0.9, 5_000, 12, 30, 1, False))
    )
    assert _priority(engine, bobs) == pytest.approx(
        priority_score(PriorityFeatures(0.7, 0.8, 0.9, None, 0, 5, 1, False))
    )

    before = {m: _priority(engine, m) for m in (first, second, bobs)}
    refresh_priorities(engine, now=NOW + timedelta(minutes=45))
    assert all(_priority(engine, m) > before[m] for m in before)  # waiting raises priority

    # The desk answers Alice's first mention: both of her mentions count as answered; Bob's does not.
    with transaction(engine) as s:
        s.add(
            Reply(
                mention_id=first,
                platform="x",
                agent="sam",
                text="Sorry!",
                status="sent",
                idempotency_key="k1",
                sent_at=NOW,
                created_at=NOW,
            )
        )
        s.add(
            Reply(
                mention_id=bobs,
                platform="x",
                agent="sam",
                text="draft",
                status="failed",
                idempotency_key="k2",
                created_at=NOW,
            )
        )
    refresh_priorities(engine, now=NOW)
    assert _priority(engine, first) == pytest.approx(
        priority_score(PriorityFeatures(0.7, 0.8, 0.9, 5_000, 0, 90, 0, True))
    )
    assert _priority(engine, second) == pytest.approx(
        priority_score(PriorityFeatures(0.7, 0.8, 0.9, 5_000, 12, 30, 1, True))
    )
    assert _priority(engine, bobs) == pytest.approx(before[bobs])


def test_open_incident_sets_the_repeat_window(engine: Engine) -> None:
    carol = ("carol", 100)
    old = _mention(engine, "yesterday", carol, minutes_ago=60 * 30)
    new = _mention(engine, "today", carol, minutes_ago=10)
    for mid in (old, new):
        _triage_row(engine, mid, anger=0.2, negative=0.2, question=0.0)
    refresh_priorities(engine, now=NOW)  # default window 24 h: yesterday's mention is outside
    assert _priority(engine, new) == pytest.approx(
        priority_score(PriorityFeatures(0.2, 0.2, 0.0, 100, 0, 10, 0, False))
    )
    with transaction(engine) as s:
        s.add(Incident(title="Outage", status="open", started_at=NOW - timedelta(days=2)))
    refresh_priorities(engine, now=NOW)
    assert _priority(engine, new) == pytest.approx(
        priority_score(PriorityFeatures(0.2, 0.2, 0.0, 100, 0, 10, 1, False))
    )


def test_corrections_are_stored_with_who_and_when_and_change_priority(engine: Engine) -> None:
    dana = ("dana", 1_000)
    mid = _mention(engine, "is it down", dana, minutes_ago=20)
    _triage_row(engine, mid, anger=0.1, negative=0.2, question=0.3)
    refresh_priorities(engine, now=NOW)
    before = _priority(engine, mid)

    correct_triage(engine, mid, agent="sam", sentiment="negative", emotion="anger", question=True)
    with engine.connect() as conn:
        row = conn.execute(select(TriageRow).where(TriageRow.mention_id == mid)).one()
        fixes = conn.execute(select(TriageCorrection).order_by(TriageCorrection.id)).all()
    assert (row.sentiment, row.negative, row.emotion, row.anger, row.question, row.question_score) == (
        "negative",
        1.0,
        "anger",
        1.0,
        True,
        1.0,
    )
    assert row.corrected is True
    assert [(f.field, f.old_value, f.new_value, f.agent) for f in fixes] == [
        ("sentiment", "neutral", "negative", "sam"),
        ("emotion", "joy", "anger", "sam"),
        ("question", "no", "yes", "sam"),
    ]
    assert all(abs((f.created_at - datetime.now(UTC)).total_seconds()) < 60 for f in fixes)
    assert _priority(engine, mid) > before

    correct_triage(engine, mid, agent="kim", sentiment="negative")  # no change: nothing recorded
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TriageCorrection)).scalar() == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mention_id": 999_999, "agent": "sam", "sentiment": "negative"}, "no mention with id 999999"),
        ({"agent": "sam", "sentiment": "furious"}, "Sentiment must be one of"),
        ({"agent": "sam", "emotion": "fear"}, "Emotion must be one of"),
        ({"agent": "sam", "question": "maybe"}, "question must be yes or no"),
        ({"agent": " ", "sentiment": "negative"}, "which agent"),
        ({"agent": "sam"}, "Nothing to correct"),
    ],
)
def test_bad_corrections_are_refused_plainly(engine: Engine, kwargs: dict, message: str) -> None:
    mid = _mention(engine, "hello", None)
    _triage_row(engine, mid, anger=0.1, negative=0.1, question=0.1)
    kwargs = {"mention_id": mid, **kwargs}
    with pytest.raises(Fatal, match=message):
        correct_triage(engine, kwargs.pop("mention_id"), **kwargs)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TriageCorrection)).scalar() == 0


def test_untriaged_mention_cannot_be_corrected(engine: Engine) -> None:
    mid = _mention(engine, "hello", None)
    with pytest.raises(Fatal, match="not been triaged"):
        correct_triage(engine, mid, agent="sam", sentiment="positive")


@pytest.mark.slow
def test_refresh_of_many_open_mentions_in_one_pass(engine: Engine) -> None:
    """Every open mention gets a priority in one call (its speed at 100k rows: bench/queue_page.py)."""
    n = 5_000
    authors = 1_000
    with engine.begin() as conn:
        conn.execute(
            insert(AuthorRow),
            [
                {
                    "platform": "x",
                    "external_id": f"a{i}",
                    "followers": (i * 37) % 1_000_000,
                    "updated_at": NOW,
                }
                for i in range(authors)
            ],
        )
        first_author = conn.execute(select(func.min(AuthorRow.id))).scalar_one()
        conn.execute(
            insert(MentionRow),
            [
                {
                    "platform": "x",
                    "external_id": f"p{i}",
                    "kind": "tweet",
                    "author_id": first_author + i % authors,
                    "text": "t",
                    "created_at": NOW - timedelta(seconds=i),
                    "raw": {},
                    "status": "new",
                    "is_own": False,
                    "like_count": i % 50,
                    "reply_count": 0,
                    "repost_count": 0,
                    "quote_count": 0,
                    "ingested_at": NOW,
                }
                for i in range(n)
            ],
        )
        first_mention = conn.execute(select(func.min(MentionRow.id))).scalar_one()
        conn.execute(
            insert(TriageRow),
            [
                {
                    "mention_id": first_mention + i,
                    "sentiment": "negative",
                    "negative": 0.5,
                    "neutral": 0.3,
                    "positive": 0.2,
                    "emotion": "anger",
                    "anger": (i % 100) / 100,
                    "question": False,
                    "question_score": 0.1,
                    "priority": 0.0,
                    "model_version": "bulk",
                    "corrected": False,
                    "triaged_at": NOW,
                }
                for i in range(n)
            ],
        )
    assert refresh_priorities(engine, now=NOW) == n
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(TriageRow).where(TriageRow.priority > 0)).scalar()
            == n
        )

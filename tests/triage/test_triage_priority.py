"""The ordering rules of the priority score, pinned by property tests."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.triage.priority import PriorityFeatures, priority_score, priority_scores

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
followers = st.one_of(st.none(), st.integers(min_value=0, max_value=500_000_000))
engagement = st.integers(min_value=0, max_value=10_000_000)
minutes = st.floats(min_value=0.0, max_value=60 * 24 * 30, allow_nan=False)
repeats = st.integers(min_value=0, max_value=1_000)

features = st.builds(
    PriorityFeatures,
    anger=unit,
    negative=unit,
    question=st.one_of(st.booleans(), unit),
    followers=followers,
    engagement=engagement,
    waiting_minutes=minutes,
    repeat_contacts=repeats,
    answered=st.booleans(),
)


@given(features)
def test_score_is_between_0_and_100(f: PriorityFeatures) -> None:
    score = priority_score(f)
    assert 0.0 <= score <= 100.0
    assert math.isfinite(score)


@given(features, st.sampled_from(["anger", "negative", "question"]), unit)
def test_more_anger_negativity_or_question_never_lowers_priority(
    f: PriorityFeatures, name: str, bump: float
) -> None:
    current = float(getattr(f, name))
    higher = dataclasses.replace(f, **{name: min(1.0, current + bump)})
    assert priority_score(higher) >= priority_score(f) - 1e-9


@given(features, st.integers(min_value=1, max_value=10_000_000))
def test_more_followers_engagement_or_repeats_never_lowers_priority(f: PriorityFeatures, extra: int) -> None:
    base = priority_score(f)
    known_followers = 0 if f.followers is None else f.followers
    more = [
        dataclasses.replace(f, followers=known_followers + extra),
        dataclasses.replace(f, engagement=f.engagement + extra),
        dataclasses.replace(f, repeat_contacts=f.repeat_contacts + extra),
    ]
    assert priority_score(more[1]) >= base - 1e-9
    assert priority_score(more[2]) >= base - 1e-9
    if f.followers is not None:
        assert priority_score(more[0]) >= base - 1e-9


@given(features, st.floats(min_value=1.0, max_value=600.0))
def test_waiting_raises_priority(f: PriorityFeatures, extra: float) -> None:
    f = dataclasses.replace(f, answered=False, waiting_minutes=min(f.waiting_minutes, 600.0))
    later = dataclasses.replace(f, waiting_minutes=f.waiting_minutes + extra)
    assert priority_score(later) > priority_score(f)


@given(features)
def test_answered_never_outranks_the_same_mention_unanswered(f: PriorityFeatures) -> None:
    answered = dataclasses.replace(f, answered=True)
    open_ = dataclasses.replace(f, answered=False)
    assert priority_score(answered) <= priority_score(open_)
    if priority_score(open_) > 0:
        assert priority_score(answered) < priority_score(open_)


@given(
    angry=st.builds(
        PriorityFeatures,
        anger=st.floats(min_value=0.8, max_value=1.0),
        negative=st.floats(min_value=0.7, max_value=1.0),
        question=st.one_of(st.just(True), st.floats(min_value=0.9, max_value=1.0)),
        followers=st.integers(min_value=100_000, max_value=500_000_000),
        engagement=engagement,
        waiting_minutes=minutes,
        repeat_contacts=repeats,
        answered=st.just(False),
    ),
    calm=st.builds(
        PriorityFeatures,
        anger=st.floats(min_value=0.0, max_value=0.1),
        negative=st.floats(min_value=0.0, max_value=0.1),
        question=st.just(False),
        followers=st.one_of(st.none(), st.integers(min_value=0, max_value=1_000)),
        engagement=engagement,
        waiting_minutes=minutes,
        repeat_contacts=repeats,
        answered=st.just(False),
    ),
)
def test_angry_question_from_large_account_outranks_calm_remark(
    angry: PriorityFeatures, calm: PriorityFeatures
) -> None:
    assert priority_score(angry) > priority_score(calm)


def test_concrete_ranking_a_person_would_expect() -> None:
    calm = PriorityFeatures(0.05, 0.05, False, 300, 0, 5.0, 0, False)
    angry_question = PriorityFeatures(0.9, 0.9, True, 250_000, 40, 5.0, 0, False)
    small_first = dataclasses.replace(angry_question, followers=300)
    small_third = dataclasses.replace(small_first, repeat_contacts=2)
    same_but_answered = dataclasses.replace(angry_question, answered=True)
    assert priority_score(angry_question) > priority_score(small_first) > priority_score(calm)
    assert priority_score(small_third) > priority_score(small_first)
    assert priority_score(same_but_answered) < priority_score(angry_question) * 0.5
    # Broken scores (NaN) and negative counts are treated as "no signal", not as urgency.
    broken = PriorityFeatures(float("nan"), float("nan"), False, -5, -3, float("nan"), -1, False)
    assert priority_score(broken) == priority_score(PriorityFeatures(0.0, 0.0, False, 0, 0, 0.0, 0, False))


@settings(max_examples=50)
@given(st.lists(features, min_size=1, max_size=30))
def test_vectorised_scores_match_the_scalar_function(rows: list[PriorityFeatures]) -> None:
    vector = priority_scores(
        anger=np.array([r.anger for r in rows]),
        negative=np.array([r.negative for r in rows]),
        question=np.array([float(r.question) for r in rows]),
        followers=np.array([np.nan if r.followers is None else r.followers for r in rows], dtype=float),
        engagement=np.array([r.engagement for r in rows], dtype=float),
        waiting_minutes=np.array([r.waiting_minutes for r in rows]),
        repeat_contacts=np.array([r.repeat_contacts for r in rows], dtype=float),
        answered=np.array([r.answered for r in rows]),
    )
    for row, value in zip(rows, vector, strict=True):
        assert value == pytest_approx(priority_score(row))


def pytest_approx(value: float):  # type: ignore[no-untyped-def]
    import pytest

    return pytest.approx(value, rel=1e-9, abs=1e-9)

"""The priority of a mention: who should the desk answer first?

``priority_score`` is a pure function of a mention's ``PriorityFeatures`` and
returns a number from 0 to 100 (higher = answer sooner). It adds up weighted
terms, each squeezed into 0..1 first so that no single signal can run away::

    content   = 0.45·anger + 0.35·negative + 0.20·question        what the text says
    reach     = log10(1 + followers) / 7        (10M followers = 1; unknown counts as 1,000 followers)
    buzz      = log10(1 + engagement) / 4       (10,000 likes+replies+reposts+quotes = 1)
    waiting   = 1 − exp(−waiting_minutes / 60)  (1 h ≈ 0.63, 3 h ≈ 0.95; rises for ever, ever slower)
    repeat    = 1 − exp(−repeat_contacts / 2)   (a 2nd message ≈ 0.39, a 3rd ≈ 0.63)

    score     = 100 · (0.50·content + 0.15·reach + 0.10·buzz + 0.15·waiting + 0.10·repeat)
    if answered: score · 0.30

Why these weights: the desk exists to answer the angriest and most urgent people
first, so what the text says carries half the score. Reach and buzz (the
public's view of the mention) decide among similar texts. Waiting and repeat
contact make sure nobody is starved: every minute raises the score, and a person
who writes again is visibly more urgent. A mention whose author the desk has
already answered keeps 30% of its score: it stays in the queue, far below the
unanswered ones.

Ordering rules this guarantees (pinned by property tests):

* more anger, negativity, question, followers, engagement, waiting or repeat
  contact never lowers the score; more waiting always raises it (unanswered);
* already answered never ranks above the same mention unanswered;
* an angry (anger ≥ 0.8), negative (≥ 0.7) question from an account with at
  least 100,000 followers outranks a calm (anger, negative ≤ 0.1) non-question
  from an account with at most 1,000 followers, whatever their waiting time,
  engagement and repeat contact (both unanswered).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

W_CONTENT, W_REACH, W_BUZZ, W_WAITING, W_REPEAT = 0.50, 0.15, 0.10, 0.15, 0.10
W_ANGER, W_NEGATIVE, W_QUESTION = 0.45, 0.35, 0.20
ANSWERED_FACTOR = 0.30
UNKNOWN_FOLLOWERS = 1_000
REACH_DECADES = 7.0
BUZZ_DECADES = 4.0
WAITING_SCALE_MINUTES = 60.0
REPEAT_SCALE = 2.0


@dataclass(frozen=True)
class PriorityFeatures:
    anger: float  # 0..1, the model's anger probability
    negative: float  # 0..1, the model's negative-sentiment probability
    question: bool | float  # asks something: a flag or a 0..1 score
    followers: int | None  # author's followers; None when the network did not say
    engagement: int  # likes + replies + reposts + quotes of the mention itself
    waiting_minutes: float  # since the mention was posted
    repeat_contacts: int  # earlier mentions by the same author within the incident window
    answered: bool  # the desk already sent a reply to this mention or to this author


def _unit(value: float) -> float:
    """Clamp to 0..1; NaN (a broken score) counts as 0, not as urgent."""
    if value != value:  # NaN
        return 0.0
    return min(1.0, max(0.0, float(value)))


def priority_score(features: PriorityFeatures) -> float:
    """Score 0..100, higher means answer sooner (see the module docstring for the formula)."""
    f = features
    content = (
        W_ANGER * _unit(f.anger) + W_NEGATIVE * _unit(f.negative) + W_QUESTION * _unit(float(f.question))
    )
    followers = UNKNOWN_FOLLOWERS if f.followers is None else max(0, int(f.followers))
    reach = min(1.0, math.log10(1 + followers) / REACH_DECADES)
    buzz = min(1.0, math.log10(1 + max(0, int(f.engagement))) / BUZZ_DECADES)
    minutes = f.waiting_minutes if f.waiting_minutes == f.waiting_minutes else 0.0
    waiting = -math.expm1(-max(0.0, float(minutes)) / WAITING_SCALE_MINUTES)
    repeat = -math.expm1(-max(0, int(f.repeat_contacts)) / REPEAT_SCALE)
    score = 100.0 * (
        W_CONTENT * content + W_REACH * reach + W_BUZZ * buzz + W_WAITING * waiting + W_REPEAT * repeat
    )
    return score * ANSWERED_FACTOR if f.answered else score


def priority_scores(
    anger: np.ndarray,
    negative: np.ndarray,
    question: np.ndarray,
    followers: np.ndarray,
    engagement: np.ndarray,
    waiting_minutes: np.ndarray,
    repeat_contacts: np.ndarray,
    answered: np.ndarray,
) -> np.ndarray:
    """``priority_score`` over whole columns at once (``followers`` uses NaN for unknown).

    Same formula, vectorised for ``refresh_priorities``; a test checks that both agree.
    """

    def unit(x: np.ndarray) -> np.ndarray:
        return np.clip(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0), 0.0, 1.0)

    content = W_ANGER * unit(anger) + W_NEGATIVE * unit(negative) + W_QUESTION * unit(question)
    fol = np.asarray(followers, dtype=np.float64)
    fol = np.where(np.isnan(fol), UNKNOWN_FOLLOWERS, np.maximum(fol, 0.0))
    reach = np.minimum(1.0, np.log10(1.0 + fol) / REACH_DECADES)
    buzz = np.minimum(
        1.0, np.log10(1.0 + np.maximum(np.asarray(engagement, dtype=np.float64), 0.0)) / BUZZ_DECADES
    )
    minutes = np.maximum(np.nan_to_num(np.asarray(waiting_minutes, dtype=np.float64), nan=0.0), 0.0)
    waiting = -np.expm1(-minutes / WAITING_SCALE_MINUTES)
    repeat = -np.expm1(-np.maximum(np.asarray(repeat_contacts, dtype=np.float64), 0.0) / REPEAT_SCALE)
    score = 100.0 * (
        W_CONTENT * content + W_REACH * reach + W_BUZZ * buzz + W_WAITING * waiting + W_REPEAT * repeat
    )
    return np.where(np.asarray(answered, dtype=bool), score * ANSWERED_FACTOR, score)

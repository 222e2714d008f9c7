"""Deterministic engagement that grows with age, for the desk's own posts and the brand's status posts.

The same item id and age always give the same counts, so tests can assert on them and a
metrics poller sees numbers that only go up.
"""

from __future__ import annotations

import hashlib
import math


def unit(key: str, salt: str = "") -> float:
    """A stable number in [0, 1) from ``key`` (Python's ``hash`` changes between runs)."""
    digest = hashlib.blake2b(f"{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def saturating(total: float, age_seconds: float, half_life_seconds: float) -> int:
    """``total`` reached asymptotically: half of it after ``half_life_seconds``."""
    if age_seconds <= 0:
        return 0
    return int(total * (1.0 - math.exp(-math.log(2) * age_seconds / half_life_seconds)))


def x_public_metrics(tweet_id: str, age_seconds: float, reach: float = 1.0) -> dict[str, int]:
    """Counts of a post by the brand: impressions first, then likes, replies, reposts."""
    base = (800 + 4200 * unit(tweet_id, "impr")) * reach
    impressions = saturating(base, age_seconds, 1800.0)
    return {
        "retweet_count": int(impressions * (0.002 + 0.004 * unit(tweet_id, "rt"))),
        "reply_count": int(impressions * (0.003 + 0.006 * unit(tweet_id, "rp"))),
        "like_count": int(impressions * (0.01 + 0.02 * unit(tweet_id, "lk"))),
        "quote_count": int(impressions * 0.001 * unit(tweet_id, "qt")),
        "bookmark_count": int(impressions * 0.002 * unit(tweet_id, "bm")),
        "impression_count": impressions,
    }


def graph_post_counts(post_id: str, age_seconds: float, reach: float = 1.0) -> dict[str, int]:
    """Views, unique viewers, reactions, shares and clicks of a Page post."""
    base = (1500 + 6000 * unit(post_id, "views")) * reach
    views = saturating(base, age_seconds, 2400.0)
    return {
        "views": views,
        "unique": int(views * (0.62 + 0.2 * unit(post_id, "uniq"))),
        "reactions": int(views * (0.015 + 0.02 * unit(post_id, "react"))),
        "shares": int(views * 0.002 * unit(post_id, "share")),
        "clicks": int(views * (0.01 + 0.03 * unit(post_id, "click"))),
    }

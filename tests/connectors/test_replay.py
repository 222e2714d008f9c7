"""The connectors' mapping code reads real recorded API bodies correctly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import facebook
import pytest

from desk.connectors.facebook import mention_from_comment, mention_from_post, sort_graph_error
from desk.connectors.x import mention_from_tweet
from desk.domain import MentionKind, Platform
from desk.errors import AlreadyPosted, NeedsReauth, PostingBlocked, RateLimited, Retriable

REPLAY = Path(__file__).resolve().parent.parent / "fixtures" / "replay"


def body(name: str) -> dict:
    return json.loads((REPLAY / name).read_text(encoding="utf-8"))["body"]


def test_x_mentions_page_maps_every_tweet() -> None:
    page = body("users_mentions_page1.json")
    mentions = [mention_from_tweet(t, {}) for t in page["data"]]
    assert [m.external_id for m in mentions] == [t["id"] for t in page["data"]]
    assert all(
        m.platform is Platform.X and m.text == t["text"] for m, t in zip(mentions, page["data"], strict=True)
    )


def test_x_expansions_give_authors_replies_and_metrics() -> None:
    page = body("search_recent_expansions_200.json")
    users = {u["id"]: u for u in page["includes"]["users"]}
    first = mention_from_tweet(page["data"][0], users)
    assert first.kind is MentionKind.REPLY
    assert first.parent_external_id == "1275653067283759104"
    assert first.created_at == datetime(2020, 6, 25, 6, 14, 19, tzinfo=UTC)
    assert first.lang == "en"
    assert first.author is not None and first.author.external_id == "63046977"
    assert first.author.handle == users["63046977"]["username"]
    assert first.permalink == f"https://x.com/{first.author.handle}/status/1276035977375477760"


def test_x_public_metrics_are_counts() -> None:
    page = body("users_mentions_public_metrics.json")
    m = mention_from_tweet(page["data"][2], {})
    assert m.metrics == {"retweet_count": 0, "reply_count": 1, "like_count": 0, "quote_count": 0}


def test_graph_feed_posts_map_with_summaries() -> None:
    page = body("page_feed_page1.json")
    posts = [mention_from_post(p) for p in page["data"]]
    assert posts[0].external_id == "19292868552_10158349356748553"
    assert posts[0].created_at == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert posts[0].kind is MentionKind.POST
    assert posts[0].metrics["like_count"] == page["data"][0]["reactions"]["summary"]["total_count"]


def test_graph_comments_without_id_rights_are_skipped_by_caller_but_map_when_present() -> None:
    page = body("post_comments_page1.json")
    comment = dict(page["data"][1], id="10158407654328553_10158407903973553")
    m = mention_from_comment(comment, "19292868552_10158407654328553")
    assert m.text.startswith("Can someone from Instagram")
    assert m.parent_external_id == "19292868552_10158407654328553"
    assert m.author is None  # no `from` without MODERATE rights


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("error_190_expired_token.json", NeedsReauth),
        ("error_368_blocked_misuse.json", PostingBlocked),
        ("error_506_duplicate_post.json", AlreadyPosted),
        ("error_rate_limit_32_CONSTRUCTED.json", RateLimited),
        ("error_2_service_unavailable.json", Retriable),
        ("error_341_feed_action_limit.json", RateLimited),
    ],
)
def test_graph_errors_are_sorted(fixture: str, expected: type) -> None:
    error = sort_graph_error(facebook.GraphAPIError(body(fixture)))
    assert isinstance(error, expected)
    assert "Traceback" not in str(error) and len(str(error)) > 10


def test_expired_token_message_is_plain() -> None:
    error = sort_graph_error(facebook.GraphAPIError(body("error_190_expired_token.json")))
    assert str(error) == "Facebook token expired — reconnect the Facebook Page in Settings."

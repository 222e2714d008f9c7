"""The bundled Nimbus Voice incident: what it holds, and that it arrives over time."""

from __future__ import annotations

import time
import unicodedata

import requests
import tweepy
from sandbox.conftest import graph_client, x_client

from desk.sandbox import SandboxNetworks
from desk.sandbox.demo import DEMO_DIR, load_incident, load_pool

HOUR = 3600.0


def test_files_are_small_and_documented() -> None:
    total = sum(p.stat().st_size for p in DEMO_DIR.iterdir())
    assert total < 2_000_000
    readme = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    for source in ("airline/tweets.csv", "twcs/sample.csv", "tweeteval", "It is not a dataset"):
        assert source in readme


def test_counts_spread_and_both_platforms() -> None:
    incident = load_incident()
    tweets = [t for t in incident["x"]["tweets"] if t["author"] != "@desk"]
    comments = incident["facebook"]["comments"]
    visitor_posts = [p for p in incident["facebook"]["posts"] if not p.get("by_page")]
    total = len(tweets) + len(comments) + len(visitor_posts)
    assert 500 <= total <= 900
    assert len(tweets) > 300 and len(comments) > 100 and visitor_posts
    offsets = sorted(t["offset"] for t in tweets)
    assert offsets[0] < 600 and offsets[-1] > 4.2 * HOUR
    assert len([o for o in offsets if o < 600]) < len(
        [o for o in offsets if HOUR <= o < HOUR + 600]
    )  # a burst
    fixed = incident["fixed_at_seconds"]
    after_fix = [t for t in tweets if t["offset"] >= fixed]
    assert sum(t["kind"] == "thanks" for t in after_fix) > len(after_fix) / 3
    status = [t for t in incident["x"]["tweets"] if t["author"] == "@desk"]
    assert len(status) >= 5 and all(s.get("constructed") for s in status)


def test_texts_are_real_adapted_and_non_empty() -> None:
    incident = load_incident()
    items = incident["x"]["tweets"] + incident["facebook"]["comments"]
    for item in items:
        text = item.get("text", item.get("message"))
        if item.get("case") == "photo_only_comment_empty_message":
            assert text == ""
            continue
        assert text.strip(), item["key"]
        assert item.get("constructed") or item.get("provenance"), item["key"]
    x_mentions = [t for t in incident["x"]["tweets"] if t["author"] != "@desk"]
    assert all("@NimbusVoice" in t["text"] for t in x_mentions)
    assert {t["lang"] for t in x_mentions} >= {"en", "ja", "es", "tr", "und"}
    emoji_only = [t for t in x_mentions if t["kind"] == "emoji_only"]
    assert emoji_only and all(
        all(not unicodedata.category(ch).startswith("L") for ch in t["text"].replace("@NimbusVoice", ""))
        for t in emoji_only
    )


def test_hostile_items_are_present() -> None:
    incident = load_incident()
    items = incident["x"]["tweets"] + incident["facebook"]["comments"]
    texts = [i.get("text", i.get("message", "")) for i in items]
    assert any("<script>" in t for t in texts)
    assert any("\u202e" in t for t in texts)
    assert any("\u200b" in t for t in texts)
    assert any(len(t) >= 20_000 for t in texts)
    assert any(t.startswith("=cmd|' /C calc'!A0") for t in texts)
    assert any("javascript:" in t for t in texts)
    names = [u["name"] for u in incident["x"]["users"]] + [
        c["from_name"] for c in incident["facebook"]["comments"]
    ]
    assert any("<img" in n for n in names)


def test_authors_have_a_long_tail_and_repeat_contacts() -> None:
    incident = load_incident()
    followers = sorted(u["followers_count"] for u in incident["x"]["users"])
    assert followers[len(followers) // 2] < 1_000 and followers[-1] > 100_000
    counts: dict[str, int] = {}
    for t in incident["x"]["tweets"]:
        counts[t["author"]] = counts.get(t["author"], 0) + 1
    assert sum(1 for a, n in counts.items() if a != "@desk" and n >= 3) >= 5
    replies = [t for t in incident["x"]["tweets"] if t.get("in_reply_to")]
    assert any(r["in_reply_to"].startswith("status") for r in replies)
    keys = {t["key"]: t for t in incident["x"]["tweets"]}
    assert all(keys[r["in_reply_to"]]["offset"] < r["offset"] for r in replies)


def test_pool_is_large_and_real() -> None:
    pool = load_pool()
    assert len(pool) > 500
    assert all(p["text"].startswith("@NimbusVoice ") for p in pool)


def test_everything_at_once_through_the_libraries() -> None:
    with SandboxNetworks.start(incident="demo", speed=float("inf")) as nets:
        client = x_client(nets)
        walked = list(
            tweepy.Paginator(
                client.get_users_mentions, nets.x.desk_user_id, max_results=100, tweet_fields=["created_at"]
            ).flatten()
        )
        incident = load_incident()
        assert len(walked) == sum(1 for t in incident["x"]["tweets"] if t["author"] != "@desk")
        stamps = [t.created_at.timestamp() for t in walked]
        assert stamps == sorted(stamps, reverse=True) and max(stamps) <= time.time()
        assert 4 * HOUR < stamps[0] - stamps[-1] < 4.5 * HOUR  # real spacing is kept
        graph = graph_client(nets)
        feed = list(graph.get_all_connections(nets.graph.page_id, "feed", fields="id,from", limit=25))
        assert len(feed) == len(incident["facebook"]["posts"])
        comments = sum(
            len(list(graph.get_all_connections(p["id"], "comments", filter="stream", limit=100)))
            for p in feed
        )
        assert comments == len(incident["facebook"]["comments"])


def test_arrival_over_time_with_speed() -> None:
    # 1,800 incident seconds a real second: half an hour of the outage passes every second.
    with SandboxNetworks.start(incident="demo", speed=1800.0) as nets:
        client = x_client(nets)
        early = client.get_users_mentions(nets.x.desk_user_id, max_results=100)
        early_count = early.meta["result_count"]
        time.sleep(1.5)
        later = client.get_users_mentions(nets.x.desk_user_id, max_results=100)
        assert later.meta["result_count"] > early_count
        if early_count:
            fresh = client.get_users_mentions(
                nets.x.desk_user_id, since_id=early.meta["newest_id"], max_results=100
            )
            assert fresh.meta["result_count"] > 0
            assert all(int(t.id) > int(early.meta["newest_id"]) for t in fresh.data)
        state = requests.get(f"{nets.x_base_url}/_sandbox/state", timeout=5).json()
        assert 0 < state["mentions_visible"] < state["mentions_total"]


def test_start_offset_skips_ahead() -> None:
    with SandboxNetworks.start(incident="demo", speed=1.0, start_offset_seconds=2 * HOUR) as nets:
        counts = nets.x.counts()
        incident = load_incident()
        expected = sum(
            1 for t in incident["x"]["tweets"] if t["author"] != "@desk" and t["offset"] <= 2 * HOUR
        )
        assert abs(counts["mentions_visible"] - expected) <= 1

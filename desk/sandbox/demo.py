"""Loading the bundled demo incident (data/demo) into the two networks.

``data/demo/incident.json`` holds users, posts and comments with offsets in incident
seconds; ``data/demo/pool.json`` holds extra real texts for bulk generation. Both are
written once by :mod:`desk.sandbox.build_demo` and shipped, so nothing here reads
/work/shared at run time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from desk.sandbox.graphnet import GraphNetwork
from desk.sandbox.xnet import XNetwork

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "demo"
INCIDENT_FILE = DEMO_DIR / "incident.json"
POOL_FILE = DEMO_DIR / "pool.json"


class DemoDataMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def load_incident() -> dict[str, Any]:
    if not INCIDENT_FILE.exists():
        raise DemoDataMissing(
            f"the demo incident is missing: {INCIDENT_FILE} (run desk/sandbox/build_demo.py)"
        )
    return json.loads(INCIDENT_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_pool() -> list[dict[str, str]]:
    """Real customer texts (adapted to the demo brand) for ``bulk_generate``."""
    if not POOL_FILE.exists():
        raise DemoDataMissing(f"the text pool is missing: {POOL_FILE} (run desk/sandbox/build_demo.py)")
    pool = json.loads(POOL_FILE.read_text(encoding="utf-8"))
    if not pool:
        raise DemoDataMissing(f"the text pool {POOL_FILE} is empty")
    return pool


def incident_horizon(incident: dict[str, Any]) -> float:
    offsets = [t["offset"] for t in incident["x"]["tweets"]]
    offsets += [p["offset"] for p in incident["facebook"]["posts"]]
    offsets += [c["offset"] for c in incident["facebook"]["comments"]]
    return max(offsets, default=0.0)


def load_into(incident: dict[str, Any], x: XNetwork, graph: GraphNetwork) -> dict[str, int]:
    """Schedule every item of ``incident`` on both networks; returns counts per kind."""
    for user in incident["x"]["users"]:
        if user["id"] == x.desk_user_id:
            continue
        extra = {
            k: user[k]
            for k in (
                "following_count",
                "tweet_count",
                "listed_count",
                "description",
                "location",
                "verified",
                "created",
            )
            if k in user
        }
        x.add_user(
            user["id"],
            user["username"],
            user["name"],
            followers_count=user.get("followers_count", 0),
            **extra,
        )
    ids: dict[str, str] = {}
    # Parents first: a reply refers to an id assigned when its parent was scheduled.
    for tweet in sorted(incident["x"]["tweets"], key=lambda t: t["offset"]):
        author = x.desk_user_id if tweet["author"] == "@desk" else tweet["author"]
        parent = ids.get(tweet["in_reply_to"]) if tweet.get("in_reply_to") else None
        ids[tweet["key"]] = x.schedule_tweet(
            tweet["text"],
            author,
            tweet["offset"],
            in_reply_to_tweet_id=parent,
            lang=tweet.get("lang", "en"),
            mentions_desk=tweet.get("mentions_desk", author != x.desk_user_id),
            metrics=tweet.get("metrics"),
            source=tweet.get("source", "Twitter for iPhone"),
        )
    post_ids: dict[str, str] = {}
    for post in sorted(incident["facebook"]["posts"], key=lambda p: p["offset"]):
        post_ids[post["key"]] = graph.schedule_post(
            post["message"],
            post["offset"],
            by_page=post.get("by_page", False),
            from_id=post.get("from_id"),
            from_name=post.get("from_name"),
            reactions=post.get("reactions"),
            shares=post.get("shares", 0),
        )
    comment_ids: dict[str, str] = {}
    for comment in sorted(incident["facebook"]["comments"], key=lambda c: c["offset"]):
        by_page = comment.get("from_id") == "@page"
        comment_ids[comment["key"]] = graph.schedule_comment(
            post_ids[comment["post"]],
            comment["message"],
            comment["offset"],
            from_id=graph.page_id if by_page else comment["from_id"],
            from_name=graph.page_name if by_page else comment["from_name"],
            parent_id=comment_ids.get(comment["parent"]) if comment.get("parent") else None,
            like_count=comment.get("like_count", 0),
        )
    return {"tweets": len(ids), "posts": len(post_ids), "comments": len(comment_ids)}

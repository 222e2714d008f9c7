"""Metrics refresh appends snapshots of our replies and posts; it never overwrites."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from desk.connectors.registry import build_connectors
from desk.ingest import pull_all
from desk.metrics import refresh_metrics
from desk.store.engine import transaction
from desk.store.mentions import mention_from_row
from desk.store.schema import AuthorRow, MentionRow, MetricSnapshot, Reply
from desk.store.types import utcnow


def test_snapshots_accumulate_for_replies_and_own_posts(engine, nets, desk_settings, sleeps) -> None:
    nets.x.add_user("501", "ann", "Ann")
    nets.x.add_tweet("@NimbusVoice down?", "501")
    post = nets.graph.add_post("Status: DNS outage, we're on it", by_page=True)
    nets.graph.add_comment(post["id"], "when fixed?", from_id="9", from_name="Bo")
    connectors = build_connectors(desk_settings)
    pull_all(engine, connectors, settings=desk_settings, sleep=sleeps)
    with transaction(engine) as s:
        tweet = s.scalars(select(MentionRow).where(MentionRow.platform == "x")).one()
        mention = mention_from_row(tweet, s.get(AuthorRow, tweet.author_id))
    posted = connectors[mention.platform].post_reply(mention, "We're on it, sorry!")
    with transaction(engine) as s:
        s.add(
            Reply(
                mention_id=tweet.id,
                platform="x",
                agent="Ann Agent",
                text="We're on it, sorry!",
                status="sent",
                external_id=posted.external_id,
                idempotency_key="k1",
                sent_at=utcnow(),
            )
        )

    now = utcnow()
    first = refresh_metrics(engine, connectors, now=now)
    second = refresh_metrics(engine, connectors, now=now + timedelta(minutes=5))
    assert first.errors == [] and second.errors == []
    assert first.snapshots > 0 and second.snapshots == first.snapshots
    with transaction(engine) as s:
        snaps = s.scalars(select(MetricSnapshot)).all()
    assert len(snaps) == first.snapshots + second.snapshots
    kinds = {(sn.platform, sn.item_kind) for sn in snaps}
    assert ("x", "reply") in kinds and ("facebook", "post") in kinds
    by_time: dict[str, list[int]] = {}
    for sn in sorted(snaps, key=lambda sn: sn.captured_at):
        by_time.setdefault(f"{sn.external_id}:{sn.name}", []).append(sn.value)
    assert all(len(v) == 2 and v[1] >= v[0] for v in by_time.values())

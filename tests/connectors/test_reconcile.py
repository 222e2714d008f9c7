"""A crash mid-send leaves a 'sending' reply; reconciling asks the network and never posts twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from desk.connectors.registry import build_connectors
from desk.ingest import pull_all
from desk.replies import reconcile_interrupted_sends, send_reply
from desk.store.engine import transaction
from desk.store.mentions import mention_from_row
from desk.store.schema import AuthorRow, MentionRow, Reply
from desk.store.types import utcnow


def crashed_reply(engine, mention_id: int, text: str, key: str, started_ago: timedelta) -> int:  # type: ignore[no-untyped-def]
    """The row a send leaves when the process dies between its two commits."""
    with transaction(engine) as s:
        mention = s.get(MentionRow, mention_id)
        reply = Reply(
            mention_id=mention_id,
            platform=mention.platform,
            agent="Ana",
            text=text,
            status="sending",
            idempotency_key=key,
            attempts=1,
            sending_started_at=utcnow() - started_ago,
        )
        s.add(reply)
        s.flush()
        return reply.id


def test_interrupted_sends_are_settled_from_what_the_network_has(engine, nets, desk_settings, sleeps) -> None:
    nets.x.add_user("501", "ann", "Ann")
    nets.x.add_tweet("@NimbusVoice phones down?", "501")
    nets.x.add_tweet("@NimbusVoice still nothing", "501")
    post = nets.graph.add_post("We are looking into a DNS problem", by_page=True)
    nets.graph.add_comment(post["id"], "no dial tone here", from_id="77", from_name="Bo")
    connectors = build_connectors(desk_settings)
    pull_all(engine, connectors, settings=desk_settings, sleep=sleeps)
    with transaction(engine) as s:
        rows = s.scalars(select(MentionRow).where(MentionRow.is_own.is_(False)).order_by(MentionRow.id)).all()
        targets = {
            r.id: mention_from_row(r, s.get(AuthorRow, r.author_id) if r.author_id else None) for r in rows
        }
    x1, x2, fb = (r.id for r in rows)

    # x1 and fb went out before the crash; x2 never reached the network; the fresh one is still running.
    went_out_x = connectors[targets[x1].platform].post_reply(targets[x1], "Sorry Ann, DNS fix underway.")
    went_out_fb = connectors[targets[fb].platform].post_reply(targets[fb], "Sorry Bo, fix underway.")
    r_x1 = crashed_reply(engine, x1, "Sorry Ann, DNS fix underway.", "k-x1", timedelta(minutes=5))
    r_fb = crashed_reply(engine, fb, "Sorry Bo, fix underway.", "k-fb", timedelta(minutes=5))
    r_x2 = crashed_reply(engine, x2, "We're on it.", "k-x2", timedelta(minutes=5))
    with transaction(engine) as s:
        fresh_mention = s.get(MentionRow, x2)
    r_fresh = crashed_reply(engine, fresh_mention.id, "We're on it (again).", "k-fresh", timedelta(seconds=5))

    posted_before = (len(nets.x.posted), len(nets.graph.posted))
    assert reconcile_interrupted_sends(engine, connectors) == []
    assert (len(nets.x.posted), len(nets.graph.posted)) == posted_before  # nothing is posted by reconciling

    with transaction(engine) as s:
        replies = {r.id: r for r in s.scalars(select(Reply))}
        statuses = {m.id: m.status for m in s.scalars(select(MentionRow))}
    assert replies[r_x1].status == "sent" and replies[r_x1].external_id == went_out_x.external_id
    assert replies[r_fb].status == "sent" and replies[r_fb].external_id == str(went_out_fb.external_id)
    assert statuses[x1] == "replied" and statuses[fb] == "replied"
    assert replies[r_x2].status == "failed"
    assert replies[r_x2].error.startswith("The send was interrupted and X does not have this reply")
    assert replies[r_fresh].status == "sending"  # a send this young may still be running

    # The agent sends the failed one again: it goes out exactly once.
    with transaction(engine) as s:
        s.delete(s.get(Reply, r_fresh))
    again = send_reply(
        engine, connectors, mention_id=x2, agent="Ana", text="We're on it.", idempotency_key="k-x2b"
    )
    assert again.status == "sent"
    assert [p["text"] for p in nets.x.posted].count("We're on it.") == 1


def test_network_trouble_leaves_the_row_for_the_next_cycle(engine, nets, desk_settings, sleeps) -> None:
    nets.x.add_user("501", "ann", "Ann")
    nets.x.add_tweet("@NimbusVoice phones down?", "501")
    connectors = build_connectors(desk_settings)
    pull_all(engine, connectors, settings=desk_settings, sleep=sleeps)
    with transaction(engine) as s:
        mention_id = s.scalars(select(MentionRow.id)).one()
    reply_id = crashed_reply(engine, mention_id, "Sorry!", "k1", timedelta(minutes=10))
    nets.x.faults.inject("server_error", path="/2/tweets/search/recent", times=1)
    problems = reconcile_interrupted_sends(engine, connectors)
    assert len(problems) == 1 and problems[0].startswith("Could not check an interrupted reply on X")
    with transaction(engine) as s:
        assert s.get(Reply, reply_id).status == "sending"
    assert reconcile_interrupted_sends(engine, connectors) == []
    with transaction(engine) as s:
        assert s.get(Reply, reply_id).status == "failed"

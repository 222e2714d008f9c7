from __future__ import annotations

from datetime import timedelta

import pytest
from deskfactory import NOW, RecordingConnector, add_mention
from sqlalchemy import Engine, select

from desk import analytics
from desk.claims import claim
from desk.domain import Platform
from desk.errors import AlreadyPosted, Fatal, NeedsReauth, PostingBlocked, Retriable
from desk.incidents import open_incident
from desk.queue import list_queue
from desk.replies import allow_posting_again, mark_done, send_reply
from desk.store.engine import transaction
from desk.store.schema import Account, Claim, MentionRow, MetricSnapshot, Reply


def mention_row(engine: Engine, mention_id: int) -> MentionRow:
    with transaction(engine) as s:
        row = s.get(MentionRow, mention_id)
        assert row is not None
        return row


def test_send_records_sent_releases_claim_and_never_posts_twice(engine: Engine) -> None:
    conn = RecordingConnector()
    m = add_mention(engine)
    reply = send_reply(
        engine, {Platform.X: conn}, mention_id=m, agent="Ana", text=" Hello ", idempotency_key="k1"
    )
    assert reply.status == "sent" and reply.external_id == "r1" and reply.text == "Hello"
    row = mention_row(engine, m)
    assert (row.status, row.handled_by) == ("replied", "Ana")
    again = send_reply(
        engine, {Platform.X: conn}, mention_id=m, agent="Ana", text="Hello", idempotency_key="k1"
    )
    assert again.id == reply.id and len(conn.posted) == 1
    with pytest.raises(Fatal, match="already answered by Ana"):
        send_reply(engine, {Platform.X: conn}, mention_id=m, agent="Ana", text="Again", idempotency_key="k2")
    with transaction(engine) as s:
        assert s.get(Claim, m) is None
    assert len(conn.posted) == 1


def test_refusals_in_plain_words(engine: Engine) -> None:
    conn = RecordingConnector()
    m = add_mention(engine)
    claim(engine, m, "Ben")
    with pytest.raises(Fatal, match="Ben is replying"):
        send_reply(engine, {Platform.X: conn}, mention_id=m, agent="Ana", text="hi", idempotency_key="a")
    m2 = add_mention(engine, handle="other")
    with pytest.raises(Fatal, match="empty"):
        send_reply(engine, {Platform.X: conn}, mention_id=m2, agent="Ana", text="  ", idempotency_key="b")
    with pytest.raises(Fatal, match="limit is 280. Shorten it by 1"):
        send_reply(
            engine, {Platform.X: conn}, mention_id=m2, agent="Ana", text="a" * 281, idempotency_key="c"
        )
    with pytest.raises(Fatal, match=r"\{eta\}"):
        send_reply(
            engine, {Platform.X: conn}, mention_id=m2, agent="Ana", text="by {eta}", idempotency_key="d"
        )
    with pytest.raises(Fatal, match="no Facebook account"):
        fb = add_mention(engine, platform="facebook", handle=None, name="F")
        send_reply(engine, {Platform.X: conn}, mention_id=fb, agent="Ana", text="hi", idempotency_key="e")
    assert conn.posted == []
    with transaction(engine) as s:
        assert s.scalars(select(Reply)).all() == []  # refusals leave nothing behind
        assert s.get(Claim, m2) is None


def test_sending_row_is_committed_before_the_network(engine: Engine) -> None:
    seen: list[str] = []

    def look(_mention, _text) -> None:  # type: ignore[no-untyped-def]
        with transaction(engine) as s:
            seen.append(s.scalars(select(Reply.status)).one())

    conn = RecordingConnector(on_post=look)
    m = add_mention(engine)
    send_reply(engine, {Platform.X: conn}, mention_id=m, agent="Ana", text="hi", idempotency_key="k")
    assert seen == ["sending"]


def test_interrupted_send_is_never_resent_blindly(engine: Engine) -> None:
    def crash(_mention, _text) -> None:  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # the process dies mid-send

    m = add_mention(engine)
    with pytest.raises(KeyboardInterrupt):
        send_reply(
            engine,
            {Platform.X: RecordingConnector(on_post=crash)},
            mention_id=m,
            agent="Ana",
            text="hi",
            idempotency_key="k",
        )
    conn = RecordingConnector()
    with pytest.raises(Fatal, match="already being sent"):
        send_reply(engine, {Platform.X: conn}, mention_id=m, agent="Ana", text="hi", idempotency_key="k")
    with pytest.raises(Fatal, match="being sent right now"):
        send_reply(engine, {Platform.X: conn}, mention_id=m, agent="Ana", text="hi", idempotency_key="other")
    assert conn.posted == []


@pytest.mark.parametrize(
    ("error", "account_status", "reason"),
    [
        (PostingBlocked("You're temporarily blocked from posting."), "posting_blocked", "blocked posting"),
        (NeedsReauth("The access token expired."), "needs_reauth", "reconnect"),
        (Retriable("The network timed out."), "ok", "try again"),
        (Fatal("The post was deleted."), "ok", "refused the reply: The post was deleted."),
    ],
)
def test_failures_keep_claim_and_say_why(
    engine: Engine, error: Exception, account_status: str, reason: str
) -> None:
    with transaction(engine) as s:
        s.add(Account(platform="x", external_id="desk-account"))
    m = add_mention(engine)
    reply = send_reply(
        engine,
        {Platform.X: RecordingConnector(fail_with=error)},  # type: ignore[arg-type]
        mention_id=m,
        agent="Ana",
        text="hi",
        idempotency_key="k",
    )
    assert reply.status == "failed" and reason in (reply.error or "")
    with transaction(engine) as s:
        assert s.get(Claim, m).agent == "Ana"  # type: ignore[union-attr]
        assert s.scalars(select(Account.status)).one() == account_status
        assert s.get(MentionRow, m).status == "claimed"  # type: ignore[union-attr]
    if account_status == "posting_blocked":
        with pytest.raises(Fatal, match="blocked for now"):
            send_reply(
                engine,
                {Platform.X: RecordingConnector()},
                mention_id=m,
                agent="Ana",
                text="hi",
                idempotency_key="k",
            )
        assert allow_posting_again(engine, "x") == 1
    if account_status != "needs_reauth":
        retry = send_reply(
            engine,
            {Platform.X: RecordingConnector()},
            mention_id=m,
            agent="Ana",
            text="hi",
            idempotency_key="k",
        )
        assert retry.status == "sent" and retry.attempts == 2 and retry.id == reply.id


def test_already_posted_counts_as_sent(engine: Engine) -> None:
    m = add_mention(engine)
    reply = send_reply(
        engine,
        {Platform.X: RecordingConnector(fail_with=AlreadyPosted("duplicate"))},
        mention_id=m,
        agent="Ana",
        text="hi",
        idempotency_key="k",
    )
    assert reply.status == "sent" and mention_row(engine, m).status == "replied"


def test_mark_done_and_author_already_answered(engine: Engine) -> None:
    open_incident(engine, "DNS", started_at=NOW - timedelta(hours=1))
    first = add_mention(engine, "one", handle="same")
    second = add_mention(engine, "two", handle="same")
    send_reply(
        engine,
        {Platform.X: RecordingConnector()},
        mention_id=first,
        agent="Ana",
        text="hi",
        idempotency_key="k",
    )
    rows = {r.mention_id: r for r in list_queue(engine).rows}
    assert rows[second].earlier_replies_to_author == 1
    claim(engine, second, "Ben")
    with pytest.raises(Fatal, match="Ben is replying"):
        mark_done(engine, second, "Ana")
    mark_done(engine, second, "Ben")
    row = mention_row(engine, second)
    assert (row.status, row.handled_by) == ("closed", "Ben")


def test_analytics_frames(engine: Engine) -> None:
    conn = RecordingConnector()
    a = add_mention(engine, "a", created_at=NOW - timedelta(minutes=50), handle="a")
    b = add_mention(engine, "b", created_at=NOW - timedelta(minutes=20), sentiment="positive", handle="b")
    add_mention(
        engine, "c", platform="facebook", created_at=NOW - timedelta(minutes=10), handle=None, name="C"
    )
    send_reply(
        engine,
        {Platform.X: conn},
        mention_id=a,
        agent="Ana",
        text="hi",
        idempotency_key="1",
        now=NOW - timedelta(minutes=40),
    )
    send_reply(engine, {Platform.X: conn}, mention_id=b, agent="Ben", text="yo", idempotency_key="2")
    mark_done(engine, add_mention(engine, "d", handle="d"), "Ben")
    over = analytics.mentions_over_time(engine, since=NOW - timedelta(hours=2), freq="h")
    assert over["mentions"].sum() == 4
    assert set(over["platform"]) == {"x", "facebook"}
    assert set(over["sentiment"]) == {"negative", "positive"}
    responses = analytics.first_responses(engine)
    assert sorted(responses["agent"]) == ["Ana", "Ben"]
    summary = analytics.first_response_summary(responses)
    assert summary.loc[0, "platform"] == "all" and summary.loc[0, "answered"] == 2
    assert summary.loc[0, "p90_minutes"] >= summary.loc[0, "median_minutes"] > 0
    per_agent = analytics.responses_per_agent(engine)
    assert per_agent.set_index("agent").loc["Ben"].tolist() == [1, 0, 1]
    backlog = analytics.backlog_now(engine)
    assert backlog.set_index(["platform", "status"]).loc[("facebook", "new"), "mentions"] == 1


def test_reach_over_time_carries_counts_forward(engine: Engine) -> None:
    with transaction(engine) as s:
        for minutes, item, name, value in [
            (0, "r1", "impression_count", 10),
            (0, "r1", "like_count", 1),
            (70, "r1", "impression_count", 50),
            (70, "r2", "impression_count", 5),
            (130, "r2", "reply_count", 2),
        ]:
            s.add(
                MetricSnapshot(
                    platform="x",
                    external_id=item,
                    item_kind="reply",
                    name=name,
                    value=value,
                    captured_at=NOW + timedelta(minutes=minutes),
                )
            )
    frame = analytics.reach_over_time(engine, freq="h")
    impressions = frame[frame["metric"] == "impressions"]["value"].tolist()
    engagements = frame[frame["metric"] == "engagements"]["value"].tolist()
    assert impressions == [10, 55, 55]
    assert engagements == [1, 1, 3]


def test_concurrent_sends_to_one_mention_post_once(engine: Engine) -> None:
    """Two tabs (or two agents) press Send at the same instant: exactly one reply goes out."""
    import threading
    import time

    def slow(_mention, _text) -> None:  # type: ignore[no-untyped-def]
        time.sleep(0.3)  # hold the network call open while the other send arrives

    conn = RecordingConnector(on_post=slow)
    m = add_mention(engine)
    outcomes: list[str] = []
    start = threading.Barrier(3)

    def press_send(agent: str, key: str) -> None:
        start.wait()
        try:
            outcomes.append(
                send_reply(
                    engine, {Platform.X: conn}, mention_id=m, agent=agent, text="hi", idempotency_key=key
                ).status
            )
        except Fatal as exc:
            outcomes.append(f"refused: {exc}")

    threads = [
        threading.Thread(target=press_send, args=(a, k))
        for a, k in (("Ana", "k1"), ("Ana", "k2"), ("Ben", "k3"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(conn.posted) == 1
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "refused", "sent"], outcomes


@pytest.mark.parametrize("freq", ["min", "15min", "h", "D"])
def test_sql_buckets_match_a_brute_force_count(engine: Engine, freq: str) -> None:
    import random

    import pandas as pd

    rng = random.Random(3)
    since, until = NOW - timedelta(hours=30), NOW
    rows = []
    for n in range(60):
        created = NOW - timedelta(minutes=rng.randint(0, 40 * 60), seconds=rng.randint(0, 59))
        handled = created + timedelta(minutes=rng.randint(1, 300)) if rng.random() < 0.6 else None
        status = "replied" if handled else "new"
        platform = rng.choice(["x", "facebook"])
        mid = add_mention(
            engine,
            f"m{n}",
            platform=platform,
            handle=f"h{n}",
            created_at=created,
            status=status,
            sentiment=rng.choice(["negative", "neutral", None]),
        )
        if handled:
            with transaction(engine) as s:
                s.get(MentionRow, mid).handled_at = handled  # type: ignore[union-attr]
        rows.append((platform, created, handled))
    volume = analytics.mentions_over_time(engine, since=since, until=until, freq=freq)
    in_window = [r for r in rows if since <= r[1] < until]
    assert volume["mentions"].sum() == len(in_window)
    floors = pd.Series([pd.Timestamp(r[1]).floor(freq) for r in in_window])
    assert sorted(volume.groupby("bucket")["mentions"].sum().items()) == sorted(floors.value_counts().items())
    backlog = analytics.backlog_over_time(engine, since=since, until=until, freq=freq)
    for _, point in backlog.iterrows():
        end = point["bucket"].to_pydatetime()
        expected = sum(
            1
            for p, c, h in rows
            if p == point["platform"] and c < min(end, until) and (h is None or h >= min(end, until))
        )
        assert point["open"] == expected, (point.to_dict(), expected)


@pytest.mark.parametrize(
    ("span", "freq"),
    [
        (timedelta(minutes=30), "min"),
        (timedelta(hours=3), "15min"),
        (timedelta(days=2), "h"),
        (timedelta(days=7), "D"),
    ],
)
def test_bucket_size_follows_the_window(span: timedelta, freq: str) -> None:
    assert analytics.bucket_for(NOW - span, NOW) == freq

"""X connector + ingest over real HTTP (tweepy → sandbox), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from desk.connectors.registry import build_connectors
from desk.connectors.x import XConnector
from desk.domain import Platform
from desk.errors import AlreadyPosted
from desk.ingest import pull_all
from desk.store.engine import transaction
from desk.store.mentions import mention_from_row
from desk.store.schema import Account, AuthorRow, MentionRow, SyncState
from tests.connectors.faults import TRANSIENT_FAULTS

HOSTILE = (
    "<script>alert(1)</script> \u202egnp.exe \u200b\u200d =cmd|' /C calc'!A0 "
    '<a href="javascript:alert(1)">x</a>'
)


# tweepy reads JSON whatever the content-type says, so a missing header is no error on X
PAGING_FAULTS = {"repeat_cursor", "duplicate_item", "short_page", "no_content_type"}


def add_mentions(nets, n: int, start: int = 0) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(start, start + n):
        author = str(5000 + i % 7)
        nets.x.add_user(author, f"cust{i % 7}", f"Customer {i % 7}", followers_count=10 * (i % 7))
        tweet = nets.x.add_tweet(f"@{nets.x.desk_username} is the service down? #{i}", author)
        ids.append(str(tweet["id"]))
    return ids


def stored_ids(engine: Engine, platform: str = "x") -> list[str]:
    with transaction(engine) as s:
        return list(s.scalars(select(MentionRow.external_id).where(MentionRow.platform == platform)))


def x_only(settings):  # type: ignore[no-untyped-def]
    return {Platform.X: build_connectors(settings)[Platform.X]}


def test_pull_stores_every_mention_once_and_resumes_from_bookmark(
    engine, nets, desk_settings, sleeps
) -> None:
    ids = add_mentions(nets, 35)
    report = pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.errors == []
    assert report.new == 35
    assert sorted(stored_ids(engine)) == sorted(ids)
    with transaction(engine) as s:
        state = s.get(SyncState, f"x:mentions:{nets.x.desk_user_id}")
        assert state is not None and state.state == {"since_id": max(ids, key=int)}
        assert state.last_error is None and state.items_total == 35
        authors = {a.handle: a.followers for a in s.scalars(select(AuthorRow))}
    assert authors["cust3"] == 30

    more = add_mentions(nets, 3, start=35)
    seen_before = len(nets.x.requests_log)
    report = pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.new == 3
    assert sorted(stored_ids(engine)) == sorted(ids + more)
    mention_requests = [
        q for (_m, path, q) in nets.x.requests_log[seen_before:] if path.endswith("/mentions")
    ]
    assert mention_requests and all("since_id" in str(q) for q in mention_requests)


def test_hostile_text_is_stored_exactly(engine, nets, desk_settings, sleeps) -> None:
    nets.x.add_user("66", "\u202eevil<b>", "<img src=x onerror=alert(1)>", followers_count=1)
    long_text = "@NimbusVoice " + "ü" * 19_980
    t1 = nets.x.add_tweet(HOSTILE, "66")
    t2 = nets.x.add_tweet(long_text, "66")
    pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    with transaction(engine) as s:
        rows = {r.external_id: r for r in s.scalars(select(MentionRow))}
        assert rows[str(t1["id"])].text == HOSTILE
        assert rows[str(t2["id"])].text == long_text
        author = s.scalars(select(AuthorRow)).one()
        assert author.name == "<img src=x onerror=alert(1)>"


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        *TRANSIENT_FAULTS,
        ("rate_limit_no_headers", {}),
        ("rate_limit_text", {"reset_in": 1}),
    ],
)
def test_transient_faults_lose_nothing_and_duplicate_nothing(
    engine, nets, desk_settings, sleeps, fault, params
) -> None:
    ids = add_mentions(nets, 42)
    nets.x.faults.inject(fault, path="/2/users/*/mentions", times=2, **params)
    report = pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    # error faults are retried after a backoff; paging faults are absorbed without one
    assert bool(sleeps.waits) == (fault not in PAGING_FAULTS)
    if report.errors:  # a fault may outlast one pass; the next pull must finish the job
        report = pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.errors == []
    stored = stored_ids(engine)
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(ids)


def test_rate_limit_reset_header_is_honoured_and_capped(engine, nets, desk_settings, sleeps) -> None:
    add_mentions(nets, 5)
    nets.x.faults.inject("rate_limit", path="/2/users/*/mentions", times=1, reset_in=2)
    pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert len(sleeps.waits) == 1
    assert 1.0 <= sleeps.waits[0] <= 3.0  # about the reset time (±clock rounding), never more than the cap

    nets.x.faults.inject("rate_limit", path="/2/users/*/mentions", times=1, reset_in=600)
    nets.x.add_tweet("@NimbusVoice still down", "5000")
    pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert sleeps.waits[-1] <= desk_settings.retry_max_wait_seconds + 0.25


def test_retry_after_header_is_honoured(engine, nets, desk_settings, sleeps) -> None:
    add_mentions(nets, 5)
    nets.x.faults.inject("rate_limit_retry_after", path="/2/users/*/mentions", times=1, seconds=2)
    pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert len(sleeps.waits) == 1 and 2.0 <= sleeps.waits[0] <= 2.3


def test_persistent_outage_is_recorded_in_plain_words_then_resumed(
    engine, nets, desk_settings, sleeps
) -> None:
    ids = add_mentions(nets, 25)
    nets.x.faults.inject("server_error", path="/2/users/*/mentions", times=1000)
    report = pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert len(report.errors) == 1
    assert "server error" in report.errors[0] and "resumes" in report.errors[0]
    assert len(sleeps.waits) == desk_settings.retry_attempts - 1
    assert all(w <= desk_settings.retry_max_wait_seconds for w in sleeps.waits)
    with transaction(engine) as s:
        state = s.get(SyncState, f"x:mentions:{nets.x.desk_user_id}")
        assert state is not None and state.last_error is not None and "Traceback" not in state.last_error
    nets.x.faults.clear()
    report = pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.errors == [] and sorted(stored_ids(engine)) == sorted(ids)


def test_expired_credentials_mark_the_account_and_other_streams_go_on(
    engine, nets, desk_settings, sleeps
) -> None:
    add_mentions(nets, 4)
    post = nets.graph.add_post("Our phones are down, we're on it", by_page=True)
    nets.graph.add_comment(post["id"], "Is it fixed yet??", from_id="9001", from_name="Ann Customer")
    nets.x.faults.inject("unauthorized", path="/2/*", times=1000)
    connectors = build_connectors(desk_settings)
    report = pull_all(engine, connectors, settings=desk_settings, sleep=sleeps)
    assert sleeps.waits == []  # a dead credential is not retried
    assert any("Reconnect the X account" in e for e in report.errors)
    with transaction(engine) as s:
        x_account = s.scalars(select(Account).where(Account.platform == "x")).one()
        assert x_account.status == "needs_reauth"
        assert "401" in (x_account.status_message or "")
        assert (
            s.scalar(select(func.count()).select_from(MentionRow).where(MentionRow.platform == "facebook"))
            >= 1
        )


def test_post_reply_reaches_the_network_and_duplicates_are_recognised(
    engine, nets, desk_settings, sleeps
) -> None:
    add_mentions(nets, 1)
    pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    connector = XConnector(desk_settings)
    with transaction(engine) as s:
        row = s.scalars(select(MentionRow)).one()
        mention = mention_from_row(row, s.get(AuthorRow, row.author_id))
    posted = connector.post_reply(mention, "Sorry! We're fixing DNS now.")
    assert nets.x.posted[-1]["in_reply_to_tweet_id"] == mention.external_id
    assert nets.x.posted[-1]["text"] == "Sorry! We're fixing DNS now."
    assert posted.external_id == str(nets.x.posted[-1]["id"])
    nets.x.faults.inject("duplicate_content", path="/2/tweets", times=1)
    with pytest.raises(AlreadyPosted):
        connector.post_reply(mention, "Sorry! We're fixing DNS now.")


def test_metrics_of_our_reply_are_read(nets, desk_settings) -> None:
    nets.x.add_user("5000", "cust0", "Customer 0")
    tweet = nets.x.add_tweet("@NimbusVoice down?", "5000")
    connector = XConnector(desk_settings)
    from datetime import UTC, datetime

    from desk.domain import Author, Mention, MentionKind

    mention = Mention(
        Platform.X,
        str(tweet["id"]),
        MentionKind.TWEET,
        "down?",
        datetime.now(UTC),
        Author(Platform.X, "5000", "cust0"),
    )
    posted = connector.post_reply(mention, "We're on it")
    readings = connector.fetch_metrics([posted.external_id])
    names = {r.name for r in readings if r.external_id == posted.external_id}
    assert {"like_count", "reply_count", "retweet_count"} <= names


def test_secrets_never_stored(engine, nets, desk_settings, sleeps) -> None:
    add_mentions(nets, 3)
    nets.x.faults.inject("unauthorized", path="/2/*", times=1000)
    nets.graph.faults.inject("token_expired", path="*", times=1000)
    pull_all(engine, build_connectors(desk_settings), settings=desk_settings, sleep=sleeps)
    secrets = desk_settings.secrets()
    with transaction(engine) as s:
        dumped = " ".join(
            str(v) for row in s.scalars(select(SyncState)) for v in (row.state, row.last_error, row.stream)
        ) + " ".join(str(a.status_message) for a in s.scalars(select(Account)))
    assert dumped.strip()
    for secret in secrets:
        assert secret not in dumped


def test_a_good_read_clears_reauth_but_not_a_posting_block(engine, nets, desk_settings, sleeps) -> None:
    from desk.store.sync import set_account_status

    add_mentions(nets, 2)
    set_account_status(
        engine, Platform.X, nets.x.desk_user_id, "needs_reauth", "X rejected the desk's credentials"
    )
    pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    with transaction(engine) as s:
        assert s.scalars(select(Account.status).where(Account.platform == "x")).one() == "ok"
    set_account_status(engine, Platform.X, nets.x.desk_user_id, "posting_blocked", "too fast")
    pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    with transaction(engine) as s:
        assert s.scalars(select(Account.status).where(Account.platform == "x")).one() == "posting_blocked"


def test_keyword_search_finds_tweets_that_do_not_mention_us(
    engine, nets, desk_settings, sleeps, monkeypatch
) -> None:
    from desk.config import get_settings

    monkeypatch.setenv("DESK_X_SEARCH_QUERY", "nimbus down")
    get_settings.cache_clear()
    settings = get_settings()
    nets.x.add_user("777", "ann", "Ann")
    loose = nets.x.add_tweet("is nimbus down for everyone or just me", "777", mentions_desk=False)
    nets.x.add_tweet("my cat is down with a cold", "777", mentions_desk=False)
    direct = nets.x.add_tweet("@NimbusVoice phones dead", "777")
    connector = build_connectors(settings)[Platform.X]
    assert len(connector.streams()) == 2
    report = pull_all(engine, {Platform.X: connector}, settings=settings, sleep=sleeps)
    assert report.errors == []
    assert sorted(stored_ids(engine)) == sorted([str(loose["id"]), str(direct["id"])])


def test_nul_and_lone_surrogates_never_crash_ingest(engine, nets, desk_settings, sleeps) -> None:
    nets.x.add_user("67", "nul", "Nul \x00 Name")
    tweet = nets.x.add_tweet("@NimbusVoice a\x00b \ud800 c", "67")
    report = pull_all(engine, x_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.errors == [] and report.new == 1
    with transaction(engine) as s:
        row = s.scalars(select(MentionRow)).one()
    assert row.external_id == str(tweet["id"])
    # as received where the database can hold it; U+FFFD where it physically cannot
    expected_nul = "\ufffd" if engine.dialect.name == "postgresql" else "\x00"
    assert row.text == f"@NimbusVoice a{expected_nul}b \ufffd c"
    assert row.raw["tweet"]["text"] == "@NimbusVoice a\x00b \ud800 c"  # the payload itself is exact

"""Facebook connector + ingest over real HTTP (facebook-sdk → sandbox), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from desk.connectors.facebook import FacebookConnector
from desk.connectors.registry import build_connectors
from desk.domain import Platform
from desk.errors import AlreadyPosted, PostingBlocked
from desk.ingest import pull_all
from desk.store.engine import transaction
from desk.store.mentions import mention_from_row
from desk.store.schema import Account, AuthorRow, MentionRow
from tests.connectors.faults import TRANSIENT_FAULTS

PAGING_FAULTS = {"repeat_cursor", "duplicate_item", "short_page"}


def fb_only(settings):  # type: ignore[no-untyped-def]
    return {Platform.FACEBOOK: build_connectors(settings)[Platform.FACEBOOK]}


def seed(nets, posts: int = 3, comments: int = 14) -> set[str]:  # type: ignore[no-untyped-def]
    """Our status posts with customer comments, plus one visitor post. Returns the mention ids."""
    expected: set[str] = set()
    for p in range(posts):
        post = nets.graph.add_post(
            f"Update {p}: our DNS provider is down; phones cannot register.", by_page=True
        )
        for c in range(comments):
            comment = nets.graph.add_comment(
                post["id"],
                f"Still down here ({p}.{c}), when is it fixed?",
                from_id=str(7000 + c),
                from_name=f"Customer {c}",
            )
            expected.add(str(comment["id"]))
    visitor = nets.graph.add_post(
        "Nimbus your phones are dead AGAIN", from_id="8001", from_name="Angry Visitor"
    )
    expected.add(str(visitor["id"]))
    return expected


def customer_ids(engine: Engine) -> list[str]:
    with transaction(engine) as s:
        return list(
            s.scalars(
                select(MentionRow.external_id).where(
                    MentionRow.platform == "facebook", MentionRow.is_own.is_(False)
                )
            )
        )


def test_feed_and_comments_are_ingested_once_and_incrementally(engine, nets, desk_settings, sleeps) -> None:
    expected = seed(nets)
    report = pull_all(engine, fb_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.errors == []
    assert sorted(customer_ids(engine)) == sorted(expected)
    with transaction(engine) as s:
        own = s.scalars(select(MentionRow).where(MentionRow.is_own.is_(True))).all()
        assert len(own) == 3 and all(m.kind == "post" for m in own)
        comment = s.scalars(select(MentionRow).where(MentionRow.kind == "comment")).first()
        assert comment is not None and comment.conversation_id and comment.parent_external_id
    newest_post = max(own, key=lambda m: m.created_at).external_id
    new = nets.graph.add_comment(newest_post, "any news?", from_id="7100", from_name="Late Customer")
    report = pull_all(engine, fb_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.new == 1
    assert sorted(customer_ids(engine)) == sorted(expected | {str(new["id"])})


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        *TRANSIENT_FAULTS,
        ("throttle", {"code": 4}),
        ("throttle", {"code": 17}),
        ("throttle", {"code": 32}),
        ("throttle", {"code": 613}),
    ],
)
def test_transient_faults_lose_nothing(engine, nets, desk_settings, sleeps, fault, params) -> None:
    expected = seed(nets)
    nets.graph.faults.inject(fault, path="/v*/*/comments", times=2, **params)
    report = pull_all(engine, fb_only(desk_settings), settings=desk_settings, sleep=sleeps)
    # error faults are retried after a backoff; paging faults are absorbed without one
    assert bool(sleeps.waits) == (fault not in PAGING_FAULTS)
    if report.errors:
        report = pull_all(engine, fb_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.errors == []
    stored = customer_ids(engine)
    assert len(stored) == len(set(stored)) and sorted(stored) == sorted(expected)


def test_expired_page_token_needs_reauthentication(engine, nets, desk_settings, sleeps) -> None:
    seed(nets, posts=1, comments=2)
    nets.graph.faults.inject("token_expired", path="*", times=1000)
    report = pull_all(engine, fb_only(desk_settings), settings=desk_settings, sleep=sleeps)
    assert report.errors and "Facebook token expired — reconnect" in report.errors[0]
    assert sleeps.waits == []
    with transaction(engine) as s:
        account = s.scalars(select(Account).where(Account.platform == "facebook")).one()
        assert account.status == "needs_reauth"
        assert account.status_message == "Facebook token expired — reconnect the Facebook Page in Settings."


def test_reply_comment_posting_blocking_and_duplicates(engine, nets, desk_settings, sleeps) -> None:
    seed(nets, posts=1, comments=1)
    pull_all(engine, fb_only(desk_settings), settings=desk_settings, sleep=sleeps)
    connector = FacebookConnector(desk_settings)
    with transaction(engine) as s:
        row = s.scalars(select(MentionRow).where(MentionRow.kind == "comment")).one()
        mention = mention_from_row(row, s.get(AuthorRow, row.author_id) if row.author_id else None)
    posted = connector.post_reply(mention, "Sorry Customer, we're fixing it now.")
    assert nets.graph.posted[-1]["message"] == "Sorry Customer, we're fixing it now."
    assert str(posted.external_id) == str(nets.graph.posted[-1]["id"])
    nets.graph.faults.inject("posting_blocked", path="/v*/*/comments", times=1)
    with pytest.raises(PostingBlocked, match="blocked posting"):
        connector.post_reply(mention, "again")
    nets.graph.faults.inject("duplicate_post", path="/v*/*/comments", times=1)
    with pytest.raises(AlreadyPosted):
        connector.post_reply(mention, "Sorry Customer, we're fixing it now.")
    readings = connector.fetch_metrics([posted.external_id])
    assert {r.name for r in readings} >= {"like_count", "reply_count"}

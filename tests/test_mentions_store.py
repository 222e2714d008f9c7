from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from desk.domain import Author, Mention, MentionKind, Platform
from desk.store.engine import transaction
from desk.store.mentions import mention_from_row, upsert_mentions
from desk.store.schema import AuthorRow, MentionRow


def make(ext: str, likes: int = 0, author: str = "a1", followers: int | None = 5) -> Mention:
    return Mention(
        platform=Platform.X,
        external_id=ext,
        kind=MentionKind.REPLY,
        text=f"text {ext} \x00 <b>",
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
        author=Author(Platform.X, author, "h", "N", followers),
        parent_external_id="99",
        conversation_id="99",
        metrics={"like_count": likes},
        raw={"id": ext},
    )


def test_upsert_counts_new_once_and_refreshes_counts(engine: Engine) -> None:
    with transaction(engine) as s:
        assert upsert_mentions(s, [make("1"), make("2"), make("1")], account_id=None, own_author_id=None) == 2
    with transaction(engine) as s:
        assert upsert_mentions(s, [make("2", likes=7), make("3")], account_id=None, own_author_id=None) == 1
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(MentionRow)) == 3
        assert s.scalar(select(MentionRow.like_count).where(MentionRow.external_id == "2")) == 7
        assert s.scalar(select(func.count()).select_from(AuthorRow)) == 1


def test_same_external_id_on_two_platforms_is_two_mentions(engine: Engine) -> None:
    fb = Mention(
        platform=Platform.FACEBOOK,
        external_id="1",
        kind=MentionKind.COMMENT,
        text="hi",
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
        author=None,
    )
    with transaction(engine) as s:
        assert upsert_mentions(s, [make("1"), fb], account_id=None, own_author_id=None) == 2


def test_own_posts_are_marked_and_followers_kept_when_unknown(engine: Engine) -> None:
    with transaction(engine) as s:
        upsert_mentions(s, [make("1", author="me")], account_id=None, own_author_id="me")
        upsert_mentions(s, [make("2", author="me", followers=None)], account_id=None, own_author_id="me")
    with transaction(engine) as s:
        assert s.scalars(select(MentionRow.is_own)).all() == [True, True]
        assert s.scalar(select(AuthorRow.followers)) == 5


def test_mention_round_trips_to_domain(engine: Engine) -> None:
    with transaction(engine) as s:
        upsert_mentions(s, [make("1", likes=3)], account_id=None, own_author_id=None)
    with transaction(engine) as s:
        row = s.scalars(select(MentionRow)).one()
        author = s.get(AuthorRow, row.author_id)
        m = mention_from_row(row, author)
    assert m.external_id == "1" and m.kind is MentionKind.REPLY and m.parent_external_id == "99"
    assert m.author is not None and m.author.handle == "h"
    assert m.metrics["like_count"] == 3
    assert m.text.startswith("text 1 ")

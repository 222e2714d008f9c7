"""Rows for service, page and browser tests: mentions with authors and triage, inserted via the store."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from desk.domain import Mention, MetricReading, Platform, PostedReply
from desk.errors import DeskError
from desk.store.engine import transaction
from desk.store.schema import AuthorRow, MentionRow, TriageRow
from desk.store.types import utcnow

_ids = itertools.count(1000)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def add_mention(
    engine: Engine,
    text: str = "Is the service down?",
    *,
    platform: str = "x",
    handle: str | None = "cust1",
    name: str | None = "Casey Customer",
    author_external_id: str | None = None,
    followers: int | None = 100,
    created_at: datetime | None = None,
    status: str = "new",
    sentiment: str | None = "negative",
    anger: float = 0.1,
    question: bool = False,
    priority: float | None = 0.5,
    emotion: str | None = None,
    parent_external_id: str | None = None,
    conversation_id: str | None = None,
    external_id: str | None = None,
    is_own: bool = False,
    like_count: int = 0,
) -> int:
    """Insert one mention (and its author, and a triage row unless ``sentiment`` is None); returns its id."""
    n = next(_ids)
    with transaction(engine) as s:
        author_id = None
        if handle is not None or name is not None or author_external_id is not None:
            ext = author_external_id or f"u-{handle or name}"
            author = s.query(AuthorRow).filter_by(platform=platform, external_id=ext).first()
            if author is None:
                author = AuthorRow(
                    platform=platform, external_id=ext, handle=handle, name=name, followers=followers
                )
                s.add(author)
                s.flush()
            author_id = author.id
        row = MentionRow(
            platform=platform,
            external_id=external_id or str(n),
            kind="tweet" if platform == "x" else "comment",
            author_id=author_id,
            text=text,
            created_at=created_at or utcnow() - timedelta(minutes=5),
            status=status,
            raw={},
            parent_external_id=parent_external_id,
            conversation_id=conversation_id,
            is_own=is_own,
            like_count=like_count,
        )
        s.add(row)
        s.flush()
        mention_id = row.id
    if sentiment is not None:
        add_triage(
            engine,
            mention_id,
            sentiment=sentiment,
            anger=anger,
            emotion=emotion,
            question=question,
            priority=priority if priority is not None else 0.0,
        )
    return mention_id


def add_triage(
    engine: Engine,
    mention_id: int,
    *,
    sentiment: str = "negative",
    negative: float | None = None,
    neutral: float = 0.1,
    positive: float | None = None,
    anger: float = 0.1,
    emotion: str | None = None,
    question: bool = False,
    question_score: float | None = None,
    priority: float = 0.0,
) -> None:
    """Insert a mention's triage row; scores not given follow its labels (0.8 for the label, 0.1 else)."""
    with transaction(engine) as s:
        s.add(
            TriageRow(
                mention_id=mention_id,
                sentiment=sentiment,
                negative=negative if negative is not None else (0.8 if sentiment == "negative" else 0.1),
                neutral=neutral,
                positive=positive if positive is not None else (0.8 if sentiment == "positive" else 0.1),
                emotion=emotion or ("anger" if anger >= 0.5 else "sadness"),
                anger=anger,
                question=question,
                question_score=question_score if question_score is not None else (0.9 if question else 0.1),
                priority=priority,
                model_version="test",
            )
        )


@dataclass
class RecordingConnector:
    """A connector that records what it was asked to post and fails on demand.

    Used where a test needs to look inside ``send_reply`` between its phases (the
    sandbox tests cover the real HTTP path).
    """

    platform: Platform = Platform.X
    fail_with: DeskError | None = None
    posted: list[tuple[str, str]] = field(default_factory=list)
    on_post: Any = None

    def account_key(self) -> str:
        return "desk-account"

    def streams(self) -> list[str]:
        return []

    def fetch_pages(self, stream: str, state: dict[str, Any]):  # type: ignore[no-untyped-def]
        return iter(())

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        if self.on_post is not None:
            self.on_post(mention, text)
        if self.fail_with is not None:
            raise self.fail_with
        self.posted.append((mention.external_id, text))
        return PostedReply(self.platform, f"r{len(self.posted)}", mention.external_id, text)

    def fetch_metrics(self, external_ids: Sequence[str]) -> list[MetricReading]:
        return []

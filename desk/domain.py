"""Plain values that flow between the desk's modules. Frozen: nobody edits a mention in place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    X = "x"
    FACEBOOK = "facebook"


class MentionKind(StrEnum):
    TWEET = "tweet"
    REPLY = "reply"
    POST = "post"
    COMMENT = "comment"


class MentionStatus(StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    REPLIED = "replied"
    CLOSED = "closed"


@dataclass(frozen=True)
class Author:
    platform: Platform
    external_id: str
    handle: str | None = None
    name: str | None = None
    followers: int | None = None


@dataclass(frozen=True)
class Mention:
    platform: Platform
    external_id: str
    kind: MentionKind
    text: str
    created_at: datetime  # timezone-aware UTC
    author: Author | None
    parent_external_id: str | None = None
    conversation_id: str | None = None
    lang: str | None = None
    permalink: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of a stream: the mentions it holds and the stream state once they are stored.

    ``state`` is what to persist in the same transaction as ``mentions``; it is the
    bookmark from which a restart resumes.
    """

    mentions: list[Mention]
    state: dict[str, Any]


@dataclass(frozen=True)
class PostedReply:
    platform: Platform
    external_id: str
    in_reply_to: str
    text: str
    permalink: str | None = None


@dataclass(frozen=True)
class MetricReading:
    platform: Platform
    external_id: str
    name: str
    value: int

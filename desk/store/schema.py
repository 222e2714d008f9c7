"""The desk's tables. Migrations in ``desk/store/migrations`` are generated from these.

Table families:
  accounts, authors, mentions          what the networks told us (text exactly as received)
  sync_state                           one bookmark per stream; moves forward in the mentions' transaction
  metric_snapshots                     time series of counts; rows are appended, never overwritten
  triage, triage_corrections           the model's reading of a mention and agents' corrections
  agents, claims, replies, notes       the team's work on mentions
  templates, incidents                 one voice: canned replies and the incident they speak about
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from desk.store.types import JSONText, SafeText, UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A connected account of ours: the X user or the Facebook Page the desk speaks for."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_accounts_platform_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str | None] = mapped_column(SafeText)
    name: Mapped[str | None] = mapped_column(SafeText)
    # ok | needs_reauth | error | posting_blocked
    status: Mapped[str] = mapped_column(String(32), default="ok")
    status_message: Mapped[str | None] = mapped_column(SafeText)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthorRow(Base):
    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_authors_platform_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str | None] = mapped_column(SafeText)
    name: Mapped[str | None] = mapped_column(SafeText)
    followers: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MentionRow(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_mentions_platform_external"),
        Index("ix_mentions_created_at", "created_at"),
        Index("ix_mentions_status_created", "status", "created_at"),
        Index("ix_mentions_author", "author_id"),
        Index("ix_mentions_conversation", "platform", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    # tweet | reply | post | comment
    kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"))
    parent_external_id: Mapped[str | None] = mapped_column(String(128))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(SafeText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lang: Mapped[str | None] = mapped_column(String(16))
    permalink: Mapped[str | None] = mapped_column(SafeText)
    like_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reply_count: Mapped[int] = mapped_column(BigInteger, default=0)
    repost_count: Mapped[int] = mapped_column(BigInteger, default=0)
    quote_count: Mapped[int] = mapped_column(BigInteger, default=0)
    impression_count: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[Any] = mapped_column(JSONText)
    # new | claimed | replied | closed (the desk's own workflow state)
    status: Mapped[str] = mapped_column(String(16), default="new")
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by: Mapped[str | None] = mapped_column(SafeText)


class SyncState(Base):
    """Bookmark of one stream, e.g. ``x:mentions:2244994945`` or ``facebook:comments:<post>``."""

    __tablename__ = "sync_state"

    stream: Mapped[str] = mapped_column(String(255), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    state: Mapped[Any] = mapped_column(JSONText, default=dict)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(SafeText)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items_total: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetricSnapshot(Base):
    """One reading of one count of one item at one time. Appended, never updated."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (Index("ix_metric_item_time", "platform", "external_id", "name", "captured_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    # mention | reply | post | page
    item_kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(BigInteger)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriageRow(Base):
    __tablename__ = "triage"
    __table_args__ = (Index("ix_triage_priority", "priority"),)

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(16))
    negative: Mapped[float] = mapped_column(Float)
    neutral: Mapped[float] = mapped_column(Float)
    positive: Mapped[float] = mapped_column(Float)
    emotion: Mapped[str] = mapped_column(String(16))
    anger: Mapped[float] = mapped_column(Float)
    question: Mapped[bool] = mapped_column(Boolean)
    question_score: Mapped[float] = mapped_column(Float)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    model_version: Mapped[str] = mapped_column(String(64))
    corrected: Mapped[bool] = mapped_column(Boolean, default=False)
    triaged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriageCorrection(Base):
    __tablename__ = "triage_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    # sentiment | emotion | question
    field: Mapped[str] = mapped_column(String(16))
    old_value: Mapped[str | None] = mapped_column(String(32))
    new_value: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str] = mapped_column(SafeText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # agent | lead
    role: Mapped[str] = mapped_column(String(16), default="agent")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Claim(Base):
    """Who is answering a mention right now. One row per mention: the primary key forbids two."""

    __tablename__ = "claims"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    agent: Mapped[str] = mapped_column(String(80))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reply(Base):
    """A reply the desk sends (or sent). Its outcome is recorded here, never only in a page."""

    __tablename__ = "replies"
    __table_args__ = (
        Index("ix_replies_mention", "mention_id"),
        Index("ix_replies_status", "status"),
        UniqueConstraint("idempotency_key", name="uq_replies_idempotency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"))
    platform: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(SafeText)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"))
    # queued | sending | sent | failed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    external_id: Mapped[str | None] = mapped_column(String(128))
    permalink: Mapped[str | None] = mapped_column(SafeText)
    error: Mapped[str | None] = mapped_column(SafeText)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the latest attempt went to the network; a 'sending' row long past it was interrupted.
    sending_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    agent: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(SafeText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(SafeText)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(SafeText)
    status_url: Mapped[str | None] = mapped_column(SafeText)
    eta: Mapped[str | None] = mapped_column(SafeText)
    # open | resolved
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SavedQueueView(Base):
    """A queue filter a team member saved under a name (the built-in views live in desk/queue.py)."""

    __tablename__ = "saved_queue_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    filters: Mapped[Any] = mapped_column(JSONText)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Everything an agent needs to answer one mention: the mention, its author, the thread around it,
our earlier replies to the same person, the triage reading, the claim, notes and reply attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, or_, select

from desk.claims import ClaimInfo, active_claim_in
from desk.errors import Fatal
from desk.notes import NoteView, notes_for
from desk.queue import ANGER_THRESHOLD, replies_to_author_during_incident
from desk.store.engine import transaction
from desk.store.schema import AuthorRow, MentionRow, Reply, TriageRow
from desk.store.types import utcnow

THREAD_LIMIT = 50


@dataclass(frozen=True)
class AuthorCard:
    id: int
    platform: str
    external_id: str
    handle: str | None
    name: str | None
    followers: int | None
    mentions_total: int


@dataclass(frozen=True)
class TriageReading:
    sentiment: str
    negative: float
    neutral: float
    positive: float
    emotion: str
    anger: float
    question: bool
    question_score: float
    priority: float
    model_version: str
    corrected: bool

    def reasons(self, followers: int | None, waiting_minutes: float) -> list[str]:
        """Plain-words reasons behind the priority, strongest first."""
        out = []
        if self.anger >= ANGER_THRESHOLD or self.emotion == "anger":
            out.append(f"angry (anger {self.anger:.0%})")
        if self.sentiment == "negative":
            out.append(f"negative ({self.negative:.0%})")
        if self.question:
            out.append(f"asks a question ({self.question_score:.0%})")
        if followers:
            out.append(f"{followers:,} followers")
        out.append(f"waiting {waiting_minutes:.0f} min")
        return out


@dataclass(frozen=True)
class ThreadItem:
    role: str  # parent | earlier | later (same author) | conversation (others) | elsewhere | this | ours
    platform: str
    who: str | None
    text: str
    at: datetime
    mention_id: int | None
    status: str | None  # mention workflow status, or reply status for our replies
    error: str | None = None


@dataclass(frozen=True)
class MentionDetail:
    id: int
    platform: str
    kind: str
    external_id: str
    text: str
    created_at: datetime
    permalink: str | None
    status: str
    handled_by: str | None
    handled_at: datetime | None
    author: AuthorCard | None
    triage: TriageReading | None
    claim: ClaimInfo | None
    thread: list[ThreadItem]
    notes: list[NoteView]
    replies: list[Reply]
    replies_to_author_during_incident: int

    def waiting_minutes(self, now: datetime | None = None) -> float:
        end = self.handled_at if self.handled_at else (now or utcnow())
        return max((end - self.created_at).total_seconds() / 60, 0.0)


def mention_detail(engine: Engine, mention_id: int, *, now: datetime | None = None) -> MentionDetail:
    with transaction(engine) as session:
        row = session.get(MentionRow, mention_id)
        if row is None:
            raise Fatal(f"There is no mention number {mention_id}.")
        author_row = session.get(AuthorRow, row.author_id) if row.author_id is not None else None
        author = None
        if author_row is not None:
            total = len(
                list(session.scalars(select(MentionRow.id).where(MentionRow.author_id == author_row.id)))
            )
            author = AuthorCard(
                author_row.id,
                author_row.platform,
                author_row.external_id,
                author_row.handle,
                author_row.name,
                author_row.followers,
                total,
            )
        triage_row = session.get(TriageRow, mention_id)
        triage = None
        if triage_row is not None:
            triage = TriageReading(
                triage_row.sentiment,
                triage_row.negative,
                triage_row.neutral,
                triage_row.positive,
                triage_row.emotion,
                triage_row.anger,
                triage_row.question,
                triage_row.question_score,
                triage_row.priority,
                triage_row.model_version,
                triage_row.corrected,
            )
        claim = active_claim_in(session, mention_id, now=now)
        thread = _thread(session, row)
        replies = list(
            session.scalars(
                select(Reply).where(Reply.mention_id == mention_id).order_by(Reply.created_at, Reply.id)
            )
        )
        detail_fields = (
            row.id,
            row.platform,
            row.kind,
            row.external_id,
            row.text,
            row.created_at,
            row.permalink,
            row.status,
            row.handled_by,
            row.handled_at,
        )
    return MentionDetail(
        *detail_fields,
        author=author,
        triage=triage,
        claim=claim,
        thread=thread,
        notes=notes_for(engine, mention_id),
        replies=replies,
        replies_to_author_during_incident=replies_to_author_during_incident(
            engine, author.id if author else None
        ),
    )


def _same_person_elsewhere(session, row: MentionRow) -> set[int]:  # type: ignore[no-untyped-def]
    """Authors on the other platform with exactly this author's name or handle (case aside).

    The networks share no identity, so this is a hint for the agent, shown as "maybe the same
    person"; names shorter than 4 characters are too common to match.
    """
    if row.author_id is None:
        return set()
    author = session.get(AuthorRow, row.author_id)
    if author is None:
        return set()
    keys = {k.strip().lower().lstrip("@") for k in (author.name, author.handle) if k and len(k.strip()) >= 4}
    if not keys:
        return set()
    query = select(AuthorRow.id).where(
        AuthorRow.platform != row.platform,
        or_(func.lower(AuthorRow.name).in_(keys), func.lower(AuthorRow.handle).in_(keys)),
    )
    return set(session.scalars(query))


def _thread(session, row: MentionRow) -> list[ThreadItem]:  # type: ignore[no-untyped-def]
    """The parent post, the conversation and this author's other mentions, with our replies, oldest first."""
    related = [MentionRow.author_id == row.author_id] if row.author_id is not None else []
    twins = _same_person_elsewhere(session, row)
    if twins:
        related.append(MentionRow.author_id.in_(twins))
    if row.conversation_id:
        related.append(
            (MentionRow.platform == row.platform) & (MentionRow.conversation_id == row.conversation_id)
        )
    if row.parent_external_id:
        related.append(
            (MentionRow.platform == row.platform) & (MentionRow.external_id == row.parent_external_id)
        )
    mentions = list(
        session.scalars(
            select(MentionRow)
            .where(or_(MentionRow.id == row.id, *related))
            .order_by(MentionRow.created_at.desc())
            .limit(THREAD_LIMIT)
        )
    )
    authors = {
        a.id: a
        for a in session.scalars(
            select(AuthorRow).where(
                AuthorRow.id.in_({m.author_id for m in mentions if m.author_id is not None})
            )
        )
    }
    ids = [m.id for m in mentions]
    ours = list(session.scalars(select(Reply).where(Reply.mention_id.in_(ids)))) if ids else []
    items: list[ThreadItem] = []
    for m in mentions:
        a = authors.get(m.author_id) if m.author_id is not None else None
        if m.id == row.id:
            role = "this"
        elif (
            row.parent_external_id and m.external_id == row.parent_external_id and m.platform == row.platform
        ):
            role = "parent"
        elif m.is_own:
            role = "ours"
        elif m.author_id is not None and m.author_id == row.author_id:
            role = "earlier" if m.created_at <= row.created_at else "later"
        elif m.author_id in twins:
            role = "elsewhere"
        else:
            role = "conversation"  # someone else in the same thread
        items.append(
            ThreadItem(
                role, m.platform, (a.handle or a.name) if a else None, m.text, m.created_at, m.id, m.status
            )
        )
    for r in ours:
        items.append(
            ThreadItem(
                "ours",
                r.platform,
                r.agent,
                r.text,
                r.sent_at or r.created_at,
                r.mention_id,
                r.status,
                r.error,
            )
        )
    items.sort(key=lambda item: (item.at, item.role != "parent"))
    return items

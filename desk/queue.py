"""The queue: open mentions from every platform in priority order, filtered and paged in SQL.

Everything that narrows or orders the queue runs in the database (WHERE, ORDER BY,
LIMIT/OFFSET over indexed columns), so a page costs the same with 1,000 or
100,000 mentions stored. Mentions not yet triaged still appear, after the triaged ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.sql import ColumnElement, Select

from desk.claims import CLAIM_IDLE, OPEN_STATUSES, claim, expire_idle_claims
from desk.claims import ClaimedByOther as ClaimedByOther
from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import AuthorRow, Claim, Incident, MentionRow, Reply, SavedQueueView, TriageRow
from desk.store.types import utcnow

STATUSES = ("new", "claimed", "replied", "closed")
SENTIMENTS = ("negative", "neutral", "positive")
PLATFORMS = ("x", "facebook")
ANGER_THRESHOLD = 0.5
PAGE_SIZES = (10, 20, 50, 100)
MAX_SEARCH = 200


@dataclass(frozen=True)
class QueueFilter:
    platforms: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    angry_only: bool = False
    questions_only: bool = False
    statuses: tuple[str, ...] = OPEN_STATUSES
    author: str = ""
    search: str = ""
    waiting_minutes: int | None = None  # only mentions older than this many minutes
    claimed_by: str | None = None

    def checked(self) -> QueueFilter:
        """The same filter, or a plain-words refusal of values a person could not have meant."""
        for value in self.platforms:
            if value not in PLATFORMS:
                raise Fatal(f"Unknown platform {value!r}; the desk knows {', '.join(PLATFORMS)}.")
        for value in self.sentiments:
            if value not in SENTIMENTS:
                raise Fatal(f"Unknown sentiment {value!r}; use {', '.join(SENTIMENTS)}.")
        for value in self.statuses:
            if value not in STATUSES:
                raise Fatal(f"Unknown status {value!r}; use {', '.join(STATUSES)}.")
        if len(self.search) > MAX_SEARCH or len(self.author) > MAX_SEARCH:
            raise Fatal(f"Search text can be at most {MAX_SEARCH} characters long.")
        if self.waiting_minutes is not None and self.waiting_minutes < 0:
            raise Fatal("Waiting time must be zero or more minutes.")
        return self


@dataclass(frozen=True)
class SavedView:
    name: str
    description: str
    filter: QueueFilter


SAVED_VIEWS: tuple[SavedView, ...] = (
    SavedView("All open", "Every mention nobody has answered or closed yet.", QueueFilter()),
    SavedView(
        "Angry questions",
        "Open questions from people who are angry.",
        QueueFilter(angry_only=True, questions_only=True),
    ),
    SavedView(
        "Unanswered > 30 min",
        "Open mentions waiting longer than half an hour.",
        QueueFilter(waiting_minutes=30),
    ),
    SavedView("Negative", "Open mentions with negative sentiment.", QueueFilter(sentiments=("negative",))),
    SavedView(
        "Handled", "Mentions already replied to or closed.", QueueFilter(statuses=("replied", "closed"))
    ),
)


def saved_view(name: str, engine: Engine | None = None) -> SavedView:
    """A built-in view, or (given ``engine``) one the team saved."""
    for view in SAVED_VIEWS:
        if view.name == name:
            return view
    if engine is not None:
        for view in team_views(engine):
            if view.name == name:
                return view
    raise Fatal(f"There is no saved view called {name!r}.")


_SAVED_FIELDS = (
    "platforms",
    "sentiments",
    "angry_only",
    "questions_only",
    "statuses",
    "author",
    "search",
    "waiting_minutes",
)


def _filter_from_json(data: object) -> QueueFilter:
    """A stored filter back as a QueueFilter; unknown keys (from an older desk) are ignored."""
    if not isinstance(data, dict):
        return QueueFilter()
    values: dict[str, object] = {}
    for key in _SAVED_FIELDS:
        if key in data:
            value = data[key]
            values[key] = tuple(value) if isinstance(value, list) else value
    try:
        return QueueFilter(**values).checked()  # type: ignore[arg-type]
    except (Fatal, TypeError):
        return QueueFilter()


def team_views(engine: Engine) -> list[SavedView]:
    """Views saved by the team, by name."""
    with transaction(engine) as session:
        rows = list(session.scalars(select(SavedQueueView).order_by(SavedQueueView.name)))
    return [SavedView(r.name, f"Saved by {r.created_by}.", _filter_from_json(r.filters)) for r in rows]


def all_views(engine: Engine) -> list[SavedView]:
    return [*SAVED_VIEWS, *team_views(engine)]


def save_team_view(engine: Engine, name: str, flt: QueueFilter, agent: str) -> SavedView:
    """Save ``flt`` under ``name`` for the whole team (replacing a team view of that name).

    "Only mine" is personal, so it is not part of a saved view.
    """
    name = " ".join((name or "").split())
    if not name:
        raise Fatal("Give the view a name.")
    if len(name) > 80:
        raise Fatal("A view name can be at most 80 characters long.")
    if any(view.name.lower() == name.lower() for view in SAVED_VIEWS):
        raise Fatal(f"{name!r} is a built-in view; pick another name.")
    if not agent:
        raise Fatal("Pick your name before saving a view.")
    flt = replace(flt.checked(), claimed_by=None)
    data = {key: list(v) if isinstance(v, tuple) else v for key in _SAVED_FIELDS for v in [getattr(flt, key)]}
    with transaction(engine) as session:
        row = session.scalars(select(SavedQueueView).where(SavedQueueView.name == name)).first()
        if row is None:
            session.add(SavedQueueView(name=name, filters=data, created_by=agent))
        else:
            row.filters, row.created_by, row.created_at = data, agent, utcnow()
    return SavedView(name, f"Saved by {agent}.", flt)


def delete_team_view(engine: Engine, name: str) -> None:
    if any(view.name == name for view in SAVED_VIEWS):
        raise Fatal("Built-in views cannot be deleted.")
    with transaction(engine) as session:
        row = session.scalars(select(SavedQueueView).where(SavedQueueView.name == name)).first()
        if row is None:
            raise Fatal(f"There is no saved view called {name!r}.")
        session.delete(row)


@dataclass(frozen=True)
class QueueRow:
    mention_id: int
    platform: str
    kind: str
    text: str
    created_at: datetime
    permalink: str | None
    status: str
    handled_by: str | None
    handled_at: datetime | None
    author_id: int | None
    handle: str | None
    name: str | None
    followers: int | None
    sentiment: str | None
    anger: float | None
    emotion: str | None
    question: bool | None
    priority: float | None
    claimed_by: str | None
    earlier_replies_to_author: int = 0

    def waiting(self, now: datetime) -> timedelta:
        end = self.handled_at if self.status in ("replied", "closed") and self.handled_at else now
        return max(end - self.created_at, timedelta(0))

    @property
    def angry(self) -> bool:
        return self.anger is not None and self.anger >= ANGER_THRESHOLD


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int  # 1-based
    page_size: int
    generated_at: datetime = field(default_factory=utcnow)
    total_exact: bool = True  # False when the count stopped at COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(flt: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.statuses:
        conds.append(MentionRow.status.in_(flt.statuses))
    if flt.platforms:
        conds.append(MentionRow.platform.in_(flt.platforms))
    if flt.sentiments:
        conds.append(TriageRow.sentiment.in_(flt.sentiments))
    if flt.angry_only:
        conds.append(or_(TriageRow.anger >= ANGER_THRESHOLD, TriageRow.emotion == "anger"))
    if flt.questions_only:
        conds.append(TriageRow.question.is_(True))
    if flt.search.strip():
        conds.append(MentionRow.text.ilike(_like(flt.search.strip()), escape="\\"))
    if flt.author.strip():
        pattern = _like(flt.author.strip().lstrip("@"))
        conds.append(
            or_(AuthorRow.handle.ilike(pattern, escape="\\"), AuthorRow.name.ilike(pattern, escape="\\"))
        )
    if flt.waiting_minutes is not None:
        conds.append(MentionRow.created_at <= now - timedelta(minutes=flt.waiting_minutes))
    if flt.claimed_by:
        conds.append(and_(Claim.agent == flt.claimed_by, Claim.last_active_at >= now - CLAIM_IDLE))
    return conds


def _needs(flt: QueueFilter) -> tuple[bool, bool, bool]:
    """Which joined tables the filter reads: (triage, authors, claims)."""
    return (
        bool(flt.sentiments or flt.angry_only or flt.questions_only),
        bool(flt.author.strip()),
        bool(flt.claimed_by),
    )


def _base(columns: list, flt: QueueFilter, now: datetime, *, triage: str = "outer") -> Select:  # type: ignore[type-arg]
    """Mentions matching ``flt``, joined only to what the filter or ``columns`` need.

    ``triage`` is "outer" (all mentions), "inner" (triaged only: the priority index can
    drive the ordering) or "none" (untriaged only).
    """
    _, wants_author, wants_claim = _needs(flt)
    query = select(*columns).select_from(MentionRow)
    if triage == "inner":
        query = query.join(TriageRow, TriageRow.mention_id == MentionRow.id)
    else:
        query = query.outerjoin(TriageRow, TriageRow.mention_id == MentionRow.id)
        if triage == "none":
            query = query.where(TriageRow.mention_id.is_(None))
    if wants_author:
        query = query.outerjoin(AuthorRow, AuthorRow.id == MentionRow.author_id)
    if wants_claim:
        query = query.outerjoin(Claim, Claim.mention_id == MentionRow.id)
    query = query.where(MentionRow.is_own.is_(False))
    for cond in _conditions(flt, now):
        query = query.where(cond)
    return query


COUNT_CAP = 10_000


def _page_ids(session, flt: QueueFilter, now: datetime, offset: int, limit: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Ids of one page in queue order: triaged by priority (walking the priority index), then untriaged
    oldest first. Two queries instead of one ``NULLS LAST`` sort, so no page sorts the whole table."""
    triaged = list(
        session.scalars(
            _base([MentionRow.id], flt, now, triage="inner")
            # Exactly the reverse order of the (priority, mention_id) index, so the database walks the index
            # and stops after one page; sorting ties by created_at instead would sort every open mention.
            .order_by(TriageRow.priority.desc(), TriageRow.mention_id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    needs_triage, _, _ = _needs(flt)
    if len(triaged) == limit or needs_triage:
        return triaged
    triaged_total = (
        session.scalar(
            select(func.count()).select_from(_base([MentionRow.id], flt, now, triage="inner").subquery())
        )
        or 0
    )
    untriaged = list(
        session.scalars(
            _base([MentionRow.id], flt, now, triage="none")
            .order_by(MentionRow.created_at.asc(), MentionRow.id.asc())
            .limit(limit - len(triaged))
            .offset(max(0, offset - triaged_total))
        )
    )
    return triaged + untriaged


def list_queue(
    engine: Engine,
    flt: QueueFilter | None = None,
    *,
    page: int = 1,
    page_size: int = 20,
    now: datetime | None = None,
) -> QueuePage:
    """One page of the queue, highest priority first, with the count for the pager.

    The count stops at ``COUNT_CAP`` (``total_exact`` is then False): counting every
    one of 100,000 matching rows on each refresh would cost more than the page itself.
    """
    flt = (flt or QueueFilter()).checked()
    now = now or utcnow()
    if page_size < 1 or page_size > 500:
        raise Fatal("A page holds between 1 and 500 mentions.")
    expire_idle_claims(engine, now=now)
    fresh_after = now - CLAIM_IDLE
    columns = [
        MentionRow.id,
        MentionRow.platform,
        MentionRow.kind,
        MentionRow.text,
        MentionRow.created_at,
        MentionRow.permalink,
        MentionRow.status,
        MentionRow.handled_by,
        MentionRow.handled_at,
        MentionRow.author_id,
        AuthorRow.handle,
        AuthorRow.name,
        AuthorRow.followers,
        TriageRow.sentiment,
        TriageRow.anger,
        TriageRow.emotion,
        TriageRow.question,
        TriageRow.priority,
        Claim.agent,
        Claim.last_active_at,
    ]
    with transaction(engine) as session:
        capped = _base([MentionRow.id], flt, now).limit(COUNT_CAP + 1).subquery()
        total = session.scalar(select(func.count()).select_from(capped)) or 0
        exact = total <= COUNT_CAP
        total = min(total, COUNT_CAP)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        ids = _page_ids(session, flt, now, (page - 1) * page_size, page_size)
        query = (
            select(*columns)
            .select_from(MentionRow)
            .outerjoin(TriageRow, TriageRow.mention_id == MentionRow.id)
            .outerjoin(AuthorRow, AuthorRow.id == MentionRow.author_id)
            .outerjoin(Claim, Claim.mention_id == MentionRow.id)
            .where(MentionRow.id.in_(ids))
        )
        position = {mention_id: n for n, mention_id in enumerate(ids)}
        raw = sorted(session.execute(query).all(), key=lambda r: position[r.id]) if ids else []
        author_ids = {r.author_id for r in raw if r.author_id is not None}
        answered = _sent_replies_per_author(session, author_ids)
    rows = []
    for r in raw:
        claimed_by = r.agent if r.agent is not None and r.last_active_at >= fresh_after else None
        rows.append(
            QueueRow(
                mention_id=r.id,
                platform=r.platform,
                kind=r.kind,
                text=r.text,
                created_at=r.created_at,
                permalink=r.permalink,
                status=r.status,
                handled_by=r.handled_by,
                handled_at=r.handled_at,
                author_id=r.author_id,
                handle=r.handle,
                name=r.name,
                followers=r.followers,
                sentiment=r.sentiment,
                anger=r.anger,
                emotion=r.emotion,
                question=r.question,
                priority=r.priority,
                claimed_by=claimed_by,
                # Only open mentions need the warning; a replied one would count its own reply.
                earlier_replies_to_author=answered.get(r.author_id, 0)
                if r.author_id is not None and r.status in OPEN_STATUSES
                else 0,
            )
        )
    return QueuePage(
        rows=rows, total=total, page=page, page_size=page_size, generated_at=now, total_exact=exact
    )


def _incident_start(session) -> datetime | None:  # type: ignore[no-untyped-def]
    return session.scalar(
        select(Incident.started_at)
        .where(Incident.status == "open")
        .order_by(Incident.started_at.desc())
        .limit(1)
    )


def _sent_replies_per_author(
    session,
    author_ids: set[int],  # type: ignore[no-untyped-def]
    other_than_mention: int | None = None,
) -> dict[int, int]:
    """How many replies we sent to each author during the open incident (ever, if none is open)."""
    if not author_ids:
        return {}
    query = (
        select(MentionRow.author_id, func.count(Reply.id))
        .join(Reply, Reply.mention_id == MentionRow.id)
        .where(MentionRow.author_id.in_(author_ids), Reply.status == "sent")
        .group_by(MentionRow.author_id)
    )
    if other_than_mention is not None:
        query = query.where(MentionRow.id != other_than_mention)
    since = _incident_start(session)
    if since is not None:
        query = query.where(Reply.sent_at >= since)
    return {author_id: count for author_id, count in session.execute(query)}


def replies_to_author_during_incident(
    engine: Engine, author_id: int | None, *, other_than_mention: int | None = None
) -> int:
    """Replies sent to this person during the open incident, except those to ``other_than_mention``."""
    if author_id is None:
        return 0
    with transaction(engine) as session:
        return _sent_replies_per_author(session, {author_id}, other_than_mention).get(author_id, 0)


def next_mention(
    engine: Engine,
    agent: str,
    flt: QueueFilter | None = None,
    *,
    now: datetime | None = None,
    exclude: frozenset[int] = frozenset(),
    attempts: int = 5,
) -> int | None:
    """Claim and return the highest-priority open mention nobody else holds, or ``None`` if there is none.

    Mentions this agent already holds come first, so "next" never abandons work in hand.
    """
    if not agent:
        raise Fatal("Pick your name before taking a mention.")
    flt = replace((flt or QueueFilter()).checked(), statuses=OPEN_STATUSES)
    now = now or utcnow()
    fresh_after = now - CLAIM_IDLE
    skip: set[int] = set(exclude)
    for _ in range(attempts):
        with transaction(engine) as session:
            candidate = _next_candidate(session, flt, now, agent, fresh_after, skip)
        if candidate is None:
            return None
        try:
            claim(engine, candidate, agent, now=now)
            return candidate
        except Fatal:
            skip.add(candidate)  # someone was faster; try the next one
    return None


def _next_candidate(
    session,
    flt: QueueFilter,
    now: datetime,
    agent: str,  # type: ignore[no-untyped-def]
    fresh_after: datetime,
    skip: set[int],
) -> int | None:
    """The first mention in queue order this agent may take: their own claims first, then free ones."""
    _, _, joined_claims = _needs(flt)
    # Start from the claims table for "mine" (a handful of rows), never by scanning the queue for them.
    own = (
        set(
            session.scalars(
                select(Claim.mention_id).where(Claim.agent == agent, Claim.last_active_at >= fresh_after)
            )
        )
        - skip
    )
    for mine in (True, False):
        if mine and not own:
            continue
        for triage in ("inner", "none"):
            query = _base([MentionRow.id], flt, now, triage=triage)
            if not joined_claims:
                query = query.outerjoin(Claim, Claim.mention_id == MentionRow.id)
            if mine:
                query = query.where(MentionRow.id.in_(own))
            else:
                query = query.where(or_(Claim.mention_id.is_(None), Claim.last_active_at < fresh_after))
            if skip:
                query = query.where(MentionRow.id.not_in(skip))
            order: list[ColumnElement[Any]] = [MentionRow.created_at.asc(), MentionRow.id.asc()]
            if triage == "inner":
                order = [TriageRow.priority.desc(), TriageRow.mention_id.desc()]
            found = session.scalar(query.order_by(*order).limit(1))
            if found is not None:
                return int(found)
    return None


def open_counts(engine: Engine) -> dict[str, int]:
    """Open mentions per platform, for the header."""
    with transaction(engine) as session:
        rows = session.execute(
            select(MentionRow.platform, func.count())
            .where(MentionRow.status.in_(OPEN_STATUSES), MentionRow.is_own.is_(False))
            .group_by(MentionRow.platform)
        )
        return {platform: count for platform, count in rows}

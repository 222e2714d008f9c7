"""Who is answering which mention: claim, keep alive, release, take over, expire.

One claim per mention (the ``claims`` primary key forbids two). Opening a mention
to reply claims it; while the claim is fresh nobody else can send to that mention.
A claim nobody touched for ``CLAIM_IDLE`` lapses, so a closed laptop never locks a
mention. A lead may release or take over anyone's claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import Claim, MentionRow
from desk.store.types import utcnow
from desk.team import is_lead

CLAIM_IDLE = timedelta(minutes=10)
OPEN_STATUSES = ("new", "claimed")


class ClaimedByOther(Fatal):
    """Someone else is replying to this mention."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"{holder} is replying to this mention; you cannot send to it.")
        self.holder = holder


@dataclass(frozen=True)
class ClaimInfo:
    mention_id: int
    agent: str
    claimed_at: datetime
    last_active_at: datetime


def _info(row: Claim) -> ClaimInfo:
    return ClaimInfo(row.mention_id, row.agent, row.claimed_at, row.last_active_at)


def _fresh(row: Claim | None, now: datetime, idle: timedelta) -> bool:
    return row is not None and row.last_active_at >= now - idle


def active_claim_in(
    session: Session, mention_id: int, *, now: datetime | None = None, idle: timedelta = CLAIM_IDLE
) -> ClaimInfo | None:
    row = session.get(Claim, mention_id)
    return _info(row) if row is not None and _fresh(row, now or utcnow(), idle) else None


def active_claim(
    engine: Engine, mention_id: int, *, now: datetime | None = None, idle: timedelta = CLAIM_IDLE
) -> ClaimInfo | None:
    """The claim on ``mention_id`` unless it lapsed."""
    with transaction(engine) as session:
        return active_claim_in(session, mention_id, now=now, idle=idle)


def claim_in(
    session: Session, mention: MentionRow, agent: str, *, now: datetime, idle: timedelta = CLAIM_IDLE
) -> ClaimInfo:
    """Claim inside the caller's transaction (``send_reply`` re-checks the claim this way)."""
    if not agent:
        raise Fatal("Pick your name before taking a mention.")
    if mention.status == "replied":
        raise Fatal(f"This mention was already answered by {mention.handled_by or 'the team'}.")
    if mention.status == "closed":
        raise Fatal(f"This mention was closed by {mention.handled_by or 'the team'}.")
    row = session.get(Claim, mention.id)
    if row is not None and row.agent != agent and _fresh(row, now, idle):
        raise ClaimedByOther(row.agent)
    if row is None:
        row = Claim(mention_id=mention.id, agent=agent, claimed_at=now, last_active_at=now)
        session.add(row)
    else:
        if row.agent != agent:
            row.agent, row.claimed_at = agent, now
        row.last_active_at = now
    mention.status = "claimed"
    session.flush()
    return _info(row)


def claim(
    engine: Engine, mention_id: int, agent: str, *, now: datetime | None = None, idle: timedelta = CLAIM_IDLE
) -> ClaimInfo:
    """Claim ``mention_id`` for ``agent`` (or refresh their own claim).

    Raises :class:`ClaimedByOther` when another agent holds a fresh claim, and
    :class:`~desk.errors.Fatal` when the mention is already handled.
    """
    now = now or utcnow()
    try:
        with transaction(engine) as session:
            mention = session.get(MentionRow, mention_id, with_for_update=True)
            if mention is None:
                raise Fatal(f"There is no mention number {mention_id}.")
            return claim_in(session, mention, agent, now=now, idle=idle)
    except IntegrityError:
        # Two agents inserted the claim at the same instant (PostgreSQL); the other one won.
        holder = active_claim(engine, mention_id, now=now, idle=idle)
        raise ClaimedByOther(holder.agent if holder else "Someone else") from None


def touch(engine: Engine, mention_id: int, agent: str, *, now: datetime | None = None) -> bool:
    """Keep ``agent``'s claim alive while they work on the mention; False if they do not hold it."""
    with transaction(engine) as session:
        result = session.execute(
            update(Claim)
            .where(Claim.mention_id == mention_id, Claim.agent == agent)
            .values(last_active_at=now or utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _drop(session: Session, mention_id: int) -> None:
    session.execute(delete(Claim).where(Claim.mention_id == mention_id))
    session.execute(
        update(MentionRow)
        .where(MentionRow.id == mention_id, MentionRow.status == "claimed")
        .values(status="new")
    )


def release(
    engine: Engine, mention_id: int, agent: str, *, now: datetime | None = None, idle: timedelta = CLAIM_IDLE
) -> None:
    """Give the mention back to the queue. Only its holder or a lead may release a fresh claim."""
    now = now or utcnow()
    # Looked up before the transaction: SQLite allows one writer, so no nested transactions.
    lead = is_lead(engine, agent)
    with transaction(engine) as session:
        row = session.get(Claim, mention_id)
        if row is None:
            return
        if row.agent != agent and _fresh(row, now, idle) and not lead:
            raise Fatal(f"{row.agent} holds this mention; only they or a lead can release it.")
        _drop(session, mention_id)


def take_over(engine: Engine, mention_id: int, lead: str, *, now: datetime | None = None) -> ClaimInfo:
    """A lead takes a mention from whoever holds it."""
    now = now or utcnow()
    if not is_lead(engine, lead):
        raise Fatal("Only a lead can take over a mention someone else is answering.")
    with transaction(engine) as session:
        mention = session.get(MentionRow, mention_id, with_for_update=True)
        if mention is None:
            raise Fatal(f"There is no mention number {mention_id}.")
        row = session.get(Claim, mention_id)
        if row is not None and row.agent != lead:
            row.agent, row.claimed_at, row.last_active_at = lead, now, now
            session.flush()
        return claim_in(session, mention, lead, now=now)


def expire_idle_claims(engine: Engine, *, now: datetime | None = None, idle: timedelta = CLAIM_IDLE) -> int:
    """Drop claims idle for longer than ``idle`` and put their mentions back as new."""
    cutoff = (now or utcnow()) - idle
    with transaction(engine) as session:
        stale = list(session.scalars(select(Claim.mention_id).where(Claim.last_active_at < cutoff)))
        if not stale:
            return 0
    with transaction(engine) as session:
        # Re-check inside the writing transaction: the holder may have touched it meanwhile.
        stale = list(session.scalars(select(Claim.mention_id).where(Claim.last_active_at < cutoff)))
        for mention_id in stale:
            _drop(session, mention_id)
        return len(stale)


def claims_by(
    engine: Engine, agent: str, *, now: datetime | None = None, idle: timedelta = CLAIM_IDLE
) -> list[ClaimInfo]:
    cutoff = (now or utcnow()) - idle
    with transaction(engine) as session:
        rows = session.scalars(
            select(Claim)
            .where(Claim.agent == agent, Claim.last_active_at >= cutoff)
            .order_by(Claim.claimed_at)
        )
        return [_info(r) for r in rows]

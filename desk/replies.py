"""The one way the desk answers a mention: :func:`send_reply`. Also "done without reply".

Sending is recorded in the database, never only in a page:

1. refuse, in plain words, what must not go out: a mention another agent holds,
   one already answered or closed, empty or over-long text, unfilled template
   variables, a platform without a connected account or with posting blocked;
2. write the reply as ``sending`` and commit *before* touching the network, so a
   crash mid-send leaves a visible row that is never re-sent blindly;
3. post through the platform connector;
4. record ``sent`` (the mention becomes replied, the claim is released) or
   ``failed`` with the platform's reason (the claim and the draft stay).

An idempotency key identifies one intended reply: the same key twice never posts
twice. A later outbox can sit behind this function without any page changing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from desk.claims import claim_in
from desk.connectors.base import Connector
from desk.domain import Platform
from desk.errors import AlreadyPosted, DeskError, Fatal, NeedsReauth, PostingBlocked, Retriable, redact
from desk.store.engine import transaction
from desk.store.mentions import mention_from_row
from desk.store.schema import Account, AuthorRow, Claim, MentionRow, Reply
from desk.store.types import utcnow
from desk.templates import count_for, unfilled_variables

log = logging.getLogger(__name__)

PLATFORM_NAMES = {"x": "X", "facebook": "Facebook"}
MAX_KEY = 128


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def _check_text(platform: str, text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Fatal("The reply is empty; write something first.")
    unfilled = unfilled_variables(text)
    if unfilled:
        shown = ", ".join("{" + name + "}" for name in unfilled)
        raise Fatal(f"The reply still contains {shown}; fill it in before sending.")
    count = count_for(platform, text)
    if not count.fits:
        raise Fatal(
            f"The reply is {count.used} characters by {platform_name(platform)}'s rules; the limit is "
            f"{count.limit}. Shorten it by {count.used - count.limit}."
        )
    return text


def _accounts_of(session: Session, mention: MentionRow) -> list[Account]:
    if mention.account_id is not None:
        account = session.get(Account, mention.account_id)
        return [account] if account is not None else []
    return list(session.scalars(select(Account).where(Account.platform == mention.platform)))


def _refuse_if_blocked(session: Session, mention: MentionRow) -> None:
    for account in _accounts_of(session, mention):
        if account.status == "posting_blocked":
            reason = f" ({account.status_message})" if account.status_message else ""
            raise Fatal(
                f"Posting on {platform_name(mention.platform)} is blocked for now{reason}. "
                "Replies are paused; "
                "a lead can allow posting again in Settings once the block has passed."
            )


def send_reply(
    engine: Engine,
    connectors: Mapping[Platform, Connector],
    *,
    mention_id: int,
    agent: str,
    text: str,
    template_id: int | None = None,
    idempotency_key: str,
    now: datetime | None = None,
) -> Reply:
    """Send ``text`` as ``agent``'s reply to ``mention_id`` and return the recorded reply.

    Raises :class:`~desk.errors.Fatal` (plain words) when the reply must not go out.
    A network failure does not raise: the returned reply has ``status == "failed"``
    and ``error`` says why.
    """
    if not agent:
        raise Fatal("Pick your name before sending.")
    if not idempotency_key or len(idempotency_key) > MAX_KEY:
        raise Fatal("A reply needs an idempotency key of at most 128 characters.")
    now = now or utcnow()

    # Phase 1: every refusal, then the 'sending' row, committed before the network is touched.
    with transaction(engine) as session:
        # Lock the mention first: concurrent sends to one mention queue here (PostgreSQL row lock;
        # SQLite's BEGIN IMMEDIATE already serialises writers), so the checks below see each other.
        mention = session.get(MentionRow, mention_id, with_for_update=True)
        if mention is None:
            raise Fatal(f"There is no mention number {mention_id}.")
        reply = session.scalars(select(Reply).where(Reply.idempotency_key == idempotency_key)).first()
        if reply is not None:
            if reply.mention_id != mention_id:
                raise Fatal("This idempotency key belongs to a reply to another mention.")
            if reply.status == "sent":
                return reply
            if reply.status == "sending":
                raise Fatal(
                    "This reply is already being sent (or a send was interrupted). Check the platform before "
                    "sending it again."
                )
        others = session.scalars(
            select(Reply).where(
                Reply.mention_id == mention_id,
                Reply.status.in_(("sent", "sending")),
                Reply.idempotency_key != idempotency_key,
            )
        ).first()
        if others is not None and others.status == "sent":
            raise Fatal(f"This mention was already answered by {others.agent}; the desk never answers twice.")
        if others is not None:
            raise Fatal(f"{others.agent}'s reply to this mention is being sent right now.")
        claim_in(session, mention, agent, now=now)  # refuses when another agent holds it or it is handled
        text = _check_text(mention.platform, text)
        connector = connectors.get(Platform(mention.platform))
        if connector is None:
            raise Fatal(
                f"The desk has no {platform_name(mention.platform)} account connected, so it cannot send. "
                "Connect it in Settings."
            )
        _refuse_if_blocked(session, mention)
        if reply is None:
            reply = Reply(
                mention_id=mention_id,
                platform=mention.platform,
                idempotency_key=idempotency_key,
                attempts=0,
                created_at=now,
            )
            session.add(reply)
        reply.agent, reply.text, reply.template_id = agent, text, template_id
        reply.status, reply.error = "sending", None
        reply.sending_started_at = now
        reply.attempts = (reply.attempts or 0) + 1
        author = session.get(AuthorRow, mention.author_id) if mention.author_id is not None else None
        target = mention_from_row(mention, author)
        session.flush()
        reply_id = reply.id

    # Phase 2: the network.
    posted = None
    problem: DeskError | None = None
    try:
        posted = connector.post_reply(target, text)
    except AlreadyPosted:
        posted = None  # the network says it is already out: that is a sent reply
    except DeskError as exc:
        problem = exc
    except Exception as exc:  # noqa: BLE001 - a connector bug must still leave a recorded outcome
        log.exception("unexpected error while sending reply %s", reply_id)
        problem = Fatal(
            f"Unexpected error while sending ({type(exc).__name__}); the reply was not confirmed."
        )

    # Phase 3: the outcome.
    finished = utcnow()
    with transaction(engine) as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        mention = session.get(MentionRow, mention_id)
        assert mention is not None
        if problem is None:
            reply.status, reply.sent_at, reply.error = "sent", finished, None
            if posted is not None:
                reply.external_id, reply.permalink = posted.external_id, posted.permalink
            mention.status, mention.handled_by, mention.handled_at = "replied", agent, finished
            session.execute(delete(Claim).where(Claim.mention_id == mention_id))
        else:
            reason = _plain_reason(mention.platform, problem)
            reply.status, reply.error = "failed", reason
            if isinstance(problem, PostingBlocked | NeedsReauth):
                status = "posting_blocked" if isinstance(problem, PostingBlocked) else "needs_reauth"
                for account in _accounts_of(session, mention):
                    account.status, account.status_message, account.status_changed_at = (
                        status,
                        reason,
                        finished,
                    )
            claim = session.get(Claim, mention_id)
            if claim is not None and claim.agent == agent:
                claim.last_active_at = finished
        session.flush()
        return reply


def _plain_reason(platform: str, problem: DeskError) -> str:
    from desk.config import get_settings

    name = platform_name(platform)
    message = redact(str(problem), get_settings().secrets()) or type(problem).__name__
    if isinstance(problem, PostingBlocked):
        return f"{name} blocked posting for now: {message}"
    if isinstance(problem, NeedsReauth):
        return f"{name} no longer accepts the desk's credentials — reconnect the account. ({message})"
    if isinstance(problem, Retriable):
        return f"{name} could not take the reply right now; try again in a moment. ({message})"
    return f"{name} refused the reply: {message}"


INTERRUPTED_AFTER = timedelta(minutes=2)


def reconcile_interrupted_sends(
    engine: Engine,
    connectors: Mapping[Platform, Connector],
    *,
    now: datetime | None = None,
    older_than: timedelta = INTERRUPTED_AFTER,
) -> list[str]:
    """Settle replies left 'sending' by a crash: ask the network whether each one went out.

    A send that started longer ago than ``older_than`` (far past any request timeout) is no
    longer running. If the network has our reply, the row becomes 'sent' (nothing is posted
    again); if not, 'failed' with a plain reason, so the agent can send it again. When the
    network cannot be asked, the row stays 'sending' and is tried on the next cycle.
    Returns one plain line per problem.
    """
    now = now or utcnow()
    problems: list[str] = []
    with transaction(engine) as session:
        stale = list(
            session.scalars(
                select(Reply).where(
                    Reply.status == "sending",
                    Reply.sending_started_at.is_(None) | (Reply.sending_started_at < now - older_than),
                )
            )
        )
        work = []
        for stale_reply in stale:
            mention = session.get(MentionRow, stale_reply.mention_id)
            if mention is None:
                continue
            author = session.get(AuthorRow, mention.author_id) if mention.author_id is not None else None
            work.append((stale_reply.id, stale_reply.text, mention_from_row(mention, author)))
    for reply_id, text, target in work:
        connector = connectors.get(target.platform)
        if connector is None:
            continue
        try:
            found = connector.find_reply(target, text)
        except DeskError as exc:
            problems.append(
                f"Could not check an interrupted reply on {platform_name(target.platform.value)}: "
                f"{redact(str(exc), _secrets())}"
            )
            continue
        with transaction(engine) as session:
            reply = session.get(Reply, reply_id, with_for_update=True)
            if reply is None or reply.status != "sending":
                continue  # settled meanwhile
            mention = session.get(MentionRow, reply.mention_id)
            assert mention is not None
            if found is not None:
                reply.status, reply.error, reply.sent_at = "sent", None, now
                reply.external_id, reply.permalink = found.external_id, found.permalink
                mention.status, mention.handled_by, mention.handled_at = "replied", reply.agent, now
                session.execute(delete(Claim).where(Claim.mention_id == reply.mention_id))
            else:
                reply.status = "failed"
                reply.error = (
                    f"The send was interrupted and {platform_name(mention.platform)} does not have "
                    "this reply, so it was not sent. Send it again."
                )
    return problems


def _secrets() -> list[str]:
    from desk.config import get_settings

    return get_settings().secrets()


def mark_done(engine: Engine, mention_id: int, agent: str, *, now: datetime | None = None) -> None:
    """Close a mention that needs no reply. Refused when another agent holds it or it is already handled."""
    now = now or utcnow()
    with transaction(engine) as session:
        mention = session.get(MentionRow, mention_id, with_for_update=True)
        if mention is None:
            raise Fatal(f"There is no mention number {mention_id}.")
        claim_in(session, mention, agent, now=now)
        mention.status, mention.handled_by, mention.handled_at = "closed", agent, now
        session.execute(delete(Claim).where(Claim.mention_id == mention_id))


def allow_posting_again(engine: Engine, platform: str) -> int:
    """A lead's decision that a posting block has passed; returns how many accounts were reset."""
    with transaction(engine) as session:
        accounts = list(
            session.scalars(
                select(Account).where(Account.platform == platform, Account.status == "posting_blocked")
            )
        )
        for account in accounts:
            account.status, account.status_message, account.status_changed_at = "ok", None, utcnow()
        return len(accounts)


def replies_for_mention(engine: Engine, mention_id: int) -> list[Reply]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(Reply).where(Reply.mention_id == mention_id).order_by(Reply.created_at, Reply.id)
            )
        )

"""Stream bookmarks and connected-account health."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from desk.domain import Platform
from desk.store.engine import transaction
from desk.store.schema import Account, SyncState
from desk.store.types import utcnow


def load_state(session: Session, stream: str) -> dict[str, Any]:
    row = session.get(SyncState, stream)
    return dict(row.state or {}) if row else {}


def _stream_row(session: Session, stream: str, platform: Platform) -> SyncState:
    row = session.get(SyncState, stream)
    if row is None:
        row = SyncState(stream=stream, platform=platform.value, state={}, items_total=0, updated_at=utcnow())
        session.add(row)
    return row


def save_state(
    session: Session, stream: str, platform: Platform, state: dict[str, Any], new_items: int
) -> None:
    """Advance a stream's bookmark; called in the same transaction as the rows it covers."""
    row = _stream_row(session, stream, platform)
    row.state = state
    row.items_total = (row.items_total or 0) + new_items
    row.updated_at = utcnow()


def mark_stream_ok(engine: Engine, stream: str, platform: Platform) -> None:
    with transaction(engine) as s:
        row = _stream_row(s, stream, platform)
        row.last_success_at = utcnow()
        row.last_error = None


def record_stream_error(engine: Engine, stream: str, platform: Platform, message: str) -> None:
    with transaction(engine) as s:
        row = _stream_row(s, stream, platform)
        row.last_error = message
        row.last_error_at = utcnow()


def set_account_status(
    engine: Engine,
    platform: Platform,
    external_id: str,
    status: str,
    message: str | None,
    *,
    only_from: tuple[str, ...] | None = None,
) -> None:
    """ok | needs_reauth | error | posting_blocked, with a plain sentence for Settings.

    ``only_from`` limits the change to accounts currently in one of those states (a good
    read clears "needs re-authentication" but must not lift a posting block).
    """
    from desk.store.mentions import ensure_account

    with transaction(engine) as s:
        ensure_account(s, platform, external_id)
        account = s.scalars(
            select(Account).where(Account.platform == platform.value, Account.external_id == external_id)
        ).one()
        if only_from is not None and account.status not in only_from:
            return
        if account.status != status or account.status_message != message:
            account.status = status
            account.status_message = message
            account.status_changed_at = utcnow()

"""The incident the desk is speaking about: its title, status page and expected recovery time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from desk.display import safe_link
from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import Incident
from desk.store.types import utcnow


@dataclass(frozen=True)
class IncidentView:
    id: int
    title: str
    status_url: str | None
    eta: str | None
    status: str
    started_at: datetime
    resolved_at: datetime | None


def _view(row: Incident) -> IncidentView:
    return IncidentView(
        row.id, row.title, row.status_url, row.eta, row.status, row.started_at, row.resolved_at
    )


def current_incident(engine: Engine) -> IncidentView | None:
    """The newest open incident, or ``None`` when all is calm."""
    with transaction(engine) as session:
        row = session.scalars(
            select(Incident)
            .where(Incident.status == "open")
            .order_by(Incident.started_at.desc(), Incident.id.desc())
        ).first()
        return None if row is None else _view(row)


def list_incidents(engine: Engine) -> list[IncidentView]:
    with transaction(engine) as session:
        return [_view(r) for r in session.scalars(select(Incident).order_by(Incident.started_at.desc()))]


def _check(title: str, status_url: str | None) -> tuple[str, str | None]:
    title = " ".join((title or "").split())
    if not title:
        raise Fatal("An incident needs a title.")
    url = (status_url or "").strip() or None
    if url is not None and safe_link(url) is None:
        raise Fatal("The status page must be an http:// or https:// address.")
    return title, url


def open_incident(
    engine: Engine,
    title: str,
    *,
    status_url: str | None = None,
    eta: str | None = None,
    started_at: datetime | None = None,
) -> IncidentView:
    title, url = _check(title, status_url)
    with transaction(engine) as session:
        row = Incident(
            title=title,
            status_url=url,
            eta=(eta or "").strip() or None,
            status="open",
            started_at=started_at or utcnow(),
        )
        session.add(row)
        session.flush()
        return _view(row)


def update_incident(
    engine: Engine, incident_id: int, *, title: str, status_url: str | None, eta: str | None
) -> IncidentView:
    title, url = _check(title, status_url)
    with transaction(engine) as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise Fatal(f"There is no incident number {incident_id}.")
        row.title, row.status_url, row.eta = title, url, (eta or "").strip() or None
        return _view(row)


def resolve_incident(engine: Engine, incident_id: int) -> IncidentView:
    with transaction(engine) as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise Fatal(f"There is no incident number {incident_id}.")
        row.status, row.resolved_at = "resolved", utcnow()
        return _view(row)

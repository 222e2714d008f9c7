"""The people at the desk: agents and leads. Leads may release or take over anyone's claim."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import Agent

ROLES = ("agent", "lead")
MAX_NAME = 80


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    active: bool

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def clean_name(name: str) -> str:
    """A person's display name: trimmed, single-spaced, printable, at most 80 characters."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Fatal("Please enter a name.")
    if len(cleaned) > MAX_NAME:
        raise Fatal(f"A name can be at most {MAX_NAME} characters long.")
    if any(not ch.isprintable() for ch in cleaned):
        raise Fatal("A name cannot contain invisible or control characters.")
    return cleaned


def list_members(engine: Engine, *, include_inactive: bool = False) -> list[Member]:
    with transaction(engine) as session:
        query = select(Agent).order_by(Agent.name)
        if not include_inactive:
            query = query.where(Agent.active.is_(True))
        return [Member(row.name, row.role, row.active) for row in session.scalars(query)]


def get_member(engine: Engine, name: str) -> Member | None:
    with transaction(engine) as session:
        row = session.scalars(select(Agent).where(Agent.name == name)).first()
        return None if row is None else Member(row.name, row.role, row.active)


def add_member(engine: Engine, name: str, role: str = "agent") -> Member:
    """Add a team member, or reactivate one who left; an existing active member is returned as is."""
    name = clean_name(name)
    if role not in ROLES:
        raise Fatal(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
    with transaction(engine) as session:
        row = session.scalars(select(Agent).where(Agent.name == name)).first()
        if row is None:
            row = Agent(name=name, role=role, active=True)
            session.add(row)
        elif not row.active:
            row.active, row.role = True, role
        session.flush()
        return Member(row.name, row.role, row.active)


def set_member(engine: Engine, name: str, *, role: str | None = None, active: bool | None = None) -> Member:
    with transaction(engine) as session:
        row = session.scalars(select(Agent).where(Agent.name == name)).first()
        if row is None:
            raise Fatal(f"{name} is not on the team.")
        if role is not None:
            if role not in ROLES:
                raise Fatal(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
            row.role = role
        if active is not None:
            row.active = active
        return Member(row.name, row.role, row.active)


def is_lead(engine: Engine, name: str) -> bool:
    member = get_member(engine, name)
    return member is not None and member.active and member.is_lead

"""Internal notes on a mention: what the team knows that the customer does not see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import MentionRow, Note

MAX_NOTE = 4000


@dataclass(frozen=True)
class NoteView:
    id: int
    mention_id: int
    agent: str
    text: str
    created_at: datetime


def add_note(engine: Engine, mention_id: int, agent: str, text: str) -> NoteView:
    text = (text or "").strip()
    if not text:
        raise Fatal("A note needs some text.")
    if len(text) > MAX_NOTE:
        raise Fatal(f"A note can be at most {MAX_NOTE} characters long.")
    if not agent:
        raise Fatal("Pick your name before writing a note.")
    with transaction(engine) as session:
        if session.get(MentionRow, mention_id) is None:
            raise Fatal(f"There is no mention number {mention_id}.")
        row = Note(mention_id=mention_id, agent=agent, text=text)
        session.add(row)
        session.flush()
        return NoteView(row.id, row.mention_id, row.agent, row.text, row.created_at)


def notes_for(engine: Engine, mention_id: int) -> list[NoteView]:
    with transaction(engine) as session:
        rows = session.scalars(
            select(Note).where(Note.mention_id == mention_id).order_by(Note.created_at, Note.id)
        )
        return [NoteView(r.id, r.mention_id, r.agent, r.text, r.created_at) for r in rows]

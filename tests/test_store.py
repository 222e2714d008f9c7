from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, select

from desk.store.engine import transaction
from desk.store.schema import AuthorRow, MentionRow


def test_schema_has_every_table(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {
        "accounts",
        "authors",
        "mentions",
        "sync_state",
        "metric_snapshots",
        "triage",
        "triage_corrections",
        "agents",
        "claims",
        "replies",
        "notes",
        "templates",
        "incidents",
    } <= names


def test_hostile_text_round_trips(engine: Engine) -> None:
    hostile = "<script>alert(1)</script>\u202egnp.exe\u200b=cmd|' /C calc'!A0 " + "x" * 20_000
    with transaction(engine) as s:
        author = AuthorRow(platform="x", external_id="1", handle="<b>h</b>", name="\u202eevil")
        s.add(author)
        s.flush()
        s.add(
            MentionRow(
                platform="x",
                external_id="10",
                kind="tweet",
                author_id=author.id,
                text=hostile,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                raw={"text": "a\x00b\ud800"},
            )
        )
    with transaction(engine) as s:
        row = s.scalars(select(MentionRow)).one()
        assert row.text == hostile
        assert row.raw == {"text": "a\x00b\ud800"}
        assert row.created_at == datetime(2026, 1, 1, tzinfo=UTC)

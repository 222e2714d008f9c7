from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from desk.domain import Author, Mention, MentionKind, Platform
from desk.exports import MENTION_COLUMNS, neutralise, write_mentions_csv
from desk.store.engine import transaction
from desk.store.mentions import upsert_mentions

HOSTILE = [
    "<script>alert('x')</script>",
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "@evil(1)",
    "\u202eexe.txt",
    "zero\u200bwidth\ufeff",
    'quote " and, comma\r\nnewline',
    "x" * 20_000,
]


def mention(i: int, text: str, handle: str = "cust") -> Mention:
    return Mention(
        platform=Platform.X,
        external_id=str(1000 + i),
        kind=MentionKind.TWEET,
        text=text,
        created_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC) + timedelta(seconds=i),
        author=Author(Platform.X, f"u{i}", handle, f"Name {i}", 10),
        permalink=f"https://x.com/{handle}/status/{i}",
    )


def read_back(engine: Engine) -> list[dict[str, str]]:
    out = io.StringIO()
    write_mentions_csv(engine, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_export_has_one_row_per_mention_with_required_columns(engine: Engine) -> None:
    with transaction(engine) as s:
        upsert_mentions(
            s, [mention(i, t) for i, t in enumerate(HOSTILE)], account_id=None, own_author_id=None
        )
    rows = read_back(engine)
    assert len(rows) == len(HOSTILE)
    for required in (
        "platform",
        "external_id",
        "permalink",
        "author_handle",
        "author_name",
        "created_at",
        "text",
        "parent_external_id",
    ):
        assert required in MENTION_COLUMNS
    assert rows[0]["created_at"] == "2026-11-27T12:00:00Z"
    texts = [r["text"] for r in rows]
    assert texts[0] == HOSTILE[0]
    assert texts[1] == "'" + HOSTILE[1]  # a spreadsheet shows it, never runs it
    assert texts[2] == "'+SUM(1,2)"
    assert texts[3] == "'@evil(1)"
    assert texts[6] == HOSTILE[6]
    assert len(texts[7]) == 20_000


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_neutralise_never_leaves_a_formula_and_keeps_the_rest(text: str) -> None:
    safe = neutralise(text)
    assert not safe.startswith(("=", "+", "-", "\t", "\r"))
    if safe.startswith("@"):
        assert not re.match(r"@[\w.]*\(", safe) and "|" not in safe
    assert safe == text or safe == "'" + text


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200), min_size=1, max_size=5
    )
)
def test_any_text_survives_store_and_export(sqlite_engine: Engine, texts: list[str]) -> None:
    with transaction(sqlite_engine) as s:
        base = len(read_back(sqlite_engine))
        upsert_mentions(
            s, [mention(base + i, t) for i, t in enumerate(texts)], account_id=None, own_author_id=None
        )
    rows = read_back(sqlite_engine)[base:]
    assert [r["text"] for r in rows] == [neutralise(t) for t in texts]

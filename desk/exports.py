"""CSV exports of stored data, safe to open in a spreadsheet.

Cells that a spreadsheet would run as a formula (starting with ``= + -`` or a
tab/CR, or ``@`` followed by a function call or a DDE pipe) get a leading
apostrophe, the OWASP-recommended neutraliser; nothing else in the text is changed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from desk.store.schema import AuthorRow, MentionRow

MENTION_COLUMNS = [
    "platform",
    "external_id",
    "kind",
    "permalink",
    "author_handle",
    "author_name",
    "author_followers",
    "created_at",
    "text",
    "parent_external_id",
    "conversation_id",
    "lang",
    "status",
    "like_count",
    "reply_count",
    "repost_count",
    "quote_count",
]
_FORMULA_STARTS = ("=", "+", "-", "\t", "\r")
# "@" starts almost every tweet ("@NimbusVoice is it down?"). It is only dangerous as the
# legacy formula prefix of a function call or a DDE link, so only those are neutralised.
_AT_FORMULA = re.compile(r"@[\w.]*\(|\|")


def neutralise(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_STARTS) or (text.startswith("@") and _AT_FORMULA.search(text)):
        return "'" + text
    return text


def mention_rows(engine: Engine, batch: int = 2000) -> Iterator[list[str | int | None]]:
    author = aliased(AuthorRow)
    query = (
        select(MentionRow, author)
        .outerjoin(author, MentionRow.author_id == author.id)
        .where(MentionRow.is_own.is_(False))
        .order_by(MentionRow.created_at, MentionRow.id)
        .execution_options(yield_per=batch)
    )
    with Session(engine) as session:
        for m, a in session.execute(query):
            yield [
                m.platform,
                m.external_id,
                m.kind,
                m.permalink,
                a.handle if a else None,
                a.name if a else None,
                a.followers if a else None,
                m.created_at.isoformat().replace("+00:00", "Z"),
                m.text,
                m.parent_external_id,
                m.conversation_id,
                m.lang,
                m.status,
                m.like_count,
                m.reply_count,
                m.repost_count,
                m.quote_count,
            ]


def write_mentions_csv(engine: Engine, out: IO[str]) -> int:
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(MENTION_COLUMNS)
    count = 0
    for row in mention_rows(engine):
        writer.writerow([neutralise(v) for v in row])
        count += 1
    return count


def export_mentions(engine: Engine, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        count = write_mentions_csv(engine, fh)
    tmp.replace(path)
    return count

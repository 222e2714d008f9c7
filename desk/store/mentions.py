"""Storing mentions exactly once: upsert on (platform, external_id), authors alongside."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from desk.domain import Author, Mention, MentionKind, Platform
from desk.store.schema import Account, AuthorRow, Base, MentionRow
from desk.store.types import utcnow


def _insert(dialect: str, table: Any) -> Any:
    """INSERT with ON CONFLICT support for the database at hand."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@lru_cache(maxsize=4)
def _author_upsert(dialect: str) -> Any:
    table = AuthorRow.__table__
    stmt = _insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=["platform", "external_id"],
        set_={
            "handle": func.coalesce(stmt.excluded.handle, table.c.handle),
            "name": func.coalesce(stmt.excluded.name, table.c.name),
            "followers": func.coalesce(stmt.excluded.followers, table.c.followers),
            "updated_at": stmt.excluded.updated_at,
        },
    )


@lru_cache(maxsize=4)
def _mention_upsert(dialect: str) -> Any:
    """One statement, compiled once and reused for every page: counts refresh, text stays as first seen."""
    table = MentionRow.__table__
    stmt = _insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=["platform", "external_id"],
        set_={
            "like_count": stmt.excluded.like_count,
            "reply_count": stmt.excluded.reply_count,
            "repost_count": stmt.excluded.repost_count,
            "quote_count": stmt.excluded.quote_count,
            "impression_count": func.coalesce(stmt.excluded.impression_count, table.c.impression_count),
        },
    )


def ensure_account(session: Session, platform: Platform, external_id: str) -> int:
    stmt = _insert(session.get_bind().dialect.name, Account).values(
        platform=platform.value, external_id=external_id, status="ok", created_at=utcnow()
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["platform", "external_id"]))
    return session.execute(
        select(Account.id).where(Account.platform == platform.value, Account.external_id == external_id)
    ).scalar_one()


def upsert_authors(session: Session, authors: Sequence[Author]) -> dict[tuple[str, str], int]:
    """Insert or refresh authors; returns their row ids keyed by (platform, external_id)."""
    unique: dict[tuple[str, str], Author] = {}
    for a in authors:
        unique[(a.platform.value, a.external_id)] = a
    if not unique:
        return {}
    now = utcnow()
    rows = [
        {
            "platform": p,
            "external_id": e,
            "handle": a.handle,
            "name": a.name,
            "followers": a.followers,
            "updated_at": now,
        }
        for (p, e), a in unique.items()
    ]
    returned = _execute_many(session, _author_upsert(session.get_bind().dialect.name), rows)
    return {(p, e): row_id for row_id, p, e, _inserted in returned}


def _execute_many(
    session: Session, stmt: Any, rows: list[dict[str, Any]]
) -> list[tuple[int, str, str, bool | None]]:
    """Run one upsert for many rows in the fastest form each database offers.

    Returns ``(id, platform, external_id, inserted)`` per row; ``inserted`` is known on
    PostgreSQL (``xmax = 0``) and None on SQLite.

    SQLite: a RETURNING clause makes SQLAlchemy fold the rows into one multi-VALUES
    statement. PostgreSQL: one statement over ``unnest`` of one array per column; its text
    never changes, so the server plans it once, and a page is one round trip (row-by-row
    executemany, even pipelined, costs the server a statement per row).
    """
    table = stmt.table
    if session.get_bind().dialect.name == "sqlite":
        result = session.connection().execute(
            stmt.returning(table.c.id, table.c.platform, table.c.external_id), rows
        )
        return [(i, p, e, None) for i, p, e in result]
    columns = tuple(rows[0].keys())
    sql = _pg_unnest_sql(table.name, columns, _pg_conflict_sql(stmt))
    dialect = session.get_bind().dialect
    arrays = []
    for name in columns:
        column_type = table.c[name].type
        convert = column_type.process_bind_param if isinstance(column_type, TypeDecorator) else None
        arrays.append([convert(r[name], dialect) if convert else r[name] for r in rows])
    return [tuple(r) for r in session.connection().exec_driver_sql(sql, tuple(arrays))]  # type: ignore[misc]


_PG_ARRAY = {"Integer": "int8", "BigInteger": "int8", "Boolean": "bool", "UTCDateTime": "timestamptz"}


@lru_cache(maxsize=16)
def _pg_unnest_sql(table_name: str, columns: tuple[str, ...], conflict: str) -> str:
    table = Base.metadata.tables[table_name]
    # %b: psycopg sends the arrays in binary (its text format escapes every element with a regex)
    casts = ", ".join(f"%b::{_PG_ARRAY.get(type(table.c[c].type).__name__, 'text')}[]" for c in columns)
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table_name} ({names}) SELECT * FROM unnest({casts}) {conflict} "
        "RETURNING id, platform, external_id, (xmax = 0)"
    )


@lru_cache(maxsize=8)
def _pg_conflict_sql(stmt: Any) -> str:
    """The ON CONFLICT clause of a compiled PostgreSQL upsert, reused verbatim."""
    compiled = str(stmt.compile(dialect=postgresql.dialect()))
    return compiled[compiled.index("ON CONFLICT") :]


def upsert_mentions(
    session: Session, mentions: Sequence[Mention], *, account_id: int | None, own_author_id: str | None
) -> int:
    """Store a page of mentions; returns how many new ones came from others. Text and raw payload are kept
    as first received; counts are refreshed on every sighting."""
    unique: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        unique.setdefault((m.platform.value, m.external_id), m)
    if not unique:
        return 0
    author_ids = upsert_authors(session, [m.author for m in unique.values() if m.author is not None])
    existing: set[tuple[str, str]] | None = None
    if session.get_bind().dialect.name != "postgresql":  # PostgreSQL says which rows were new itself
        existing = set()
        by_platform: dict[str, list[str]] = {}
        for p, e in unique:
            by_platform.setdefault(p, []).append(e)
        for p, externals in by_platform.items():
            existing.update(
                (p, e)
                for e in session.scalars(
                    select(MentionRow.external_id).where(
                        MentionRow.platform == p, MentionRow.external_id.in_(externals)
                    )
                )
            )
    now = utcnow()
    rows = []
    for m in unique.values():
        metrics = m.metrics
        rows.append(
            {
                "platform": m.platform.value,
                "external_id": m.external_id,
                "kind": m.kind.value,
                "account_id": account_id,
                "author_id": author_ids.get((m.author.platform.value, m.author.external_id))
                if m.author
                else None,
                "parent_external_id": m.parent_external_id,
                "conversation_id": m.conversation_id,
                "text": m.text,
                "created_at": m.created_at,
                "lang": m.lang,
                "permalink": m.permalink,
                "like_count": int(metrics.get("like_count", 0)),
                "reply_count": int(metrics.get("reply_count", 0)),
                "repost_count": int(metrics.get("retweet_count", metrics.get("repost_count", 0))),
                "quote_count": int(metrics.get("quote_count", 0)),
                "impression_count": metrics.get("impression_count"),
                "raw": m.raw,
                "status": "new",
                "is_own": _is_own(m, own_author_id),
                "ingested_at": now,
            }
        )
    returned = _execute_many(session, _mention_upsert(session.get_bind().dialect.name), rows)
    if existing is None:
        new_keys = {(p, e) for _id, p, e, inserted in returned if inserted}
    else:
        new_keys = unique.keys() - existing
    # Our own posts are stored (they are threads' parents and carry our reach) but are not mentions.
    return sum(1 for key in new_keys if not _is_own(unique[key], own_author_id))


def _is_own(m: Mention, own_author_id: str | None) -> bool:
    return bool(own_author_id and m.author and m.author.external_id == own_author_id)


def mention_from_row(row: MentionRow, author: AuthorRow | None) -> Mention:
    """The domain value of a stored mention (what connectors need to reply to it)."""
    platform = Platform(row.platform)
    return Mention(
        platform=platform,
        external_id=row.external_id,
        kind=MentionKind(row.kind),
        text=row.text,
        created_at=row.created_at,
        author=Author(platform, author.external_id, author.handle, author.name, author.followers)
        if author
        else None,
        parent_external_id=row.parent_external_id,
        conversation_id=row.conversation_id,
        lang=row.lang,
        permalink=row.permalink,
        metrics={
            "like_count": row.like_count,
            "reply_count": row.reply_count,
            "retweet_count": row.repost_count,
            "quote_count": row.quote_count,
        },
        raw=row.raw or {},
    )

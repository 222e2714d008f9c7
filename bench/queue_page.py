"""Claim: the Queue page renders in ≤ 1.5 s with 100,000 mentions stored.

Inserts 1,000 and then 100,000 mentions (with authors and triage rows) into a fresh
SQLite file and a fresh PostgreSQL schema, then prints, for each database and size:
the first-page query (``desk.queue.list_queue``) with the default filter and with a
few harder ones (free-text search, a saved view, a deep page), and a full AppTest
run of the Queue page (``app.py``), cold (first run in the process: engine, migration
check) and warm (what every later render costs).

    .venv/bin/python bench/queue_page.py [--sizes 1000,100000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the stdlib ``queue`` module; keep its folder off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from sqlalchemy import Engine, create_engine, insert, text  # noqa: E402

from desk.queue import QueueFilter, list_queue, saved_view  # noqa: E402
from desk.store.engine import make_engine  # noqa: E402
from desk.store.migrate import upgrade  # noqa: E402
from desk.store.schema import AuthorRow, MentionRow, TriageRow  # noqa: E402
from desk.triage.service import refresh_priorities  # noqa: E402

PG_ADMIN = os.environ.get("DESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WORDS = (
    "phone",
    "down",
    "outage",
    "dns",
    "calls",
    "why",
    "again",
    "office",
    "router",
    "help",
    "fix",
    "ETA",
    "status",
    "page",
    "broken",
    "thanks",
    "support",
    "dial",
    "tone",
    "voicemail",
)
CHUNK = 5_000


def fill(engine: Engine, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    n_authors = max(10, n // 20)
    with engine.begin() as conn:
        conn.execute(
            insert(AuthorRow),
            [
                {
                    "platform": "x" if i % 3 else "facebook",
                    "external_id": f"a{i}",
                    "handle": f"user{i}",
                    "name": f"Person {i}",
                    "followers": rng.randint(0, 200_000),
                    "updated_at": now,
                }
                for i in range(n_authors)
            ],
        )
    for start in range(0, n, CHUNK):
        mentions, triage = [], []
        for i in range(start, min(n, start + CHUNK)):
            author = rng.randrange(n_authors)
            status = rng.choices(["new", "claimed", "replied", "closed"], [70, 2, 20, 8])[0]
            mentions.append(
                {
                    "id": i + 1,
                    "platform": "x" if author % 3 else "facebook",
                    "external_id": f"m{i}",
                    "kind": "tweet" if author % 3 else "comment",
                    "author_id": author + 1,
                    "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 30)))
                    + (" ?" if i % 4 == 0 else ""),
                    "created_at": now - timedelta(seconds=rng.randint(0, 6 * 3600)),
                    "raw": {},
                    "status": status,
                    "is_own": False,
                    "like_count": 0,
                    "reply_count": 0,
                    "repost_count": 0,
                    "quote_count": 0,
                    "ingested_at": now,
                }
            )
            anger = rng.random()
            negative = rng.random()
            triage.append(
                {
                    "mention_id": i + 1,
                    "sentiment": rng.choice(["negative", "neutral", "positive"]),
                    "negative": negative,
                    "neutral": (1 - negative) / 2,
                    "positive": (1 - negative) / 2,
                    "emotion": "anger" if anger > 0.6 else "sadness",
                    "anger": anger,
                    "question": i % 4 == 0,
                    "question_score": 0.9 if i % 4 == 0 else 0.1,
                    "priority": rng.random() * 100,
                    "model_version": "bench",
                    "corrected": False,
                    "triaged_at": now,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(MentionRow), mentions)
            conn.execute(insert(TriageRow), triage)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def apptest_queue(url: str) -> tuple[float, float]:
    from streamlit.testing.v1 import AppTest

    from desk.config import get_settings

    os.environ["DESK_DATABASE_URL"] = url
    get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["desk.agent"] = "Bench"
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    assert not at.exception, at.exception
    assert len(at.text) == 20, f"expected a full first page, got {len(at.text)} cards"
    warm = timed(at.run, repeat=3)
    return cold, warm


def apptest_analytics(url: str) -> float:
    from streamlit.testing.v1 import AppTest

    from desk.config import get_settings

    os.environ["DESK_DATABASE_URL"] = url
    get_settings.cache_clear()
    at = AppTest.from_string("from desk.ui.views.analytics import render\nrender()\n", default_timeout=120)
    at.session_state["desk.analytics.window"] = "Last 24 hours"
    at.run()
    assert not at.exception, at.exception
    return timed(at.run, repeat=2)


QUERIES = {
    "default (all open)": (QueueFilter(), 1),
    "search 'voicemail'": (QueueFilter(search="voicemail"), 1),
    "saved view: angry questions": (saved_view("Angry questions").filter, 1),
    "saved view: unanswered > 30 min": (saved_view("Unanswered > 30 min").filter, 1),
    "page 200 of default": (QueueFilter(), 200),
}


def bench(label: str, url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    fill(engine, n)
    print(f"\n{label}: {n:,} mentions inserted in {time.perf_counter() - start:.1f} s")
    for name, (flt, page) in QUERIES.items():
        result = list_queue(engine, flt, page=page, page_size=20)
        seconds = timed(lambda flt=flt, page=page: list_queue(engine, flt, page=page, page_size=20))
        print(f"  first-page query  {name:<34} {seconds * 1000:8.1f} ms   ({result.total:,} matching)")
    cold, warm = apptest_queue(url)
    print(f"  AppTest Queue page (app.py)        cold {cold * 1000:8.1f} ms   warm {warm * 1000:8.1f} ms")
    analytics_ms = apptest_analytics(url) * 1000
    print(f"  AppTest Analytics page (24 h)      warm {analytics_ms:8.1f} ms   (not part of the claim)")
    started = time.perf_counter()
    refreshed = refresh_priorities(engine)
    print(
        f"  priority refresh of open mentions  {(time.perf_counter() - started) * 1000:8.1f} ms   "
        f"({refreshed:,} rows; the worker runs it every cycle)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            bench("SQLite", f"sqlite:///{tmp}/bench-{n}.sqlite3", n)
    if args.no_postgres:
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    for n in sizes:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            bench("PostgreSQL", f"{PG_ADMIN}?options=-csearch_path%3D{schema}", n)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


if __name__ == "__main__":
    main()

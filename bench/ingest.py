"""Ingest throughput: mentions/s stored end to end (sandbox → tweepy/facebook-sdk → database).

For 20,000 mentions (10,000 on X, 10,000 Facebook comments) on SQLite and on
PostgreSQL. The sandbox networks run in a separate process, like the real ones.
The baseline, measured in the same run, is the same walk through the
connectors with nothing stored, so the ratio shows what the store costs.

    ./.venv/bin/python bench/ingest.py [--total 20000]

Target: at least 2,000 mentions/s end to end on a 2-core machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

# Replace the script folder on the path with the project root (bench/ holds scripts, not modules).
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from sqlalchemy import create_engine, text  # noqa: E402

from desk.config import Settings  # noqa: E402
from desk.connectors.registry import build_connectors  # noqa: E402
from desk.ingest import pull_all  # noqa: E402
from desk.sandbox import SandboxNetworks  # noqa: E402
from desk.store.engine import make_engine  # noqa: E402
from desk.store.migrate import upgrade  # noqa: E402

PG = os.environ.get("DESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fetch_only(connectors) -> int:  # type: ignore[no-untyped-def]
    n = 0
    for connector in connectors.values():
        for stream in connector.streams():
            for page in connector.fetch_pages(stream, {}):
                n += len(page.mentions)
    return n


def serve_networks(total: int, pipe) -> None:  # type: ignore[no-untyped-def]
    """The networks live in their own process, as real ones would: they must not share our GIL."""
    with SandboxNetworks.start(host="127.0.0.1", x_port=0, graph_port=0, incident=None) as nets:
        nets.x.bulk_generate(total // 2, seed=1)
        nets.graph.bulk_generate(total - total // 2, seed=2)
        pipe.send(nets.env())
        pipe.recv()  # until the benchmark is done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=20_000)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve_networks, args=(args.total, theirs), daemon=True)
    server.start()
    try:
        env = ours.recv()
        settings = Settings(**{k.removeprefix("DESK_").lower(): v for k, v in env.items()}, page_size=100)
        connectors = build_connectors(settings)

        started = time.perf_counter()
        fetched = fetch_only(connectors)
        baseline = fetched / (time.perf_counter() - started)
        print(f"baseline  fetch only (no store)   {fetched:>7} mentions  {baseline:>9.0f} mentions/s")

        targets = {}
        tmp = tempfile.mkdtemp()
        targets["sqlite"] = f"sqlite:///{tmp}/bench.sqlite3"
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = None
        try:
            admin = create_engine(PG, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            targets["postgresql"] = f"{PG}?options=-csearch_path%3D{schema}"
        except Exception as exc:  # noqa: BLE001
            print(f"postgresql: not reachable ({type(exc).__name__}); skipped")
        try:
            for name, url in targets.items():
                engine = make_engine(url)
                upgrade(engine)
                started = time.perf_counter()
                report = pull_all(engine, connectors, settings=settings)
                elapsed = time.perf_counter() - started
                rate = report.new / elapsed
                verdict = "meets" if rate >= 2000 else "MISSES"
                print(
                    f"{name:<10} end to end             {report.new:>7} mentions  {rate:>9.0f} mentions/s  "
                    f"ratio to baseline {rate / baseline:.2f}  ({verdict} the 2,000/s target)"
                    + (f"  errors: {report.errors}" if report.errors else "")
                )
                engine.dispose()
        finally:
            if admin is not None and "postgresql" in targets:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        ours.send("done")
        server.join(timeout=10)


if __name__ == "__main__":
    main()

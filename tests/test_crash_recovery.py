"""kill -9 in the middle of ingest, then a restart: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from desk.store.engine import transaction
from desk.store.schema import MentionRow, SyncState

ROOT = Path(__file__).resolve().parent.parent


def count(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(MentionRow)) or 0)


def test_kill_9_mid_ingest_then_restart(engine: Engine, db_url: str) -> None:
    from desk.sandbox import SandboxNetworks

    with SandboxNetworks.start(host="127.0.0.1", x_port=0, graph_port=0, incident=None) as nets:
        total = 2000
        nets.x.bulk_generate(total, seed=7)
        expected = {str(t.id) for t in nets.x.iter_newest_first(mentions_only=True)}
        assert len(expected) == total
        env = {
            **os.environ,
            **{k: v for k, v in nets.env().items() if not k.startswith("DESK_FB")},
            "DESK_DATABASE_URL": db_url,
            "DESK_PAGE_SIZE": "5",
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "-m", "desk", "pull", "--no-triage"]
        victim = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while count(engine) < 300 and time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.05)
        assert victim.poll() is None, "ingest finished before it could be killed; make it slower"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        partial = count(engine)
        assert 0 < partial < total

        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr

    with transaction(engine) as s:
        ids = list(s.scalars(select(MentionRow.external_id)))
        states = {r.stream: r.state for r in s.scalars(select(SyncState))}
    assert len(ids) == total == len(set(ids))
    assert set(ids) == expected
    (state,) = [v for k, v in states.items() if k.startswith("x:mentions:")]
    assert state == {"since_id": max(ids, key=int)}

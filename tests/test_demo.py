"""`make run` as a person uses it: the desk fills with the demo incident, Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_fills_the_desk_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    ui, x, graph = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        {
            "DESK_DATABASE_URL": f"sqlite:///{db}",
            "DESK_SANDBOX_X_PORT": str(x),
            "DESK_SANDBOX_GRAPH_PORT": str(graph),
            "PYTHONPATH": str(ROOT),
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "desk", "demo", "--port", str(ui), "--speed", "120"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        counts = (0, 0)
        while time.monotonic() < deadline:
            if db.exists() and listening(ui):
                engine = create_engine(f"sqlite:///{db}")
                with engine.connect() as conn:
                    counts = (
                        conn.execute(text("select count(*) from mentions where is_own = 0")).scalar_one(),
                        conn.execute(text("select count(*) from triage")).scalar_one(),
                    )
                engine.dispose()
                if counts[0] >= 20 and counts[1] >= 20:
                    break
            time.sleep(1)
        assert counts[0] >= 20 and counts[1] >= 20, f"the desk did not fill: {counts}"
        assert requests.get(f"http://127.0.0.1:{ui}/_stcore/health", timeout=5).text == "ok"
        sandbox = requests.get(f"http://127.0.0.1:{x}/_sandbox/state", timeout=5)
        assert sandbox.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        output, _ = proc.communicate(timeout=60)
    assert "Stopped the desk, the worker and the sandbox networks." in output
    assert "Traceback" not in output
    assert not any(listening(p) for p in (ui, x, graph))

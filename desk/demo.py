"""``make run`` / ``python -m desk demo``: the whole desk on one laptop, no accounts, no internet.

Starts the sandbox networks with the bundled demo incident, migrates the
embedded SQLite database, seeds the incident and canned replies, runs the follow
loop (ingest → triage → metrics) in a background thread, and serves the desk
with Streamlit. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import Engine, func, select

from desk.config import PROJECT_ROOT, get_settings
from desk.store.engine import make_engine, transaction
from desk.store.migrate import upgrade
from desk.store.schema import Incident, Template

# Open the demo 20 incident-minutes in, so the team walks into a queue that is already filling.
DEMO_START_OFFSET_SECONDS = 20 * 60

DEMO_INCIDENT = {
    "title": "DNS outage: phones cannot register",
    "status_url": "https://status.nimbusvoice.example/incidents/dns-outage",
    "eta": "within 2 hours",
}
DEMO_TEMPLATES = {
    "Acknowledge outage": (
        "Hi {first_name}, we're sorry: {incident_title}. Our engineers are on it and we expect a fix {eta}. "
        "Updates: {status_url}"
    ),
    "Reboot after fix": (
        "Hi {first_name}, the fix is live. Please reboot your phone (unplug it for 10 seconds) "
        "so it registers "
        "again. Still stuck? Reply here and we'll help. {status_url}"
    ),
    "Status page down": (
        "Hi {first_name}, our status page is affected by the same DNS problem. We'll post every update here "
        "until it is back. Expected fix: {eta}."
    ),
    "Thank you": "Thanks for your patience, {first_name}, and sorry for the disruption today.",
    "Move to DM": "Hi {first_name}, so we can look at your account, please send us a direct message "
    "with your "
    "account number (never your password).",
}


def seed_demo(engine: Engine) -> None:
    """Give the demo an open incident and canned replies (only if none exist yet)."""
    with transaction(engine) as s:
        if not s.scalar(select(func.count()).select_from(Incident)):
            s.add(Incident(**DEMO_INCIDENT, status="open"))
        if not s.scalar(select(func.count()).select_from(Template)):
            for name, body in DEMO_TEMPLATES.items():
                s.add(Template(name=name, body=body))


def run_demo(*, port: int = 8501, speed: float = 30.0, reset: bool = False) -> None:
    from desk.connectors.registry import build_connectors
    from desk.sandbox import SandboxNetworks
    from desk.worker import follow_forever

    settings = get_settings()
    db_url = settings.database_url
    if reset and db_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(db_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = make_engine(db_url)
    upgrade(engine)
    seed_demo(engine)

    nets = SandboxNetworks.start(
        host=settings.sandbox_host,
        x_port=settings.sandbox_x_port,
        graph_port=settings.sandbox_graph_port,
        incident="demo",
        speed=speed,
        start_offset_seconds=DEMO_START_OFFSET_SECONDS,
    )
    env = {**os.environ, **nets.env(), "DESK_DATABASE_URL": db_url, "DESK_DEMO": "true"}
    os.environ.update(nets.env())
    get_settings.cache_clear()
    settings = get_settings()
    connectors = build_connectors(settings)

    stop = threading.Event()
    worker = threading.Thread(
        target=follow_forever,
        args=(engine, connectors, settings),
        kwargs={"interval": 5.0, "stop": stop},
        daemon=True,
        name="desk-worker",
    )
    worker.start()
    print(f"Sandbox X API:     {nets.x_base_url}")
    print(f"Sandbox Graph API: {nets.graph_base_url}")
    print(f"Database:          {engine.url.render_as_string(hide_password=True)}")
    print(f"The desk:          http://localhost:{port}   (Ctrl-C stops everything)", flush=True)
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(PROJECT_ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        cwd=PROJECT_ROOT,
    )
    try:
        ui.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if ui.poll() is None:
            ui.send_signal(signal.SIGINT)
            try:
                ui.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ui.kill()
        worker.join(timeout=15)
        nets.stop()
        engine.dispose()
        print("Stopped the desk, the worker and the sandbox networks.")

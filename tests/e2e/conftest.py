"""The desk in headless Chromium: sandbox networks in-process, a temp SQLite filled by a real ingest,
and ``streamlit run app.py`` as a subprocess on a free port.

Chromium is Debian's /usr/bin/chromium (``make chromium``); Playwright never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deskbrowser import CHROMIUM, ROOT, SCREENSHOTS, Desk

HOSTILE_NAME = "\u202eevil<img src=x onerror=alert(1)>"
HOSTILE_TEXT = "[click me](javascript:alert(1)) <script>alert(2)</script> @NimbusVoice is it down\u200b?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed_networks(nets: Any) -> dict[str, str]:
    x = nets.x
    ids: dict[str, str] = {}
    x.add_user("9001", "angry_ana", "Ana Angry", followers_count=120_000)
    x.add_user("9002", "evil_eve", HOSTILE_NAME, followers_count=5)
    x.add_user("9003", "calm_carl", "Carl Calm", followers_count=40)
    ids["x_angry"] = str(
        x.add_tweet(f"@{x.desk_username} WHY are my phones dead again?? fix it", "9001")["id"]
    )
    ids["x_hostile"] = str(x.add_tweet(HOSTILE_TEXT, "9002")["id"])
    ids["x_calm"] = str(x.add_tweet(f"@{x.desk_username} thanks, router rebooted and all good", "9003")["id"])
    for i in range(6):
        x.add_user(str(9100 + i), f"cust{i}", f"Customer {i}", followers_count=10 * i)
        x.add_tweet(f"@{x.desk_username} outage number {i}: no dial tone", str(9100 + i))
    graph = nets.graph
    post = graph.add_post("We are investigating a DNS problem affecting calls.", by_page=True)
    ids["fb_post"] = str(post["id"])
    ids["fb_comment"] = str(
        graph.add_comment(
            post["id"],
            "My office phones have been down all morning",
            from_id="7001",
            from_name="Fiona Facebook",
        )["id"]
    )
    ids["fb_comment2"] = str(
        graph.add_comment(post["id"], "Same here, any ETA?", from_id="7002", from_name="Gus Graph")["id"]
    )
    return ids


@pytest.fixture(scope="session")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; run `make chromium` (apt-get install chromium).")
    from desk.config import Settings
    from desk.connectors.registry import build_connectors
    from desk.demo import seed_demo
    from desk.ingest import pull_all
    from desk.sandbox import SandboxNetworks
    from desk.store.engine import make_engine
    from desk.store.migrate import upgrade
    from desk.team import add_member

    db = tmp_path_factory.mktemp("e2e") / "desk.sqlite3"
    url = f"sqlite:///{db}"
    with SandboxNetworks.start(
        host="127.0.0.1", x_port=0, graph_port=0, incident=None, speed=float("inf")
    ) as nets:
        engine = make_engine(url)
        upgrade(engine)
        seed_demo(engine)  # the incident opens first, so its mentions count as "this incident"
        ids = _seed_networks(nets)
        add_member(engine, "Ana")
        add_member(engine, "Ben")
        add_member(engine, "Lee", "lead")
        settings = Settings(
            database_url=url, **{k.removeprefix("DESK_").lower(): v for k, v in nets.env().items()}
        )
        connectors = build_connectors(settings)
        report = pull_all(engine, connectors, settings=settings, sleep=lambda _s: None)
        assert not report.errors, report.errors
        _triage_if_a_model_is_present(engine)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
        env.update(nets.env())
        env.update(
            {
                "DESK_DATABASE_URL": url,
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
            }
        )
        log = (tmp_path_factory.mktemp("e2e-log") / "streamlit.log").open("w")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(f"http://127.0.0.1:{port}/_stcore/health", proc)
            yield Desk(f"http://127.0.0.1:{port}", nets, engine, ids, connectors, settings)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            engine.dispose()


def _triage_if_a_model_is_present(engine: Any) -> None:
    """Triage with the trained model when the checkout has one; the desk must work without it too."""
    from desk.errors import DeskError

    try:
        from desk.triage.model import load_triager
        from desk.triage.service import triage_new_mentions

        triage_new_mentions(engine, load_triager())
    except (DeskError, OSError):
        pass


def _wait_until_serving(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local test server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not start serving in time")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dir() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(exist_ok=True)

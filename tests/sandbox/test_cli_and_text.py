"""`python -m desk sandbox` in another process, and hostile text surviving the wire unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox.conftest import graph_client, x_client

from desk.sandbox import SandboxNetworks

ROOT = Path(__file__).resolve().parents[2]


def test_cli_sandbox_serves_prints_env_and_stops_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    proc = subprocess.Popen(
        [sys.executable, "-m", "desk", "sandbox", "--x-port", "0", "--graph-port", "0", "--speed", "inf"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("Control:"):
                break
        exports = dict(line[len("export ") :].split("=", 1) for line in lines if line.startswith("export "))
        assert set(exports) >= {
            "DESK_X_API_BASE",
            "DESK_GRAPH_API_BASE",
            "DESK_X_BEARER_TOKEN",
            "DESK_FB_PAGE_TOKEN",
            "DESK_FB_PAGE_ID",
            "DESK_GRAPH_API_VERSION",
            "DESK_X_SEARCH_QUERY",
        }
        assert exports["DESK_X_SEARCH_QUERY"].startswith("'")  # quoted: safe to paste into a shell
        session = requests.Session()
        session.trust_env = False
        x_base = exports["DESK_X_API_BASE"]
        state = session.get(f"{x_base}/_sandbox/state", timeout=5).json()
        assert state["mentions_visible"] == state["mentions_total"] > 400
        session.post(
            f"{x_base}/_sandbox/faults", json={"fault": "server_error", "path": "/2/users/me"}, timeout=5
        )
        assert session.get(f"{x_base}/2/users/me", timeout=5).status_code == 503
        graph_state = session.get(f"{exports['DESK_GRAPH_API_BASE']}/_sandbox/state", timeout=5).json()
        assert graph_state["page_id"] == exports["DESK_FB_PAGE_ID"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "Stopping the sandbox." in out
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_sandbox_refuses_a_busy_port_in_plain_words() -> None:
    with SandboxNetworks.start(incident=None) as busy:
        port = busy.x_base_url.rsplit(":", 1)[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "desk",
                "sandbox",
                "--x-port",
                port,
                "--graph-port",
                "0",
                "--incident",
                "none",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def shared_nets() -> Iterator[SandboxNetworks]:
    with SandboxNetworks.start(incident=None) as nets:
        nets.x.add_user("42", "hostile", "<img src=x onerror=alert(1)>")
        yield nets


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=300))
def test_any_text_comes_back_unchanged_through_tweepy(shared_nets: SandboxNetworks, text: str) -> None:
    tweet_id = shared_nets.x.add_tweet(text, "42")["id"]
    got = x_client(shared_nets).get_tweet(tweet_id, expansions=["author_id"])
    assert got.data.text == text
    assert got.includes["users"][0].name == "<img src=x onerror=alert(1)>"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=300).filter(lambda t: t.strip() != ""))
def test_any_comment_text_round_trips_through_facebook_sdk(shared_nets: SandboxNetworks, text: str) -> None:
    graph = graph_client(shared_nets)
    post = shared_nets.graph.add_post("Status", by_page=True)
    created = graph.put_comment(post["id"], text)
    assert graph.get_object(created["id"], fields="message")["message"] == text

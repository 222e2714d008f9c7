"""The command line as a person uses it: real processes, plain messages, no tracebacks."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def desk(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "desk", *args],
        env=full_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_pull_then_export_mentions(tmp_path: Path, sqlite_url: str) -> None:
    from desk.sandbox import SandboxNetworks

    with SandboxNetworks.start(host="127.0.0.1", x_port=0, graph_port=0, incident=None) as nets:
        nets.x.add_user("501", "ann", "Ann Example", followers_count=12)
        nets.x.add_tweet("@NimbusVoice =cmd|' /C calc'!A0 is the service down?", "501")
        post = nets.graph.add_post("We're investigating a DNS problem.", by_page=True)
        nets.graph.add_comment(post["id"], "Phones dead since 9am", from_id="77", from_name="Bob Example")
        env = {**nets.env(), "DESK_DATABASE_URL": sqlite_url}
        pulled = desk("pull", "--no-triage", env=env)
        assert pulled.returncode == 0, pulled.stderr
        assert "Stored 2 new mentions" in pulled.stdout
        again = desk("pull", "--no-triage", env=env)
        assert again.returncode == 0 and "Stored 0 new mentions" in again.stdout

    out = tmp_path / "mentions.csv"
    exported = desk("export", "mentions", "--out", str(out), env={"DESK_DATABASE_URL": sqlite_url})
    assert exported.returncode == 0, exported.stderr
    assert "Wrote 2 mentions" in exported.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    by_platform = {r["platform"]: r for r in rows}
    assert by_platform["x"]["author_handle"] == "ann"
    assert by_platform["x"]["text"] == "'@NimbusVoice =cmd|' /C calc'!A0 is the service down?"
    assert by_platform["facebook"]["author_name"] == "Bob Example"
    assert by_platform["facebook"]["parent_external_id"] == post["id"]
    assert by_platform["x"]["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("pull",), {}, "No network is configured"),
        (("db", "upgrade"), {"DESK_DATABASE_URL": "nonsense"}, "DESK_DATABASE_URL is not a database URL"),
        (
            ("pull",),
            {"DESK_X_BEARER_TOKEN": "changeme"},
            "DESK_X_BEARER_TOKEN: Value error, looks like a placeholder",
        ),
        (("export", "mentions", "--out", "/proc/forbidden/x.csv"), {}, "Cannot write /proc/forbidden/x.csv"),
    ],
)
def test_bad_input_gets_one_plain_line(
    args: tuple[str, ...], env: dict[str, str], message: str, sqlite_url: str
) -> None:
    result = desk(*args, env={"DESK_DATABASE_URL": sqlite_url, **env})
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_db_upgrade_creates_the_schema(sqlite_url: str) -> None:
    result = desk("db", "upgrade", env={"DESK_DATABASE_URL": sqlite_url})
    assert result.returncode == 0 and "Database is up to date" in result.stdout

"""``python -m desk classify``: every input form, hostile rows, and bad files as one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from desk.cli import app

ROOT = Path(__file__).resolve().parents[2]
LONG = "ok " * 6_667  # 20,001 characters
TEXTS = [
    "Why is the app down?",
    "",
    "😡😡😡",
    LONG,
    "Das ist eine Katastrophe, warum antwortet niemand?",
    "thanks!",
]


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def _read_out(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_rows(rows: list[dict], texts: list[str]) -> None:
    assert [r["text"] for r in rows] == texts
    for r in rows:
        assert set(r) == {
            "text",
            "sentiment",
            "sentiment_scores",
            "emotion",
            "anger",
            "question",
            "question_score",
        }
        assert r["sentiment"] in {"negative", "neutral", "positive"}
        assert set(r["sentiment_scores"]) == {"negative", "neutral", "positive"}
        assert r["emotion"] in {"anger", "joy", "optimism", "sadness"}
        assert 0 <= r["anger"] <= 1 and 0 <= r["question_score"] <= 1
        assert isinstance(r["question"], bool)


def test_csv_input(tmp_path: Path, triager) -> None:  # type: ignore[no-untyped-def]
    import csv

    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for i, text in enumerate([*TEXTS, 'a "quoted", multi\nline text']):
            writer.writerow([i, text])
    result = _run("classify", str(src), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.output
    _assert_rows(_read_out(tmp_path / "out.jsonl"), [*TEXTS, 'a "quoted", multi\nline text'])


def test_jsonl_input(tmp_path: Path, triager) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(json.dumps({"text": t, "n": i}) for i, t in enumerate(TEXTS)) + "\n\n", encoding="utf-8"
    )
    out = tmp_path / "nested" / "out.jsonl"
    result = _run("classify", str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = _read_out(out)
    _assert_rows(rows, TEXTS)
    assert rows[0]["question"] is True


def test_txt_input(tmp_path: Path, triager) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.txt"
    texts = [t for t in TEXTS if "\n" not in t]
    src.write_text("\r\n".join(texts) + "\r\n", encoding="utf-8")
    result = _run("classify", str(src), "--out", str(tmp_path / "out.jsonl"), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    _assert_rows(_read_out(tmp_path / "out.jsonl"), texts)


def test_empty_inputs_write_an_empty_file(tmp_path: Path, triager) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.csv"
    src.write_text("text\n", encoding="utf-8")
    result = _run("classify", str(src), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == ""


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", b'{"text": "fine"}\n{"text": broken\n', "line 2 is not valid JSON"),
        ("notext.jsonl", b'{"body": "x"}\n', '"text" field'),
        ("deep.jsonl", b"[" * 200_000 + b"\n", "line 1 nests JSON too deeply"),
        ("notext.csv", b"id,body\n1,hello\n", "no 'text' column"),
        ("quote.csv", b'text\n"unterminated\n', "not a well-formed CSV"),
        ("latin1.txt", "caf\xe9 ol\xe9".encode("latin-1"), "not UTF-8"),
        ("input.xlsx", b"PK\x03\x04", "must end in .csv, .jsonl or .txt"),
        ("empty.csv", b"", "is empty"),
    ],
)
def test_bad_files_get_one_line_and_nonzero_exit(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    result = _run("classify", str(src), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and message in lines[0]
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_file_and_directory_input(tmp_path: Path) -> None:
    for src in (tmp_path / "nope.csv", tmp_path):
        result = _run("classify", str(src), "--out", str(tmp_path / "out.jsonl"))
        assert result.exit_code != 0
        assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_unreadable_file(tmp_path: Path) -> None:
    # Permissions do not stop root (CI runs as root); /proc/self/mem fails any plain read with EIO.
    src = tmp_path / "unreadable.txt"
    src.symlink_to("/proc/self/mem")
    result = _run("classify", str(src), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code != 0
    assert (
        result.stderr.startswith(f"Error: Cannot read {src}") and len(result.stderr.strip().splitlines()) == 1
    )


def test_real_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    """As a user runs it: a separate ``python -m desk`` process, a malformed file."""
    src = tmp_path / "bad.jsonl"
    src.write_text("not json\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    proc = subprocess.run(
        [sys.executable, "-m", "desk", "classify", str(src), "--out", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"Error: {src} line 1 is not valid JSON (Expecting value)."
    assert "Traceback" not in proc.stderr

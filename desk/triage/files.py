"""Reading the texts of ``python -m desk classify INPUT`` and writing its JSON lines.

INPUT is a ``.csv`` with a ``text`` column, a ``.jsonl`` with a ``"text"`` field
per line, or a ``.txt`` with one text per line. Every problem with the file
becomes one plain sentence (``Fatal``), never a parser's traceback.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from desk.errors import Fatal

SUFFIXES = (".csv", ".jsonl", ".txt")


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise Fatal(f"{path} does not exist.") from exc
    except IsADirectoryError as exc:
        raise Fatal(f"{path} is a directory, not a file.") from exc
    except OSError as exc:
        raise Fatal(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Fatal(f"{path} is not UTF-8 text (bad byte at position {exc.start}).") from exc


def read_texts(path: Path) -> list[str]:
    """The texts of INPUT, in file order."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise Fatal(f"{path} must end in .csv, .jsonl or .txt (got {suffix or 'no extension'}).")
    content = _read_text(path)
    if suffix == ".txt":
        lines = content.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the newline that ends the last line is not another text
        return [line.removesuffix("\r") for line in lines]
    if suffix == ".jsonl":
        return _jsonl_texts(path, content)
    return _csv_texts(path, content)


def _jsonl_texts(path: Path, content: str) -> list[str]:
    texts: list[str] = []
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Fatal(f"{path} line {number} is not valid JSON ({exc.msg}).") from exc
        except RecursionError as exc:
            raise Fatal(f"{path} line {number} nests JSON too deeply to read.") from exc
        if not isinstance(obj, dict) or "text" not in obj:
            raise Fatal(f'{path} line {number} is not a JSON object with a "text" field.')
        value = obj["text"]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise Fatal(f'{path} line {number}: "text" must be a string.')
        texts.append(value)
    return texts


def _csv_texts(path: Path, content: str) -> list[str]:
    csv.field_size_limit(10_000_000)
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise Fatal(f"{path} is empty: it needs a header row with a text column.")
        names = [h.strip().lower() for h in header]
        if "text" not in names:
            raise Fatal(f"{path} has no 'text' column (columns: {', '.join(header) or 'none'}).")
        col = names.index("text")
        texts: list[str] = []
        for row in reader:
            if not row:
                continue  # a blank line is no row
            if len(row) <= col:
                raise Fatal(f"{path} line {reader.line_num} has no value for the text column.")
            texts.append(row[col])
    except csv.Error as exc:
        raise Fatal(f"{path} is not a well-formed CSV file (line {reader.line_num}: {exc}).") from exc
    return texts


def write_jsonl(out: IO[str], rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        try:
            line = json.dumps(row, ensure_ascii=False)
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = json.dumps(row, ensure_ascii=True)  # lone surrogates from a JSON escape: keep them escaped
        out.write(line + "\n")

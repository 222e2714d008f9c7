"""Every CLI command and every setting appears in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main

from desk.cli import app
from desk.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def command_names(group: typer.Typer, prefix: str = "") -> list[str]:
    click_group = typer.main.get_command(group)
    names = []
    for name, command in click_group.commands.items():  # type: ignore[attr-defined]
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            names.extend(f"{full} {sub}" for sub in command.commands)
        else:
            names.append(full)
    return names


def test_every_command_is_documented() -> None:
    names = command_names(app)
    assert {"pull", "demo", "db upgrade", "export mentions"} <= set(names)
    for name in names:
        assert f"`{name}" in README, f"README does not document `python -m desk {name}`"


def test_every_setting_is_documented() -> None:
    for field in Settings.model_fields:
        assert f"DESK_{field.upper()}" in README, f"README does not document DESK_{field.upper()}"


def test_quick_start_shows_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick

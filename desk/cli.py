"""``python -m desk``: the desk's command line. Thin: every command calls a desk service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from desk.errors import DeskError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
export_app = typer.Typer(no_args_is_help=True, help="Export stored data.")
app.add_typer(db_app, name="db")
app.add_typer(export_app, name="export")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database named by DESK_DATABASE_URL to the newest schema."""
    from desk.config import get_settings
    from desk.store.engine import make_engine
    from desk.store.migrate import upgrade

    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    typer.echo(f"Database is up to date ({engine.url.render_as_string(hide_password=True)}).")


def main() -> None:
    try:
        app()
    except DeskError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("Stopped.", err=True)
        sys.exit(130)


_ = (Path, Annotated)

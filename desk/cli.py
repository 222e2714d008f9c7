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
from desk.triage.commands import register as register_triage  # noqa: E402

register_triage(app)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database named by DESK_DATABASE_URL to the newest schema."""
    engine = _engine()
    typer.echo(f"Database is up to date ({engine.url.render_as_string(hide_password=True)}).")


def _engine():  # type: ignore[no-untyped-def]
    from desk.config import get_settings
    from desk.store.engine import make_engine
    from desk.store.migrate import upgrade

    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    return engine


@app.command("pull")
def pull(
    follow: Annotated[bool, typer.Option("--follow", help="Keep polling at the interval.")] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between polls (default DESK_POLL_INTERVAL_SECONDS).")
    ] = None,
    triage: Annotated[bool, typer.Option("--triage/--no-triage", help="Triage what was stored.")] = True,
) -> None:
    """Drain every enabled stream once (exit 0 when caught up), or keep polling with --follow."""
    from desk.config import get_settings
    from desk.connectors.registry import build_connectors
    from desk.worker import follow_forever, run_cycle

    settings = get_settings()
    engine = _engine()
    connectors = build_connectors(settings)
    if not connectors:
        fail(
            "No network is configured. Set DESK_X_BEARER_TOKEN or DESK_FB_PAGE_ID + DESK_FB_PAGE_TOKEN "
            "(or run `python -m desk demo`)."
        )
    if follow:
        follow_forever(
            engine,
            connectors,
            settings,
            interval=interval or settings.poll_interval_seconds,
            console=True,
            triage=triage,
        )
        return
    outcome = run_cycle(engine, connectors, settings, console=True, triage=triage)
    for line in outcome.errors:
        typer.echo(f"Problem: {line}", err=True)
    typer.echo(f"Stored {outcome.new_mentions} new mentions; triaged {outcome.triaged}.")
    if outcome.errors:
        raise typer.Exit(1)


@export_app.command("mentions")
def export_mentions_cmd(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Write one CSV row per stored mention (formula-safe)."""
    from desk.exports import export_mentions

    try:
        count = export_mentions(_engine(), out)
    except OSError as exc:
        fail(f"Cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"Wrote {count} mentions to {out}.")


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="Port of the desk web page.")] = 8501,
    speed: Annotated[float, typer.Option(help="Incident seconds per real second.")] = 30.0,
    reset: Annotated[bool, typer.Option(help="Start from an empty demo database.")] = False,
) -> None:
    """Run the desk on the embedded database against the sandbox networks with the demo incident."""
    from desk.demo import run_demo

    run_demo(port=port, speed=speed, reset=reset)


@app.command("sandbox")
def sandbox(
    x_port: Annotated[int | None, typer.Option("--x-port", help="Default DESK_SANDBOX_X_PORT.")] = None,
    graph_port: Annotated[
        int | None, typer.Option("--graph-port", help="Default DESK_SANDBOX_GRAPH_PORT.")
    ] = None,
    speed: Annotated[float, typer.Option(help="Incident seconds per real second (inf: all at once).")] = 60.0,
    incident: Annotated[str, typer.Option(help="demo (the bundled incident) or none (no items).")] = "demo",
) -> None:
    """Run the X and Graph API stand-ins in the foreground and print the DESK_* settings to use them."""
    from desk.config import get_settings
    from desk.sandbox import serve_forever

    if incident not in ("demo", "none"):
        fail("--incident must be demo or none.")
    if not speed > 0:
        fail("--speed must be a positive number.")
    settings = get_settings()
    serve_forever(
        host=settings.sandbox_host,
        x_port=settings.sandbox_x_port if x_port is None else x_port,
        graph_port=settings.sandbox_graph_port if graph_port is None else graph_port,
        speed=speed,
        incident=None if incident == "none" else "demo",
    )


def _plain_error(exc: Exception) -> str:
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, OperationalError

    from desk.logs import scrub

    if isinstance(exc, OperationalError):
        return (
            "Cannot use the database named by DESK_DATABASE_URL: "
            + scrub(str(exc.orig or exc)).splitlines()[0]
        )
    if isinstance(exc, ArgumentError):
        return (
            "DESK_DATABASE_URL is not a database URL the desk understands (e.g. sqlite:///var/desk.sqlite3)."
        )
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"DESK_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        return f"Invalid settings: {problems}"
    return f"Unexpected problem ({type(exc).__name__}): {scrub(str(exc)).splitlines()[0] if str(exc) else ''}"


def main() -> None:
    try:
        app()
    except DeskError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - a person gets one plain line, never a traceback
        typer.echo(f"Error: {_plain_error(exc)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("Stopped.", err=True)
        sys.exit(130)

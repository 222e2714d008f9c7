"""The follow loop: ingest → triage → priorities → metrics, every interval.

One cycle never raises for a network problem: those end up on the stream or
account (and in the outcome's ``errors``) in plain words, and the next cycle
resumes from the stored bookmarks.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from desk.config import Settings
from desk.connectors.base import Connector
from desk.domain import Platform
from desk.ingest import ProgressCallback, pull_all
from desk.metrics import refresh_metrics
from desk.replies import reconcile_interrupted_sends

log = logging.getLogger(__name__)

METRICS_EVERY_SECONDS = 60.0


@dataclass
class CycleOutcome:
    new_mentions: int = 0
    triaged: int = 0
    metric_snapshots: int = 0
    errors: list[str] = field(default_factory=list)


def triage_step(engine: Engine) -> int:
    """Triage every stored mention that has none yet, then refresh queue priorities."""
    from desk.triage.service import refresh_priorities, triage_new_mentions

    count = triage_new_mentions(engine)
    refresh_priorities(engine)
    return count


def run_cycle(
    engine: Engine,
    connectors: dict[Platform, Connector],
    settings: Settings,
    *,
    console: bool = False,
    with_metrics: bool = True,
    triage: bool = True,
) -> CycleOutcome:
    outcome = CycleOutcome()
    with _progress(console) as progress:
        report = pull_all(engine, connectors, settings=settings, progress=progress)
    outcome.new_mentions = report.new
    outcome.errors.extend(report.errors)
    outcome.errors.extend(reconcile_interrupted_sends(engine, connectors))
    if triage:
        outcome.triaged = triage_step(engine)
    if with_metrics:
        metrics = refresh_metrics(engine, connectors)
        outcome.metric_snapshots = metrics.snapshots
        outcome.errors.extend(metrics.errors)
    return outcome


def follow_forever(
    engine: Engine,
    connectors: dict[Platform, Connector],
    settings: Settings,
    *,
    interval: float,
    console: bool = False,
    stop: threading.Event | None = None,
    triage: bool = True,
) -> None:
    stop = stop or threading.Event()
    last_metrics: float | None = None
    while not stop.is_set():
        started = time.monotonic()
        # Counts change slowly and every reading is a stored row: read them once a minute, not every poll.
        with_metrics = last_metrics is None or started - last_metrics >= METRICS_EVERY_SECONDS
        if with_metrics:
            last_metrics = started
        try:
            outcome = run_cycle(
                engine, connectors, settings, console=console, triage=triage, with_metrics=with_metrics
            )
            if console:
                print(
                    f"{time.strftime('%H:%M:%S')} stored {outcome.new_mentions} new, "
                    f"triaged {outcome.triaged}"
                    + (f"; problems: {'; '.join(outcome.errors)}" if outcome.errors else ""),
                    flush=True,
                )
        except Exception:  # noqa: BLE001 - the loop must survive anything one cycle does
            log.exception("A desk cycle failed; the next one starts from the stored state")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


class _progress:
    """A rich progress line on a terminal, nothing when output is not a TTY."""

    def __init__(self, console: bool) -> None:
        self.enabled = console and sys.stderr.isatty()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> ProgressCallback | None:
        if not self.enabled:
            return None
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} new"),
            transient=False,
        )
        self._progress.start()

        def update(stream: str, new: int) -> None:
            if stream not in self._tasks:
                self._tasks[stream] = self._progress.add_task(stream, total=None)
            self._progress.update(self._tasks[stream], advance=new)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

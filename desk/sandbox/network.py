"""What the X and Graph stand-ins' worlds keep alike: clock, lock, fault plan, request log, posted replies.

:class:`~desk.sandbox.xnet.XNetwork` and :class:`~desk.sandbox.graphnet.GraphNetwork` build on
:class:`Network`; what differs between them (ids, items, renderings) stays in those modules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from desk.sandbox.clock import IncidentClock
from desk.sandbox.faults import FaultPlan, Stage
from desk.sandbox.wire import RequestLog


class Network:
    """One stand-in's world. Public methods are safe to call from any thread."""

    def __init__(self, clock: IncidentClock, known_faults: dict[str, Stage]) -> None:
        self.clock = clock
        # Re-entrant: the API holds it around a whole request and the methods it calls take it again.
        self.lock = threading.RLock()
        self.faults = FaultPlan(known_faults)
        self.log = RequestLog()
        self._posted: list[dict[str, Any]] = []

    @property
    def posted(self) -> list[dict[str, Any]]:
        """What the desk posted through the API, oldest first (copies)."""
        with self.lock:
            return [dict(p) for p in self._posted]

    @property
    def requests_log(self) -> list[tuple[str, str, dict[str, str]]]:
        return self.log.snapshot()


def as_epoch(
    value: datetime | str | float | int | None, default: float, parse: Callable[[str], float]
) -> float:
    """Epoch seconds from a datetime, a number or a string in the network's own format (``parse``)."""
    if value is None:
        return default
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return parse(value)

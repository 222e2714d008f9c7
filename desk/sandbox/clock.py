"""Incident time: when a scheduled item becomes visible, and the timestamps it then carries.

An incident item has an offset in incident seconds from the incident start. With ``speed``
incident-seconds per real second, the item shows up when ``offset <= elapsed_real * speed +
start_offset``. Its ``created_at`` is the real moment it shows up, so every timestamp a client
sees is in the past, ids (time-ordered, like X's) grow with arrival, and ``since_id`` polling
works as on the real network. The incident is compressed: at speed 60 an incident hour
takes a real minute. With ``speed=inf`` everything is visible at once and the items keep
their real spacing, ending at the moment the networks started.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class IncidentClock:
    speed: float = 60.0
    start_offset: float = 0.0
    started: float = field(default_factory=time.time)
    horizon: float = 0.0  # largest scheduled offset; anchors the timeline when speed is infinite

    def __post_init__(self) -> None:
        if not (self.speed > 0):
            raise ValueError("speed must be a positive number of incident seconds per real second")

    def elapsed(self, at: float | None = None) -> float:
        """Incident seconds since the incident start, as of real time ``at`` (default now)."""
        real = (time.time() if at is None else at) - self.started
        if math.isinf(self.speed):
            return math.inf
        return real * self.speed + self.start_offset

    def visible_at(self, offset: float) -> float:
        """Real epoch seconds when the item at ``offset`` appears."""
        if math.isinf(self.speed):
            return self.started - (self.horizon - offset)
        return self.started + (offset - self.start_offset) / self.speed

    def age_in_incident_seconds(self, created: float, at: float | None = None) -> float:
        """How old an item is on the incident's time scale (drives metric growth)."""
        real = max(0.0, (time.time() if at is None else at) - created)
        scale = 3600.0 if math.isinf(self.speed) else self.speed
        return real * scale

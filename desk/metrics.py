"""Metrics refresh: read the counts of our replies and posts and append them as snapshots.

Snapshots are a time series (one row per item, count and reading time) and are
never overwritten, so analytics can show reach growing after each reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from desk.connectors.base import Connector
from desk.domain import Platform
from desk.errors import DeskError
from desk.logs import scrub
from desk.store.engine import transaction
from desk.store.schema import MentionRow, MetricSnapshot, Reply
from desk.store.types import utcnow

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=30)


@dataclass
class MetricsReport:
    snapshots: int = 0
    errors: list[str] = field(default_factory=list)


def items_to_measure(engine: Engine, platform: Platform, now: datetime) -> dict[str, str]:
    """external_id → item kind ('reply' or 'post') of our own items still worth reading."""
    since = now - LOOKBACK
    with transaction(engine) as s:
        replies = s.scalars(
            select(Reply.external_id).where(
                Reply.platform == platform.value,
                Reply.status == "sent",
                Reply.external_id.is_not(None),
                Reply.sent_at >= since,
            )
        ).all()
        posts = s.scalars(
            select(MentionRow.external_id).where(
                MentionRow.platform == platform.value,
                MentionRow.is_own.is_(True),
                MentionRow.created_at >= since,
            )
        ).all()
    items = {str(e): "post" for e in posts}
    items.update({str(e): "reply" for e in replies})
    return items


def refresh_metrics(
    engine: Engine, connectors: dict[Platform, Connector], now: datetime | None = None
) -> MetricsReport:
    now = now or utcnow()
    report = MetricsReport()
    for platform, connector in connectors.items():
        items = items_to_measure(engine, platform, now)
        if not items:
            continue
        try:
            readings = connector.fetch_metrics(list(items))
        except DeskError as exc:
            report.errors.append(f"{platform.value}: {scrub(str(exc))}")
            continue
        with transaction(engine) as s:
            for r in readings:
                s.add(
                    MetricSnapshot(
                        platform=platform.value,
                        external_id=r.external_id,
                        item_kind=items.get(r.external_id, "reply"),
                        name=r.name,
                        value=r.value,
                        captured_at=now,
                    )
                )
        report.snapshots += len(readings)
    return report

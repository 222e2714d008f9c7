"""The one Protocol every network connector implements.

A connector knows its streams (e.g. X mentions, X keyword search, Facebook feed
and comments). For each stream it fetches pages of new mentions starting from
the stream's stored state; ingest stores each page and its new state in one
transaction. It posts a reply to a mention and reads counts for given items.
Every failure leaves it as a :mod:`desk.errors` exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from desk.domain import Mention, MetricReading, Page, Platform, PostedReply


class Connector(Protocol):
    platform: Platform

    def account_key(self) -> str:
        """The external id of our own account (X user id or Facebook Page id)."""
        ...

    def streams(self) -> list[str]:
        """Names of the streams this connector serves, e.g. ``["x:mentions:123", "x:search"]``."""
        ...

    def fetch_pages(self, stream: str, state: dict[str, Any]) -> Iterator[Page]:
        """Pages of mentions newer than ``state``; each page carries the state once it is stored."""
        ...

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        """Publish ``text`` as a reply to ``mention``."""
        ...

    def find_reply(self, mention: Mention, text: str) -> PostedReply | None:
        """Our own reply with this text to ``mention`` if the network has it (after an interrupted send)."""
        ...

    def fetch_metrics(self, external_ids: Sequence[str]) -> list[MetricReading]:
        """Current counts (impressions, likes, replies, reposts ...) of the given items."""
        ...

"""Ingest: fetch → dedupe → upsert → advance the bookmark, one transaction per page.

Exactly once: mentions are upserted on (platform, external_id), and a stream's
bookmark is written in the same transaction as the mentions it covers. A crash
at any point leaves the database at the end of some page; the next run resumes
from there, and a page seen twice is stored once.

Failures are sorted by the connectors into :mod:`desk.errors`: Retriable ones are
retried with capped, jittered exponential backoff (honouring the network's reset
time when it gives one), then recorded on the stream; NeedsReauth marks the
account and stops only that account's streams; Fatal stops only that stream.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from desk.config import Settings, get_settings
from desk.connectors.base import Connector
from desk.domain import Platform
from desk.errors import DeskError, Fatal, NeedsReauth, PostingBlocked, RateLimited, Retriable
from desk.logs import scrub
from desk.store.engine import transaction
from desk.store.mentions import ensure_account, upsert_mentions
from desk.store.sync import load_state, mark_stream_ok, record_stream_error, save_state, set_account_status

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int], None]


@dataclass
class StreamResult:
    stream: str
    platform: Platform
    new: int = 0
    pages: int = 0
    error: str | None = None


@dataclass
class PullReport:
    streams: list[StreamResult] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(s.new for s in self.streams)

    @property
    def errors(self) -> list[str]:
        return [f"{s.stream}: {s.error}" for s in self.streams if s.error]


def backoff_wait(settings: Settings) -> Callable[[RetryCallState], float]:
    """Capped exponential backoff with full jitter; a network-given reset time wins (capped)."""
    cap = settings.retry_max_wait_seconds

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(cap, exc.retry_after + random.uniform(0, 0.25))
        base = min(cap, 0.5 * (2 ** (state.attempt_number - 1)))
        return random.uniform(base / 2, base)

    return wait


def drain_stream(
    engine: Engine,
    connector: Connector,
    stream: str,
    *,
    account_id: int,
    settings: Settings,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamResult:
    result = StreamResult(stream=stream, platform=connector.platform)
    own_id = connector.account_key()
    retrying = Retrying(
        retry=retry_if_exception_type(Retriable),
        stop=stop_after_attempt(max(1, settings.retry_attempts)),
        wait=backoff_wait(settings),
        sleep=sleep,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            # Each attempt restarts from the last committed bookmark.
            with transaction(engine) as s:
                state = load_state(s, stream)
            for page in connector.fetch_pages(stream, state):
                with transaction(engine, replayable=True) as s:
                    new = upsert_mentions(s, page.mentions, account_id=account_id, own_author_id=own_id)
                    save_state(s, stream, connector.platform, page.state, new)
                result.new += new
                result.pages += 1
                if progress is not None:
                    progress(stream, new)
    return result


def pull_all(
    engine: Engine,
    connectors: dict[Platform, Connector],
    *,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PullReport:
    """Drain every stream of every enabled connector once."""
    settings = settings or get_settings()
    report = PullReport()
    for platform, connector in connectors.items():
        try:
            account_key = connector.account_key()
            streams = connector.streams()
        except DeskError as exc:
            message = _plain(exc)
            if isinstance(exc, NeedsReauth):
                set_account_status(engine, platform, _safe_key(connector), "needs_reauth", message)
            report.streams.append(
                StreamResult(stream=f"{platform.value}:account", platform=platform, error=message)
            )
            continue
        with transaction(engine) as s:
            account_id = ensure_account(s, platform, account_key)
        reauth = False
        for stream in streams:
            try:
                result = drain_stream(
                    engine,
                    connector,
                    stream,
                    account_id=account_id,
                    settings=settings,
                    progress=progress,
                    sleep=sleep,
                )
                mark_stream_ok(engine, stream, platform)
            except NeedsReauth as exc:
                message = _plain(exc)
                set_account_status(engine, platform, account_key, "needs_reauth", message)
                record_stream_error(engine, stream, platform, message)
                report.streams.append(StreamResult(stream=stream, platform=platform, error=message))
                reauth = True
                break
            except (Retriable, Fatal, PostingBlocked) as exc:
                message = _plain(exc)
                if isinstance(exc, Retriable):
                    message += " Gave up for now; the next pull resumes from the last stored point."
                record_stream_error(engine, stream, platform, message)
                report.streams.append(StreamResult(stream=stream, platform=platform, error=message))
                continue
            report.streams.append(result)
        if not reauth:
            set_account_status(
                engine, platform, account_key, "ok", None, only_from=("ok", "needs_reauth", "error")
            )
    return report


def _plain(exc: BaseException) -> str:
    return scrub(str(exc))


def _safe_key(connector: Connector) -> str:
    try:
        return connector.account_key()
    except DeskError:
        return "unknown"

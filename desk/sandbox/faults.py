"""Injected faults: which requests get a broken answer, and how many times.

``inject("rate_limit", path="/2/users/*/mentions", times=2, reset_in=3)`` makes the next two
requests whose path matches the glob get that fault; then normal service resumes. Each fault
acts at one stage of answering a request:

- ``pre``: instead of the normal answer (errors, 429s, HTML 502 pages, sleeps before answering);
- ``paging``: while a list endpoint builds a page (repeated cursors, duplicated items, short pages);
- ``post``: on the normal answer's bytes (broken JSON, cut-off body, missing content-type).

A fault is only used up by a request it can act on: a paging fault waits for a list request
that continues from a cursor, a posting fault waits for a POST.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

Stage = Literal["pre", "paging", "post"]

COMMON_FAULTS: dict[str, Stage] = {
    "server_error": "pre",
    "html_502": "pre",
    "timeout": "pre",
    "malformed_json": "post",
    "truncated_body": "post",
    "no_content_type": "post",
    "repeat_cursor": "paging",
    "duplicate_item": "paging",
    "short_page": "paging",
}
X_FAULTS: dict[str, Stage] = {
    **COMMON_FAULTS,
    "rate_limit": "pre",
    "rate_limit_text": "pre",
    "rate_limit_no_headers": "pre",
    "rate_limit_retry_after": "pre",
    "unauthorized": "pre",
    "duplicate_content": "pre",
    "usage_capped": "pre",
}
GRAPH_FAULTS: dict[str, Stage] = {
    **COMMON_FAULTS,
    "token_expired": "pre",
    "token_invalidated": "pre",
    "throttle": "pre",
    "posting_blocked": "pre",
    "duplicate_post": "pre",
    "permission": "pre",
}
# Faults that only make sense on a request that creates something.
POST_ONLY = {"duplicate_content", "posting_blocked", "duplicate_post"}
# Paging faults that need a request continuing from a cursor (the "next page").
CONTINUATION_ONLY = {"repeat_cursor", "duplicate_item"}
THROTTLE_CODES = {4, 17, 32, 613}


class FaultError(ValueError):
    """A fault request that cannot be honoured (unknown name, bad parameter)."""


@dataclass
class Fault:
    name: str
    path: str
    times: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def stage(self) -> Stage:
        return {**X_FAULTS, **GRAPH_FAULTS}[self.name]

    def as_dict(self) -> dict[str, Any]:
        return {"fault": self.name, "path": self.path, "times": self.times, **self.params}


class FaultPlan:
    """Thread-safe list of pending faults for one network."""

    def __init__(self, known: dict[str, Stage]) -> None:
        self._known = known
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[str, str]] = []  # (fault, path) of every fault applied, for tests

    def inject(self, fault: str, *, path: str = "*", times: int = 1, **params: Any) -> Fault:
        if fault not in self._known:
            raise FaultError(f"unknown fault {fault!r}; known: {', '.join(sorted(self._known))}")
        if not isinstance(times, int) or times < 1:
            raise FaultError("times must be a whole number of at least 1")
        if fault == "throttle":
            code = int(params.get("code", 4))
            if code not in THROTTLE_CODES:
                raise FaultError(f"throttle code must be one of {sorted(THROTTLE_CODES)}")
            params["code"] = code
        if fault == "timeout":
            params["seconds"] = float(params.get("seconds", 5.0))
        if fault in {"rate_limit", "rate_limit_text"}:
            params["reset_in"] = float(params.get("reset_in", 2.0))
        if fault == "rate_limit_retry_after":
            params["retry_after"] = int(params.get("retry_after", params.get("seconds", 2)))
        item = Fault(fault, path or "*", times, params)
        with self._lock:
            self._faults.append(item)
        return item

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def take(self, stage: Stage, method: str, path: str, *, continuation: bool = False) -> Fault | None:
        """The first pending fault of ``stage`` that applies to this request, used up once."""
        with self._lock:
            for item in self._faults:
                if item.stage != stage or not fnmatch.fnmatchcase(path, item.path):
                    continue
                if item.name in POST_ONLY and method != "POST":
                    continue
                if item.name in CONTINUATION_ONLY and not continuation:
                    continue
                item.times -= 1
                if item.times <= 0:
                    self._faults.remove(item)
                self.fired.append((item.name, path))
                return Fault(item.name, item.path, 1, dict(item.params))
        return None

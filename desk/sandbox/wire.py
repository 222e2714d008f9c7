"""HTTP plumbing shared by both stand-ins: request/response values, the threaded server, wire faults.

Each network (X, Graph) is an ``App`` that turns a :class:`Request` into a :class:`Response`.
The server here only moves bytes; the one exception is :data:`TRUNCATE`, a response the
server must send half of before dropping the connection (a body cut off mid-transfer is a
transport event, so the app cannot express it as a normal response).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

JSON_X = "application/json; charset=utf-8"
JSON_GRAPH = "application/json; charset=UTF-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @property
    def form(self) -> dict[str, str]:
        """Form-encoded body fields (facebook-sdk POSTs ``message`` and ``access_token`` this way)."""
        ctype = self.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" not in ctype or not self.body:
            return {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json_body(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Wire-level behaviour the server applies while sending (see module docstring).
    truncate: bool = False

    @classmethod
    def json(
        cls, status: int, payload: Any, content_type: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        try:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate has no UTF-8 form; JSON's \uXXXX escape carries it as text.
            body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        out = {"content-type": content_type}
        out.update(headers or {})
        return cls(status, body, out)

    @classmethod
    def text(
        cls, status: int, text: str, content_type: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        out = {"content-type": content_type}
        out.update(headers or {})
        return cls(status, text.encode("utf-8"), out)


class App(Protocol):
    def handle(self, request: Request) -> Response: ...


def parse_request_target(target: str) -> tuple[str, str, dict[str, str]]:
    """Path, raw query and a flat query dict (last value wins) from a request line target.

    Accepts absolute-form targets too (``https://api.twitter.com/2/...``), so either host works.
    """
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return parts.path or "/", parts.query, query


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms a request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests and the CLI print what matters themselves

    def _serve(self) -> None:
        path, raw_query, query = parse_request_target(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            path=path,
            query=query,
            raw_query=raw_query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app.handle(request)
        except Exception as exc:  # noqa: BLE001 - a stand-in bug must still answer, not hang the client
            response = Response.text(
                500, f"sandbox internal error: {type(exc).__name__}: {exc}\n", "text/plain"
            )
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout fired during a ``timeout`` fault): nobody to answer.
            self.close_connection = True

    def _write(self, response: Response) -> None:
        self.send_response_only(response.status)
        self.send_header("date", self.date_time_string())
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if response.truncate:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.truncate:
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)


class ServerThread:
    """One app served on ``host:port`` (0 = a free port) in a background thread."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), app)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"sandbox-{self.port}",
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class RequestLog:
    """The last ``maxlen`` requests as ``(method, path, query)``; thread-safe."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._items: deque[tuple[str, str, dict[str, str]]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, request: Request) -> None:
        with self._lock:
            self._items.append((request.method, request.path, dict(request.query)))

    def snapshot(self) -> list[tuple[str, str, dict[str, str]]]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# ---------------------------------------------------------------- time and ids

TWITTER_EPOCH_MS = 1288834974657


def now() -> float:
    return time.time()


def x_time(epoch: float) -> str:
    """X v2 ``created_at``: ``2022-10-07T18:49:06.000Z`` (the API always sends .000)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def graph_time(epoch: float) -> str:
    """Graph ``created_time``: ``2021-08-10T18:45:03+0000``."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_x_time(value: str) -> float:
    """RFC 3339 as X accepts it in ``start_time``/``end_time`` (``Z`` or an offset)."""
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_graph_time(value: str) -> float:
    """Graph ``since``/``until``: unix seconds or an ISO/strtotime-like date."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return float(int(text))
    text = text.replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class SnowflakeIds:
    """X-style ids: time-ordered, so ``since_id`` works exactly as on the real network."""

    def __init__(self, worker: int = 7) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._seq = 0
        self._worker = worker & 0x3FF

    def for_time(self, epoch: float) -> str:
        ms = int(epoch * 1000)
        with self._lock:
            if ms <= self._last_ms:
                # Same or earlier millisecond: stay strictly increasing for items made in order.
                ms = self._last_ms
                self._seq += 1
                if self._seq > 0xFFF:
                    ms += 1
                    self._seq = 0
            else:
                self._seq = 0
            self._last_ms = ms
            return str(((ms - TWITTER_EPOCH_MS) << 22) | (self._worker << 12) | self._seq)

    def unordered_for_time(self, epoch: float, seq: int) -> str:
        """An id for a pre-scheduled item; ``seq`` makes ids in the same millisecond distinct."""
        ms = int(epoch * 1000)
        return str(((ms - TWITTER_EPOCH_MS) << 22) | (self._worker << 12) | (seq & 0xFFF))


def snowflake_time(tweet_id: str) -> float:
    return ((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000.0


Handler = Callable[[Request], Response]

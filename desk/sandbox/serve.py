"""``python -m desk sandbox``: run both stand-ins in the foreground until Ctrl-C."""

from __future__ import annotations

import math
import shlex
import threading
from collections.abc import Callable
from typing import Literal

from desk.sandbox import SandboxNetworks


def serve_forever(
    host: str = "127.0.0.1",
    x_port: int = 8701,
    graph_port: int = 8702,
    speed: float = 60.0,
    incident: Literal["demo"] | None = "demo",
    start_offset_seconds: float = 0.0,
    echo: Callable[[str], None] = print,
    stop_event: threading.Event | None = None,
) -> None:
    """Start the networks, print where they are and how to point a desk at them, block until stopped.

    ``stop_event`` lets a caller (a test) end the loop; Ctrl-C ends it from a terminal.
    """
    try:
        nets = SandboxNetworks.start(
            host=host,
            x_port=x_port,
            graph_port=graph_port,
            incident=incident,
            speed=speed,
            start_offset_seconds=start_offset_seconds,
        )
    except OSError as exc:
        raise SystemExit(
            f"Error: cannot listen on {host} ports {x_port}/{graph_port}: {exc.strerror or exc}"
        ) from None
    stop = stop_event or threading.Event()
    try:
        echo(f"X API v2 sandbox:  {nets.x_base_url}")
        echo(f"Graph API sandbox: {nets.graph_base_url}")
        pace = "everything at once" if math.isinf(speed) else f"{speed:g} incident seconds per second"
        echo(f"Incident: {incident or 'none'} ({pace})")
        echo("Point a desk at it with:")
        for key, value in nets.env().items():
            echo(f"export {key}={shlex.quote(value)}")
        echo("Control: GET /_sandbox/state, POST /_sandbox/faults on either server. Ctrl-C stops.")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        echo("Stopping the sandbox.")
    finally:
        nets.stop()

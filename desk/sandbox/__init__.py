"""Local stand-ins for the X API v2 and the Graph API, for the demo, drills and tests.

    from desk.sandbox import SandboxNetworks, DEMO_CREDENTIALS
    with SandboxNetworks.start(incident="demo", speed=60.0) as nets:
        nets.env()          # DESK_* settings that point a desk at these servers
        nets.x.faults.inject("rate_limit", path="/2/users/*/mentions", times=2, reset_in=3)

Two HTTP servers on 127.0.0.1 speak the real wire formats (see tests/fixtures/recorded):
X on ``x_base_url`` (``/2/users/me``, ``/2/users/:id/mentions``, ``/2/tweets/search/recent``,
``/2/tweets`` GET/POST, ``/2/tweets/:id`` GET/DELETE) and Graph on ``graph_base_url``
(``/vNN.N/me``, ``/{page}``, ``/{page}/feed|posts|visitor_posts``, ``/{post}/comments`` GET/POST,
``/{object}``, ``/{page|post}/insights``). The connectors reach them through a requests adapter
that rewrites ``https://api.twitter.com`` / ``https://graph.facebook.com`` to these URLs, so
user-context X requests are checked against OAuth 1.0a signatures made for the public host.

Incident time: with ``incident="demo"`` the bundled Nimbus Voice DNS outage (data/demo) plays
out at ``speed`` incident-seconds per real second, starting ``start_offset_seconds`` in; an item
appears when its offset is reached and carries that real moment as its timestamp
(``speed=float("inf")`` shows everything at once). ``incident=None`` starts empty.

Faults (``nets.x.faults`` / ``nets.graph.faults``): ``inject(name, path=glob, times=n, **params)``,
``clear()``. Both: server_error, html_502, timeout(seconds=5), malformed_json, truncated_body,
no_content_type, repeat_cursor, duplicate_item, short_page. X: rate_limit(reset_in=2),
rate_limit_text(reset_in=2), rate_limit_no_headers, rate_limit_retry_after(retry_after=2),
unauthorized, duplicate_content, usage_capped. Graph: token_expired, token_invalidated,
throttle(code=4|17|32|613), posting_blocked, duplicate_post, permission.

Knobs for tests: ``nets.x.rate_limits_enforced = True`` answers 429 once a 15-minute window is
spent (off by default: the headers count, a long demo is never cut off);
``nets.x.mentions_reachable_limit = 800`` mimics the real timeline's reach (default: no cap, so a
20,000-mention benchmark can page through everything). ``DEMO_CREDENTIALS["fb_user_token"]`` is a
token without MODERATE on the Page: comment ids and authors are hidden and posting is refused.
``bulk_generate(n, seed)`` on either network adds ``n`` visible items from the real-text pool.

Control from another process (``python -m desk sandbox``, end-to-end tests), on each server:

    GET  /_sandbox/state          JSON: counts, pending faults, posted replies
    GET  /_sandbox/posted         JSON: {"posted": [...]} what the desk posted
    POST /_sandbox/faults         JSON body {"fault": name, "path": glob, "times": n, ...params}
    POST /_sandbox/faults/clear   drop every pending fault
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any, Literal

from desk.sandbox.clock import IncidentClock
from desk.sandbox.graphapi import GraphApi, GraphCredentials
from desk.sandbox.graphnet import GraphNetwork
from desk.sandbox.oauth1 import OAuth1Keys
from desk.sandbox.wire import ServerThread
from desk.sandbox.xapi import XApi, XCredentials
from desk.sandbox.xnet import XNetwork

__all__ = ["DEMO_CREDENTIALS", "GraphNetwork", "SandboxNetworks", "XNetwork", "serve_forever"]

# Sandbox-only secrets: accepted by these servers and nowhere else.
DEMO_CREDENTIALS: dict[str, str] = {
    "x_bearer_token": "AAAAAAAAAAAAAAAAAAAAASandboxBearer0NimbusVoice0OutageDesk",
    "x_consumer_key": "sbxConsumerKey0NimbusVoice",
    "x_consumer_secret": "sbxConsumerSecret0NimbusVoice0OutageDesk0Sandbox",
    "x_access_token": "1580000000000000001-sbxAccessToken0NimbusVoice",
    "x_access_token_secret": "sbxAccessTokenSecret0NimbusVoice0OutageDesk",
    "fb_page_token": "EAASandboxPageToken0NimbusVoice0OutageDesk0ZD",
    # A user token without MODERATE on the Page: comment ids/authors hidden, no posting.
    "fb_user_token": "EAASandboxUserToken0NoModerate0ZD",
}
GRAPH_API_VERSION = "v19.0"
DEFAULT_SEARCH_QUERY = "@NimbusVoice -is:retweet"


class SandboxNetworks:
    """The X and Graph stand-ins running together on one incident clock."""

    def __init__(
        self, x: XNetwork, graph: GraphNetwork, x_server: ServerThread, graph_server: ServerThread
    ) -> None:
        self.x = x
        self.graph = graph
        self._x_server = x_server
        self._graph_server = graph_server
        self.clock = x.clock

    @classmethod
    def start(
        cls,
        host: str = "127.0.0.1",
        x_port: int = 0,
        graph_port: int = 0,
        incident: Literal["demo"] | None = "demo",
        speed: float = 60.0,
        start_offset_seconds: float = 0.0,
    ) -> SandboxNetworks:
        if incident not in ("demo", None):
            raise ValueError(f'incident must be "demo" or None, not {incident!r}')
        clock = IncidentClock(speed=float(speed), start_offset=float(start_offset_seconds))
        x = XNetwork(clock)
        graph = GraphNetwork(clock)
        if incident == "demo":
            from desk.sandbox.demo import incident_horizon, load_incident, load_into

            data = load_incident()
            clock.horizon = incident_horizon(data)
            load_into(data, x, graph)
        x_api = XApi(
            x,
            XCredentials(
                bearer_token=DEMO_CREDENTIALS["x_bearer_token"],
                oauth=OAuth1Keys(
                    DEMO_CREDENTIALS["x_consumer_key"],
                    DEMO_CREDENTIALS["x_consumer_secret"],
                    DEMO_CREDENTIALS["x_access_token"],
                    DEMO_CREDENTIALS["x_access_token_secret"],
                ),
            ),
        )
        graph_api = GraphApi(
            graph, GraphCredentials(DEMO_CREDENTIALS["fb_page_token"], DEMO_CREDENTIALS["fb_user_token"])
        )
        x_server = ServerThread(x_api, host, x_port)
        try:
            graph_server = ServerThread(graph_api, host, graph_port)
        except OSError:
            x_server.stop()
            raise
        x_server.start()
        graph_server.start()
        return cls(x, graph, x_server, graph_server)

    @property
    def x_base_url(self) -> str:
        return self._x_server.base_url

    @property
    def graph_base_url(self) -> str:
        return self._graph_server.base_url

    def env(self) -> dict[str, str]:
        """DESK_* settings that point a desk at these servers with the sandbox credentials."""
        return {
            "DESK_X_API_BASE": self.x_base_url,
            "DESK_GRAPH_API_BASE": self.graph_base_url,
            "DESK_X_BEARER_TOKEN": DEMO_CREDENTIALS["x_bearer_token"],
            "DESK_X_CONSUMER_KEY": DEMO_CREDENTIALS["x_consumer_key"],
            "DESK_X_CONSUMER_SECRET": DEMO_CREDENTIALS["x_consumer_secret"],
            "DESK_X_ACCESS_TOKEN": DEMO_CREDENTIALS["x_access_token"],
            "DESK_X_ACCESS_TOKEN_SECRET": DEMO_CREDENTIALS["x_access_token_secret"],
            "DESK_X_USER_ID": self.x.desk_user_id,
            "DESK_X_SEARCH_QUERY": DEFAULT_SEARCH_QUERY,
            "DESK_GRAPH_API_VERSION": GRAPH_API_VERSION,
            "DESK_FB_PAGE_ID": self.graph.page_id,
            "DESK_FB_PAGE_TOKEN": DEMO_CREDENTIALS["fb_page_token"],
        }

    def incident_elapsed(self) -> float:
        """Incident seconds reached so far (``inf`` when everything is shown at once)."""
        return self.clock.elapsed()

    def stop(self) -> None:
        self._x_server.stop()
        self._graph_server.stop()

    def __enter__(self) -> SandboxNetworks:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def describe(self) -> dict[str, Any]:
        return {
            "x_base_url": self.x_base_url,
            "graph_base_url": self.graph_base_url,
            "speed": "inf" if math.isinf(self.clock.speed) else self.clock.speed,
            "x": self.x.counts(),
            "graph": self.graph.counts(),
        }


def serve_forever(*args: Any, **kwargs: Any) -> None:
    from desk.sandbox.serve import serve_forever as _serve

    _serve(*args, **kwargs)

"""The sandbox networks reached through the real libraries over real HTTP.

tweepy always calls https://api.twitter.com and facebook-sdk https://graph.facebook.com; a
requests adapter mounted on their sessions sends those requests to the local servers (the
same seam the desk's connectors use; the library code is not touched).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import facebook
import pytest
import requests
import tweepy
from requests.adapters import HTTPAdapter

from desk.sandbox import DEMO_CREDENTIALS, SandboxNetworks

RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "recorded"


class RewriteAdapter(HTTPAdapter):
    """Sends a public-host request to ``base`` (same path and query) with a timeout."""

    def __init__(self, base: str, timeout: float = 5.0) -> None:
        super().__init__(max_retries=0)
        self._base = urlsplit(base)
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)


def x_client(nets: SandboxNetworks, *, timeout: float = 5.0, **overrides: str) -> tweepy.Client:
    creds = {
        "bearer_token": DEMO_CREDENTIALS["x_bearer_token"],
        "consumer_key": DEMO_CREDENTIALS["x_consumer_key"],
        "consumer_secret": DEMO_CREDENTIALS["x_consumer_secret"],
        "access_token": DEMO_CREDENTIALS["x_access_token"],
        "access_token_secret": DEMO_CREDENTIALS["x_access_token_secret"],
    }
    creds.update(overrides)
    client = tweepy.Client(**creds, wait_on_rate_limit=False)
    adapter = RewriteAdapter(nets.x_base_url, timeout)
    client.session.mount("https://api.twitter.com", adapter)
    client.session.mount("https://api.x.com", adapter)
    client.session.trust_env = False
    return client


def graph_client(
    nets: SandboxNetworks, token: str | None = None, *, timeout: float = 5.0
) -> facebook.GraphAPI:
    session = requests.Session()
    session.trust_env = False
    session.mount("https://graph.facebook.com", RewriteAdapter(nets.graph_base_url, timeout))
    graph = facebook.GraphAPI(
        access_token=token or DEMO_CREDENTIALS["fb_page_token"], timeout=timeout, session=session
    )
    graph.version = "v19.0"  # facebook-sdk's constructor only accepts 2.8-3.1; setting it afterwards works
    return graph


@pytest.fixture
def nets() -> Iterator[SandboxNetworks]:
    with SandboxNetworks.start(incident=None) as networks:
        yield networks


@pytest.fixture
def x(nets: SandboxNetworks) -> tweepy.Client:
    return x_client(nets)


@pytest.fixture
def graph(nets: SandboxNetworks) -> facebook.GraphAPI:
    return graph_client(nets)


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def add_customers(
    nets: SandboxNetworks,
    n: int,
    *,
    text: str = "@NimbusVoice is it down for everyone? #{i}",
    start: float | None = None,
) -> list[str]:
    """``n`` mentions by a handful of customers, oldest first; returns their ids."""
    import time

    base = start if start is not None else time.time() - n - 10
    for k in range(5):
        nets.x.add_user(str(5000 + k), f"customer{k}", f"Customer {k}", followers_count=10**k)
    return [
        nets.x.add_tweet(text.format(i=i), str(5000 + i % 5), created_at=base + i)["id"] for i in range(n)
    ]

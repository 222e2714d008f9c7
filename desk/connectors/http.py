"""HTTP sessions for the network libraries: timeouts and base-URL transport.

tweepy always calls ``https://api.twitter.com`` and facebook-sdk always calls
``https://graph.facebook.com``; neither sets a timeout. Both accept a
``requests.Session``, so we mount an adapter on it that (a) gives every request
a timeout and (b) when the settings name another base URL (the sandbox), sends
the request there instead. No library code is patched: this is the transport
seam requests offers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

X_PUBLIC_BASES = ("https://api.twitter.com", "https://api.x.com")
GRAPH_PUBLIC_BASES = ("https://graph.facebook.com",)


class BaseURLAdapter(HTTPAdapter):
    """Sends requests for a public API host to ``target_base`` (if given) with a timeout."""

    def __init__(self, target_base: str | None, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout
        self._target = urlsplit(target_base.rstrip("/")) if target_base else None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self._target is not None and request.url:
            parts = urlsplit(request.url)
            path = self._target.path + parts.path
            request.url = urlunsplit((self._target.scheme, self._target.netloc, path, parts.query, ""))
        return super().send(request, **kwargs)


def mount_transport(
    session: requests.Session, public_bases: tuple[str, ...], target_base: str, timeout: float
) -> requests.Session:
    """Make ``session``'s requests to ``public_bases`` carry a timeout and go to ``target_base``."""
    session.trust_env = _trust_env_for(target_base)
    rewrite = None if target_base.rstrip("/") in public_bases else target_base
    adapter = BaseURLAdapter(rewrite, timeout)
    for base in public_bases:
        session.mount(base, adapter)
    return session


def session_for(public_bases: tuple[str, ...], target_base: str, timeout: float) -> requests.Session:
    """A new session with our transport mounted (for libraries that accept one)."""
    return mount_transport(requests.Session(), public_bases, target_base, timeout)


def _trust_env_for(target_base: str) -> bool:
    # A proxy from the environment must never carry loopback traffic to the sandbox.
    host = urlsplit(target_base).hostname or ""
    return host not in {"127.0.0.1", "localhost", "::1"}

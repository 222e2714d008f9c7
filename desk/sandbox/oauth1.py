"""OAuth 1.0a HMAC-SHA1 signature check for X user-context requests (RFC 5849 §3.4).

tweepy signs against ``https://api.twitter.com`` + path before the transport adapter
rewrites the URL to the sandbox, so the base string is rebuilt with the public host, not
the local one. The JSON body of ``POST /2/tweets`` is not signed; query parameters and
form-encoded body parameters are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

PUBLIC_HOSTS = ("https://api.twitter.com", "https://api.x.com")
MAX_CLOCK_SKEW_SECONDS = 15 * 60


def _enc(value: str) -> str:
    return quote(value, safe="~-._")


@dataclass(frozen=True)
class OAuth1Keys:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str


def parse_authorization(header: str) -> dict[str, str] | None:
    """``OAuth k="v", ...`` → dict, or None when the header is not OAuth 1."""
    if not header or not header[:6].lower() == "oauth ":
        return None
    params: dict[str, str] = {}
    for part in header[6:].split(","):
        part = part.strip()
        if not part or "=" not in part:
            continue
        key, _, value = part.partition("=")
        params[unquote(key.strip())] = unquote(value.strip().strip('"'))
    return params


def signature_base_string(method: str, base_url: str, params: list[tuple[str, str]]) -> str:
    encoded = sorted((_enc(k), _enc(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join([_enc(method.upper()), _enc(base_url), _enc(normalized)])


def sign(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()


def verify(
    method: str,
    path: str,
    query_pairs: list[tuple[str, str]],
    form_pairs: list[tuple[str, str]],
    authorization: str,
    keys: OAuth1Keys,
    *,
    now: float | None = None,
) -> str | None:
    """None when the request is correctly signed by ``keys``; otherwise why not (for logs and tests)."""
    oauth = parse_authorization(authorization)
    if oauth is None:
        return "no OAuth 1.0a Authorization header"
    if oauth.get("oauth_signature_method") != "HMAC-SHA1":
        return "unsupported signature method"
    if oauth.get("oauth_consumer_key") != keys.consumer_key:
        return "unknown consumer key"
    if oauth.get("oauth_token") != keys.access_token:
        return "unknown access token"
    try:
        stamp = int(oauth.get("oauth_timestamp", ""))
    except ValueError:
        return "bad timestamp"
    if abs((now if now is not None else time.time()) - stamp) > MAX_CLOCK_SKEW_SECONDS:
        return "timestamp out of range"
    sent = oauth.get("oauth_signature", "")
    oauth_pairs = [(k, v) for k, v in oauth.items() if k.startswith("oauth_") and k != "oauth_signature"]
    params = list(query_pairs) + list(form_pairs) + oauth_pairs
    for host in PUBLIC_HOSTS:
        base = signature_base_string(method, host + path, params)
        expected = sign(base, keys.consumer_secret, keys.access_token_secret)
        if hmac.compare_digest(expected, sent):
            return None
    return "signature mismatch"

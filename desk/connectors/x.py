"""X (Twitter) API v2 through tweepy: mentions, keyword search, replies, metrics.

Reading uses the app bearer token; posting and ``/2/users/me`` use the account's
OAuth 1.0a keys. tweepy's own rate-limit sleeping is off (``wait_on_rate_limit=False``):
it retries uncapped and by recursion, so 429s are sorted into
:class:`desk.errors.RateLimited` here and ingest backs off itself.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import tweepy

from desk.config import Settings
from desk.connectors.http import X_PUBLIC_BASES, mount_transport
from desk.domain import Author, Mention, MentionKind, MetricReading, Page, Platform, PostedReply
from desk.errors import AlreadyPosted, DeskError, Fatal, NeedsReauth, RateLimited, Retriable, clip

log = logging.getLogger(__name__)

T = TypeVar("T")

TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "public_metrics",
    "lang",
    "entities",
]
USER_FIELDS = ["username", "name", "public_metrics"]
EXPANSIONS = ["author_id"]
METRIC_NAMES = (
    "impression_count",
    "like_count",
    "reply_count",
    "retweet_count",
    "quote_count",
    "bookmark_count",
)


def sort_x_error(exc: BaseException) -> DeskError:
    """Turn anything tweepy or requests raised into the desk's error tree, in plain words."""
    if isinstance(exc, DeskError):
        return exc
    if isinstance(exc, tweepy.TooManyRequests):
        return RateLimited(
            "X is rate limiting the desk; it will try again shortly.", _retry_after(exc.response)
        )
    if isinstance(exc, tweepy.Unauthorized):
        return NeedsReauth("X rejected the desk's credentials (401). Reconnect the X account in Settings.")
    if isinstance(exc, tweepy.Forbidden):
        detail = " ".join(exc.api_messages) or str(exc)
        if "duplicate content" in detail.lower():
            return AlreadyPosted("X says this exact reply was already posted.")
        if "usage-capped" in detail.lower() or "usagecapexceeded" in detail.lower():
            return RateLimited("The X plan's monthly usage cap is reached.", None)
        return Fatal(f"X refused the request: {clip(detail)}")
    if isinstance(exc, tweepy.TwitterServerError):
        return Retriable(f"X had a server error ({exc.response.status_code}); the desk will retry.")
    if isinstance(exc, (tweepy.BadRequest, tweepy.NotFound, tweepy.HTTPException)):
        detail = " ".join(getattr(exc, "api_messages", []) or []) or str(exc)
        return Fatal(f"X refused the request: {clip(detail)}")
    if isinstance(exc, requests.exceptions.Timeout):
        return Retriable("X did not answer in time; the desk will retry.")
    if isinstance(exc, requests.exceptions.JSONDecodeError | ValueError):
        return Retriable("X sent a broken answer (not valid JSON); the desk will retry.")
    if isinstance(exc, requests.exceptions.RequestException):
        return Retriable("The connection to X failed or was cut off; the desk will retry.")
    return Retriable(f"Unexpected problem talking to X ({type(exc).__name__}); the desk will retry.")


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    headers = response.headers
    if "retry-after" in headers:
        try:
            return max(0.0, float(headers["retry-after"]))
        except ValueError:
            return None
    if "x-rate-limit-reset" in headers:
        try:
            return max(0.0, float(headers["x-rate-limit-reset"]) - time.time())
        except ValueError:
            return None
    return None


def parse_x_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def mention_from_tweet(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> Mention:
    """Map one v2 tweet (and its expanded author) to a desk Mention; the text is kept as received."""
    author_id = tweet.get("author_id")
    user = users.get(author_id) if author_id else None
    author = None
    if author_id:
        followers = None
        if user and isinstance(user.get("public_metrics"), dict):
            followers = user["public_metrics"].get("followers_count")
        author = Author(
            platform=Platform.X,
            external_id=str(author_id),
            handle=(user or {}).get("username"),
            name=(user or {}).get("name"),
            followers=int(followers) if followers is not None else None,
        )
    replied_to = None
    for ref in tweet.get("referenced_tweets") or []:
        if ref.get("type") == "replied_to":
            replied_to = str(ref.get("id"))
    metrics = {
        k: int(v)
        for k, v in (tweet.get("public_metrics") or {}).items()
        if isinstance(v, (int, str)) and str(v).isdigit()
    }
    handle = author.handle if author else None
    tweet_id = str(tweet["id"])
    permalink = (
        f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}"
    )
    raw = {"tweet": tweet}
    if user:
        raw["author"] = user
    return Mention(
        platform=Platform.X,
        external_id=tweet_id,
        kind=MentionKind.REPLY if replied_to else MentionKind.TWEET,
        text=str(tweet.get("text", "")),
        created_at=parse_x_time(tweet["created_at"]) if tweet.get("created_at") else datetime.now(UTC),
        author=author,
        parent_external_id=replied_to,
        conversation_id=str(tweet["conversation_id"]) if tweet.get("conversation_id") else None,
        lang=tweet.get("lang"),
        permalink=permalink,
        metrics=metrics,
        raw=raw,
    )


class XConnector:
    """The X account the desk speaks for."""

    platform = Platform.X

    def __init__(self, settings: Settings) -> None:
        if settings.x_bearer_token is None:
            raise Fatal("X is not configured: set DESK_X_BEARER_TOKEN.")
        self.settings = settings
        secret = lambda s: s.get_secret_value() if s is not None else None  # noqa: E731
        self.client = tweepy.Client(
            bearer_token=secret(settings.x_bearer_token),
            consumer_key=secret(settings.x_consumer_key),
            consumer_secret=secret(settings.x_consumer_secret),
            access_token=secret(settings.x_access_token),
            access_token_secret=secret(settings.x_access_token_secret),
            return_type=dict,
            wait_on_rate_limit=False,
        )
        # tweepy builds its own session; give it our transport (timeout + base URL).
        mount_transport(
            self.client.session, X_PUBLIC_BASES, settings.x_api_base, settings.http_timeout_seconds
        )
        self._user_id = settings.x_user_id

    # -- helpers ---------------------------------------------------------------------------
    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted into the desk's tree right here
            raise sort_x_error(exc) from None

    def account_key(self) -> str:
        if self._user_id is None:
            if not self.settings.x_write_enabled:
                raise Fatal(
                    "Set DESK_X_USER_ID, or the X OAuth keys so the desk can look up its own account."
                )
            me = self._call(self.client.get_me, user_fields=["username", "name"], user_auth=True)
            data = me.get("data") or {}
            if not data.get("id"):
                raise Retriable("X did not say which account these keys belong to; the desk will retry.")
            self._user_id = str(data["id"])
        return self._user_id

    def streams(self) -> list[str]:
        names = [f"x:mentions:{self.account_key()}"]
        if self.settings.x_search_query:
            digest = hashlib.sha1(self.settings.x_search_query.encode()).hexdigest()[:10]
            names.append(f"x:search:{digest}")
        return names

    # -- reading ---------------------------------------------------------------------------
    def fetch_pages(self, stream: str, state: dict[str, Any]) -> Iterator[Page]:
        """Newest-first pages since ``state['since_id']``.

        The bookmark (``since_id``) moves only once the walk reaches the end; pages in
        between carry the walk's progress (``pending_newest_id`` and the next token), so
        a crash resumes the walk and never skips what was not stored yet.
        """
        kind = stream.split(":")[1]
        since_id = state.get("since_id")
        pending_newest = state.get("pending_newest_id")
        token = state.get("next_token")
        seen_tokens: set[str] = set()
        size = max(10 if kind == "search" else 5, min(100, self.settings.page_size))
        while True:
            params: dict[str, Any] = {
                "max_results": size,
                "expansions": EXPANSIONS,
                "tweet_fields": TWEET_FIELDS,
                "user_fields": USER_FIELDS,
            }
            if since_id:
                params["since_id"] = since_id
            try:
                body = self._fetch_one(kind, token, params)
            except Fatal:
                if token is None or seen_tokens:
                    raise
                # A walk resumed after a crash may hold a token X no longer honours:
                # start the walk again from the bookmark (upserts make that harmless).
                log.warning("X refused a resumed page token on %s; restarting the walk", stream)
                token = None
                continue
            if not isinstance(body, dict):
                raise Retriable("X sent an answer the desk cannot read; it will retry.")
            tweets = [t for t in body.get("data") or [] if isinstance(t, dict) and t.get("id")]
            users = {
                str(u["id"]): u
                for u in (body.get("includes") or {}).get("users") or []
                if isinstance(u, dict) and u.get("id")
            }
            meta = body.get("meta") or {}
            mentions = [mention_from_tweet(t, users) for t in tweets]
            newest = meta.get("newest_id") or (tweets[0]["id"] if tweets else None)
            if newest and (pending_newest is None or int(newest) > int(pending_newest)):
                pending_newest = str(newest)
            next_token = meta.get("next_token")
            if next_token and (next_token in seen_tokens or next_token == token):
                log.warning("X repeated a page token on %s; stopping the walk there", stream)
                next_token = None
            if next_token and tweets:
                seen_tokens.add(next_token)
                yield Page(
                    mentions,
                    {"since_id": since_id, "pending_newest_id": pending_newest, "next_token": next_token},
                )
                token = next_token
                continue
            final_since = pending_newest or since_id
            yield Page(mentions, {"since_id": final_since} if final_since else {})
            return

    def _fetch_one(self, kind: str, token: str | None, params: dict[str, Any]) -> Any:
        if kind == "mentions":
            if token:
                params["pagination_token"] = token
            return self._call(self.client.get_users_mentions, self.account_key(), **params)
        if token:
            params["next_token"] = token
        return self._call(self.client.search_recent_tweets, self.settings.x_search_query, **params)

    # -- writing ---------------------------------------------------------------------------
    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        if not self.settings.x_write_enabled:
            raise NeedsReauth(
                "X posting is not connected: set the X OAuth 1.0a keys (DESK_X_CONSUMER_KEY ...)."
            )
        body = self._call(
            self.client.create_tweet, text=text, in_reply_to_tweet_id=mention.external_id, user_auth=True
        )
        data = (body or {}).get("data") or {}
        if not data.get("id"):
            raise Retriable(
                "X accepted the reply but did not return its id; check the account before resending."
            )
        tweet_id = str(data["id"])
        return PostedReply(
            platform=Platform.X,
            external_id=tweet_id,
            in_reply_to=mention.external_id,
            text=str(data.get("text", text)),
            permalink=f"https://x.com/i/web/status/{tweet_id}",
        )

    def find_reply(self, mention: Mention, text: str) -> PostedReply | None:
        """Search our recent replies for one to ``mention`` with this text (X keeps 7 days searchable)."""
        wanted = " ".join(text.split())
        token = None
        for _page in range(5):
            params: dict[str, Any] = {
                "max_results": 100,
                "since_id": mention.external_id,
                "tweet_fields": ["referenced_tweets", "in_reply_to_user_id"],
            }
            if token:
                params["next_token"] = token
            body = self._call(
                self.client.search_recent_tweets, f"from:{self.account_key()} is:reply", **params
            )
            for tweet in (body or {}).get("data") or []:
                replied_to = [
                    r.get("id") for r in tweet.get("referenced_tweets") or [] if r.get("type") == "replied_to"
                ]
                if (
                    mention.external_id in replied_to
                    and " ".join(str(tweet.get("text", "")).split()) == wanted
                ):
                    tweet_id = str(tweet["id"])
                    return PostedReply(
                        Platform.X,
                        tweet_id,
                        mention.external_id,
                        text,
                        f"https://x.com/i/web/status/{tweet_id}",
                    )
            token = ((body or {}).get("meta") or {}).get("next_token")
            if not token:
                return None
        return None

    # -- metrics ---------------------------------------------------------------------------
    def fetch_metrics(self, external_ids: Sequence[str]) -> list[MetricReading]:
        readings: list[MetricReading] = []
        ids = [str(i) for i in external_ids]
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            body = self._call(self.client.get_tweets, chunk, tweet_fields=["public_metrics"])
            for tweet in (body or {}).get("data") or []:
                for name, value in (tweet.get("public_metrics") or {}).items():
                    if name in METRIC_NAMES and isinstance(value, int):
                        readings.append(MetricReading(Platform.X, str(tweet["id"]), name, value))
        return readings

"""Facebook Page through facebook-sdk's GraphAPI: feed and visitor posts, comments, replies, metrics.

facebook-sdk 3.1.0 only accepts Graph versions 2.8–3.1 in its constructor; the
version the desk speaks is a setting and is applied in :func:`graph_client`, the
one place that works around that check.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import facebook
import requests

from desk.config import Settings
from desk.connectors.http import GRAPH_PUBLIC_BASES, session_for
from desk.domain import Author, Mention, MentionKind, MetricReading, Page, Platform, PostedReply
from desk.errors import (
    AlreadyPosted,
    DeskError,
    Fatal,
    NeedsReauth,
    PostingBlocked,
    RateLimited,
    Retriable,
    clip,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

POST_FIELDS = (
    "id,message,created_time,from,permalink_url,"
    "comments.summary(true).limit(0),reactions.summary(true).limit(0),shares"
)
COMMENT_FIELDS = "id,from,message,created_time,parent{id},like_count,comment_count,permalink_url"
THROTTLE_CODES = {4, 17, 32, 613}
TRANSIENT_CODES = {1, 2}
POSTS_TO_WATCH = 25


def graph_client(settings: Settings) -> facebook.GraphAPI:
    """A GraphAPI on our transport, speaking ``settings.graph_api_version``.

    The constructor rejects current versions (it knows only 2.8–3.1), so the client is
    built with the default and the version set afterwards: the request path is
    ``version + '/' + id``, which is all the attribute is used for.
    """
    session = session_for(GRAPH_PUBLIC_BASES, settings.graph_api_base, settings.http_timeout_seconds)
    token = settings.fb_page_token.get_secret_value() if settings.fb_page_token else None
    graph = facebook.GraphAPI(access_token=token, timeout=settings.http_timeout_seconds, session=session)
    graph.version = settings.graph_api_version
    return graph


def sort_graph_error(exc: BaseException) -> DeskError:
    """Turn anything facebook-sdk or requests raised into the desk's error tree, in plain words."""
    if isinstance(exc, DeskError):
        return exc
    if isinstance(exc, facebook.GraphAPIError):
        error = exc.result.get("error", {}) if isinstance(exc.result, dict) else {}
        error = error if isinstance(error, dict) else {}
        code = exc.code if exc.code is not None else error.get("code")
        subcode = error.get("error_subcode")
        message = str(error.get("message") or exc.message or "")
        if code == 190:
            # Keyed by object: the subcode is whatever Graph sent (usually an int, maybe absent).
            reasons: dict[object, str] = {
                463: "expired",
                460: "was invalidated by a password change",
                466: "was invalidated",
                467: "belongs to a user who logged out",
            }
            reason = reasons.get(subcode, "is no longer valid")
            return NeedsReauth(f"Facebook token {reason} — reconnect the Facebook Page in Settings.")
        if code in THROTTLE_CODES or "request limit reached" in message.lower():
            return RateLimited("Facebook is rate limiting the desk; it will try again shortly.", None)
        if code == 368:
            return PostingBlocked(
                "Facebook has temporarily blocked posting from this Page (too fast). "
                "Replies are paused; a person should check the Page before sending more."
            )
        if code == 506:
            return AlreadyPosted("Facebook says this exact reply was already posted.")
        if code in TRANSIENT_CODES or error.get("is_transient"):
            return Retriable("Facebook is temporarily unavailable; the desk will retry.")
        if code is None and "maintype" in message.lower():
            return Retriable("Facebook sent an answer the desk cannot read (not JSON); it will retry.")
        if code in {10, 200}:
            return Fatal(f"Facebook refused: the Page token lacks a permission ({clip(message)}).")
        return Fatal(f"Facebook refused the request: {clip(message) or 'no reason given'}")
    if isinstance(exc, KeyError):
        return Retriable("Facebook sent an incomplete answer (missing headers); the desk will retry.")
    if isinstance(exc, requests.exceptions.Timeout):
        return Retriable("Facebook did not answer in time; the desk will retry.")
    if isinstance(exc, requests.exceptions.JSONDecodeError | json.JSONDecodeError | ValueError):
        return Retriable("Facebook sent a broken answer (not valid JSON); the desk will retry.")
    if isinstance(exc, requests.exceptions.RequestException):
        return Retriable("The connection to Facebook failed or was cut off; the desk will retry.")
    return Retriable(f"Unexpected problem talking to Facebook ({type(exc).__name__}); the desk will retry.")


def parse_graph_time(value: str) -> datetime:
    # Graph sends "2021-08-10T18:45:03+0000"
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def _author(obj: dict[str, Any]) -> Author | None:
    who = obj.get("from")
    if not isinstance(who, dict) or not who.get("id"):
        return None
    return Author(platform=Platform.FACEBOOK, external_id=str(who["id"]), handle=None, name=who.get("name"))


def post_metrics(post: dict[str, Any]) -> dict[str, int]:
    """Counts of a post from its ``reactions``/``comments`` summaries and ``shares``."""

    def summary(key: str) -> int:
        return int(((post.get(key) or {}).get("summary") or {}).get("total_count") or 0)

    return {
        "like_count": summary("reactions"),
        "reply_count": summary("comments"),
        "retweet_count": int((post.get("shares") or {}).get("count") or 0),
    }


def mention_from_post(post: dict[str, Any]) -> Mention:
    return Mention(
        platform=Platform.FACEBOOK,
        external_id=str(post["id"]),
        kind=MentionKind.POST,
        text=str(post.get("message") or ""),
        created_at=parse_graph_time(post["created_time"]),
        author=_author(post),
        parent_external_id=None,
        conversation_id=str(post["id"]),
        permalink=post.get("permalink_url"),
        metrics=post_metrics(post),
        raw={"post": post},
    )


def mention_from_comment(comment: dict[str, Any], post_id: str) -> Mention:
    parent = comment.get("parent") if isinstance(comment.get("parent"), dict) else None
    return Mention(
        platform=Platform.FACEBOOK,
        external_id=str(comment["id"]),
        kind=MentionKind.COMMENT,
        text=str(comment.get("message") or ""),
        created_at=parse_graph_time(comment["created_time"]),
        author=_author(comment),
        parent_external_id=str(parent["id"]) if parent and parent.get("id") else post_id,
        conversation_id=post_id,
        permalink=comment.get("permalink_url"),
        metrics={
            "like_count": int(comment.get("like_count") or 0),
            "reply_count": int(comment.get("comment_count") or 0),
        },
        raw={"comment": comment, "post_id": post_id},
    )


class FacebookConnector:
    """The Facebook Page the desk speaks for."""

    platform = Platform.FACEBOOK

    def __init__(self, settings: Settings) -> None:
        if not settings.facebook_enabled or settings.fb_page_id is None:
            raise Fatal("Facebook is not configured: set DESK_FB_PAGE_ID and DESK_FB_PAGE_TOKEN.")
        self.settings = settings
        self.page_id = settings.fb_page_id
        self.graph = graph_client(settings)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted into the desk's tree right here
            raise sort_graph_error(exc) from None

    def _get(self, path: str, **args: Any) -> dict[str, Any]:
        body = self._call(self.graph.request, f"{self.graph.version}/{path}", args)
        if not isinstance(body, dict):
            raise Retriable("Facebook sent an answer the desk cannot read; it will retry.")
        return body

    def account_key(self) -> str:
        return self.page_id

    def streams(self) -> list[str]:
        return [f"facebook:feed:{self.page_id}", f"facebook:comments:{self.page_id}"]

    def fetch_pages(self, stream: str, state: dict[str, Any]) -> Iterator[Page]:
        if stream.startswith("facebook:feed:"):
            yield from self._feed_pages(state)
        elif stream.startswith("facebook:comments:"):
            yield from self._comment_pages(state)
        else:
            raise Fatal(f"Unknown Facebook stream {stream!r}.")

    # -- the Page's feed: our posts and visitors' posts, newest first -----------------------
    def _feed_pages(self, state: dict[str, Any]) -> Iterator[Page]:
        since = state.get("since")
        pending = state.get("pending_newest")
        after = state.get("after")
        seen: set[str] = set()
        size = max(1, min(100, self.settings.page_size))
        while True:
            args: dict[str, Any] = {"fields": POST_FIELDS, "limit": size}
            if since:
                args["since"] = int(datetime.fromisoformat(since).timestamp())
            if after:
                args["after"] = after
            body = self._get(f"{self.page_id}/feed", **args)
            posts = [p for p in body.get("data") or [] if isinstance(p, dict) and p.get("id")]
            mentions = [mention_from_post(p) for p in posts if p.get("created_time")]
            if since:
                bookmark = datetime.fromisoformat(since)
                mentions = [m for m in mentions if m.created_at >= bookmark]
            for m in mentions:
                stamp = m.created_at.isoformat()
                if pending is None or stamp > pending:
                    pending = stamp
            next_after = _next_cursor(body)
            if next_after and (next_after in seen or next_after == after):
                log.warning("Facebook repeated a feed cursor; stopping the walk there")
                next_after = None
            if next_after and posts:
                seen.add(next_after)
                yield Page(mentions, {"since": since, "pending_newest": pending, "after": next_after})
                after = next_after
                continue
            final = pending or since
            yield Page(mentions, {"since": final} if final else {})
            return

    # -- comments on the Page's recent posts, newest first per post --------------------------
    def _comment_pages(self, state: dict[str, Any]) -> Iterator[Page]:
        watched: dict[str, Any] = dict(state.get("posts") or {})
        recent = self._get(f"{self.page_id}/feed", fields="id,created_time", limit=POSTS_TO_WATCH)
        post_ids = [str(p["id"]) for p in recent.get("data") or [] if isinstance(p, dict) and p.get("id")]
        # Forget posts that left the watch window so the state stays small.
        watched = {pid: watched.get(pid) for pid in post_ids}
        for post_id in post_ids:
            since = (watched.get(post_id) or {}).get("since")
            newest = since
            after = None
            seen: set[str] = set()
            while True:
                args: dict[str, Any] = {
                    "fields": COMMENT_FIELDS,
                    "filter": "stream",
                    "order": "reverse_chronological",
                    "limit": max(1, min(100, self.settings.page_size)),
                }
                if after:
                    args["after"] = after
                body = self._get(f"{post_id}/comments", **args)
                comments = [
                    c
                    for c in body.get("data") or []
                    if isinstance(c, dict) and c.get("id") and c.get("created_time")
                ]
                mentions = [mention_from_comment(c, post_id) for c in comments]
                reached_bookmark = False
                if since:
                    bookmark = datetime.fromisoformat(since)
                    reached_bookmark = any(m.created_at < bookmark for m in mentions)
                    mentions = [m for m in mentions if m.created_at >= bookmark]
                for m in mentions:
                    stamp = m.created_at.isoformat()
                    if newest is None or stamp > newest:
                        newest = stamp
                next_after = _next_cursor(body)
                if next_after and (next_after in seen or next_after == after):
                    log.warning("Facebook repeated a comments cursor on %s; stopping there", post_id)
                    next_after = None
                if next_after and comments and not reached_bookmark:
                    seen.add(next_after)
                    # The post's bookmark stays where it was until its walk is complete.
                    yield Page(mentions, {"posts": dict(watched)})
                    after = next_after
                    continue
                watched[post_id] = {"since": newest} if newest else None
                yield Page(mentions, {"posts": dict(watched)})
                break
        if not post_ids:
            yield Page([], {"posts": {}})

    # -- writing ---------------------------------------------------------------------------
    @staticmethod
    def _reply_target(mention: Mention) -> str:
        if (
            mention.kind == MentionKind.COMMENT
            and mention.parent_external_id
            and mention.parent_external_id != mention.conversation_id
        ):
            # Graph threads one level deep: a reply to a reply goes under the top comment.
            return mention.parent_external_id
        return mention.external_id

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        target = self._reply_target(mention)
        body = self._call(self.graph.put_comment, object_id=target, message=text)
        comment_id = (body or {}).get("id") if isinstance(body, dict) else None
        if not comment_id:
            raise Retriable(
                "Facebook accepted the reply but did not return its id; check the Page before resending."
            )
        return PostedReply(
            platform=Platform.FACEBOOK,
            external_id=str(comment_id),
            in_reply_to=target,
            text=text,
            permalink=None,
        )

    def find_reply(self, mention: Mention, text: str) -> PostedReply | None:
        """Look under the replied-to object for a comment by our Page with this text."""
        target = self._reply_target(mention)
        wanted = " ".join(text.split())
        after = None
        for _page in range(10):
            args: dict[str, Any] = {
                "fields": "id,from,message,created_time",
                "filter": "stream",
                "order": "reverse_chronological",
                "limit": 100,
            }
            if after:
                args["after"] = after
            body = self._get(f"{target}/comments", **args)
            for comment in body.get("data") or []:
                who = comment.get("from") if isinstance(comment.get("from"), dict) else {}
                if (
                    str(who.get("id")) == self.page_id
                    and " ".join(str(comment.get("message", "")).split()) == wanted
                ):
                    return PostedReply(Platform.FACEBOOK, str(comment["id"]), target, text, None)
            after = _next_cursor(body)
            if not after:
                return None
        return None

    # -- metrics ---------------------------------------------------------------------------
    def fetch_metrics(self, external_ids: Sequence[str]) -> list[MetricReading]:
        readings: list[MetricReading] = []
        for item in external_ids:
            item = str(item)
            try:
                body = self._get(item, fields="id,like_count,comment_count")
                readings.append(
                    MetricReading(Platform.FACEBOOK, item, "like_count", int(body.get("like_count") or 0))
                )
                readings.append(
                    MetricReading(Platform.FACEBOOK, item, "reply_count", int(body.get("comment_count") or 0))
                )
                continue
            except Fatal:
                pass  # not a comment: read it as a post
            body = self._get(
                item, fields="id,reactions.summary(true).limit(0),comments.summary(true).limit(0),shares"
            )
            for name, value in post_metrics(body).items():
                readings.append(MetricReading(Platform.FACEBOOK, item, name, value))
            try:
                insights = self._get(f"{item}/insights", metric="post_media_view")
                for series in insights.get("data") or []:
                    values = series.get("values") or []
                    if values and isinstance(values[-1].get("value"), int):
                        readings.append(
                            MetricReading(
                                Platform.FACEBOOK, item, "impression_count", int(values[-1]["value"])
                            )
                        )
            except Fatal as exc:
                log.info("No insights for %s: %s", item, exc)
        return readings


def _next_cursor(body: dict[str, Any]) -> str | None:
    paging = body.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return str(after) if after else None

"""The Graph API stand-in's HTTP surface: tokens, fields, cursor paging, insights, error bodies.

Wire formats follow the recorded responses in tests/fixtures/recorded/facebook: errors are
``{"error": {...}}`` with HTTP 400 and ``application/json; charset=UTF-8``; ``paging.next`` is an
absolute ``https://graph.facebook.com/vXX.X/...`` URL carrying ``access_token=`` and is absent
on the last page; ``X-App-Usage`` (and ``X-Page-Usage`` for Page tokens) on every answer.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from desk.sandbox.control import control_response
from desk.sandbox.faults import Fault
from desk.sandbox.graphfields import FieldSpec, FieldSyntaxError, parse_fields
from desk.sandbox.graphnet import Comment, GraphNetwork, Post
from desk.sandbox.growth import unit
from desk.sandbox.wire import JSON_GRAPH, Request, Response, graph_time, parse_graph_time
from desk.sandbox.xapi import HTML_502, take_pre_fault, with_post_fault

GRAPH_HOST = "https://graph.facebook.com"
_VERSION_RE = re.compile(r"^/(v\d+\.\d+)(/.*)?$")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
USAGE_BUDGET_PER_HOUR = 2000

POST_FIELDS = {
    "id",
    "message",
    "created_time",
    "updated_time",
    "from",
    "permalink_url",
    "comments",
    "reactions",
    "likes",
    "shares",
    "status_type",
    "story",
    "is_hidden",
    "is_published",
    "full_picture",
    "attachments",
    "message_tags",
    "privacy",
    "icon",
    "to",
    "is_expired",
    "timeline_visibility",
}
COMMENT_FIELDS = {
    "id",
    "from",
    "message",
    "created_time",
    "parent",
    "like_count",
    "comment_count",
    "permalink_url",
    "can_comment",
    "can_like",
    "can_remove",
    "can_hide",
    "can_reply_privately",
    "is_hidden",
    "is_private",
    "user_likes",
    "attachment",
    "message_tags",
    "object",
    "comments",
    "reactions",
    "likes",
}
PAGE_FIELDS = {
    "id",
    "name",
    "about",
    "category",
    "fan_count",
    "followers_count",
    "link",
    "username",
    "verification_status",
    "website",
    "access_token",
    "insights",
}

# Current insights metrics (2026) and the retired names that fail a whole request with (#100).
PAGE_METRICS = {
    "page_media_view": ("Media views", "The number of times your content was played or displayed."),
    "page_total_media_view_unique": (
        "Media viewers",
        "The number of people who saw your content at least once.",
    ),
    "page_follows": ("Follows", "The number of followers of your Page."),
    "page_daily_follows": ("Daily follows", "The number of new followers of your Page."),
    "page_daily_follows_unique": ("Daily new followers", "The number of people who followed your Page."),
    "page_daily_unfollows_unique": ("Daily unfollows", "The number of people who unfollowed your Page."),
    "page_post_engagements": (
        "Post engagements",
        "The number of reactions, comments, shares and clicks on posts.",
    ),
    "page_views_total": ("Page views", "The number of times your Page's profile was viewed."),
    "page_video_views": ("Video views", "The number of times your videos played for at least 3 seconds."),
}
POST_METRICS = {
    "post_media_view": ("Media views", "The number of times the post was played or displayed."),
    "post_total_media_view_unique": ("Media viewers", "The number of people who saw the post at least once."),
    "post_reactions_by_type_total": ("Reactions by type", "Total reactions on the post, by type."),
    "post_clicks": ("Post clicks", "The number of clicks anywhere in the post."),
    "post_video_views": (
        "Video views",
        "The number of times the post's video played for at least 3 seconds.",
    ),
}
RETIRED_METRICS = {
    "page_impressions",
    "page_impressions_unique",
    "page_impressions_paid",
    "page_impressions_organic",
    "page_impressions_viral",
    "page_engaged_users",
    "page_fans",
    "page_fans_city",
    "page_fans_country",
    "page_fans_gender_age",
    "page_fan_adds",
    "page_fan_adds_unique",
    "page_fan_removes",
    "page_fan_removes_unique",
    "page_consumptions",
    "page_consumptions_unique",
    "page_content_activity",
    "page_content_activity_by_action_type",
    "page_posts_impressions",
    "page_posts_impressions_unique",
    "page_posts_impressions_paid",
    "page_posts_impressions_organic",
    "page_posts_impressions_viral",
    "post_impressions",
    "post_impressions_unique",
    "post_impressions_paid",
    "post_impressions_organic",
    "post_impressions_fan",
    "post_impressions_viral",
    "post_engaged_users",
    "post_consumptions",
    "post_negative_feedback",
}
PERIODS = {"day": 86400, "week": 7 * 86400, "days_28": 28 * 86400}


@dataclass(frozen=True)
class GraphCredentials:
    page_token: str
    user_token: str  # a token without MODERATE on the Page: comment ids and authors are hidden


class GraphError(Exception):
    def __init__(
        self,
        code: int | None,
        message: str,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        transient: bool = False,
        user_title: str | None = None,
        user_msg: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.type = type_
        self.subcode = subcode
        self.transient = transient
        self.user_title = user_title
        self.user_msg = user_msg
        self.headers = headers or {}


def unsupported(method: str, object_id: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "  # noqa: E501
        "missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        type_="GraphMethodException",
        subcode=33,
    )


def _ms(created: float) -> int:
    # Cursors and sort keys must agree to the millisecond, or a page would start over.
    return int(round(created * 1000))


def encode_cursor(created: float, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{_ms(created)}:{item_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, item_id = raw.partition(":")
        return int(stamp), item_id
    except (ValueError, UnicodeDecodeError):
        return None


class Usage:
    """Calls in the last hour as the percentage headers Graph sends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {"app": deque(), "page": deque()}

    def hit(self, kind: str) -> dict[str, int]:
        now = time.time()
        with self._lock:
            calls = self._calls[kind]
            calls.append(now)
            while calls and calls[0] < now - 3600:
                calls.popleft()
            pct = min(100, len(calls) * 100 // USAGE_BUDGET_PER_HOUR)
        return {"call_count": pct, "total_cputime": pct // 3, "total_time": pct // 2}


class GraphApi:
    """Turns requests into Graph API answers for one :class:`GraphNetwork`."""

    def __init__(self, network: GraphNetwork, credentials: GraphCredentials) -> None:
        self.net = network
        self.credentials = credentials
        self.usage = Usage()
        self._trace = itertools.count(1)

    # ------------------------------------------------------------------ entry

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return control_response(request, self.net.faults, self.state, lambda: self.net.posted, JSON_GRAPH)
        self.net.log.add(request)
        token = request.query.get("access_token") or request.form.get("access_token")
        auth = request.headers.get("authorization", "")
        if not token and auth[:7].lower() in ("bearer ", "oauth "):
            token = auth[auth.index(" ") + 1 :].strip()
        match = _VERSION_RE.match(request.path)
        version = match.group(1) if match else "v19.0"
        rest = (match.group(2) or "/") if match else request.path
        headers = {
            "facebook-api-version": version,
            "x-fb-trace-id": self._trace_id(),
            "cache-control": "private, no-cache, no-store, must-revalidate",
            "access-control-allow-origin": "*",
        }
        fault = take_pre_fault(self.net.faults, request)
        if fault is not None:
            response = self._pre_fault(fault)
            response.headers = {**headers, **response.headers}
            return response
        app_usage = self.usage.hit("app")
        headers["x-app-usage"] = json.dumps(app_usage, separators=(",", ":"))
        try:
            if not token:
                raise GraphError(104, "An access token is required to request this resource.")
            if token == self.credentials.page_token:
                moderator = True
                headers["x-page-usage"] = json.dumps(self.usage.hit("page"), separators=(",", ":"))
            elif token == self.credentials.user_token:
                moderator = False
            else:
                raise GraphError(190, "The access token could not be decrypted")
            with self.net.lock:
                response = self._dispatch(request, version, rest, token, moderator)
        except GraphError as exc:
            response = self._error(exc)
            if exc.code == 190:
                response.headers["www-authenticate"] = (
                    f'OAuth "Facebook Platform" "invalid_token" "{exc.message}"'
                )
        response.headers = {**headers, **response.headers}
        return with_post_fault(self.net.faults, request, response)

    def state(self) -> dict[str, Any]:
        return {
            "network": "graph",
            **self.net.counts(),
            "faults": self.net.faults.pending(),
            "page_id": self.net.page_id,
            "page_name": self.net.page_name,
        }

    def _trace_id(self) -> str:
        return base64.b64encode(f"sbx{next(self._trace):08d}".encode()).decode()[:11]

    def _error(self, exc: GraphError) -> Response:
        body: dict[str, Any] = {"message": exc.message, "type": exc.type}
        if exc.code is not None:
            body["code"] = exc.code
        if exc.subcode is not None:
            body["error_subcode"] = exc.subcode
        body["is_transient"] = exc.transient
        if exc.user_title:
            body["error_user_title"] = exc.user_title
            body["error_user_msg"] = exc.user_msg or ""
        body["fbtrace_id"] = self._trace_id()
        return Response.json(400, {"error": body}, JSON_GRAPH, exc.headers)

    # ------------------------------------------------------------------ faults

    def _pre_fault(self, fault: Fault) -> Response:
        name, p = fault.name, fault.params
        if name == "server_error":
            return self._error(
                GraphError(2, "Service temporarily unavailable", type_="FacebookApiException", transient=True)
            )
        if name == "html_502":
            return Response.text(502, HTML_502, "text/html")
        if name == "token_expired":
            now = datetime.now(UTC)
            fmt = "%A, %d-%b-%y %H:%M:%S PDT"
            pdt = timedelta(hours=-7)
            message = (
                "Error validating access token: Session has expired on "
                f"{(now + pdt - timedelta(hours=1)).strftime(fmt)}. The current time is {(now + pdt).strftime(fmt)}."  # noqa: E501
            )
            return self._with_auth_header(self._error(GraphError(190, message, subcode=463)), message)
        if name == "token_invalidated":
            message = (
                "Error validating access token: The session was invalidated explicitly using an API call."
            )
            return self._with_auth_header(self._error(GraphError(190, message, subcode=466)), message)
        if name == "throttle":
            code = p["code"]
            usage = {"call_count": 100, "total_cputime": 31, "total_time": 97}
            headers = {"x-app-usage": json.dumps(usage, separators=(",", ":"))}
            if code == 32:
                headers["x-page-usage"] = json.dumps(usage, separators=(",", ":"))
            messages = {
                4: ("(#4) Application request limit reached", None),
                17: ("(#17) User request limit reached", 2446079),
                32: ("(#32) Page request limit reached", None),
                613: ("(#613) Calls to this api have exceeded the rate limit.", None),
            }
            message, subcode = messages[code]
            return self._error(GraphError(code, message, subcode=subcode, transient=True, headers=headers))
        if name == "posting_blocked":
            return self._error(
                GraphError(
                    368,
                    "It looks like you were misusing this feature by going too fast. You’ve been blocked from "  # noqa: E501
                    "using it.\n\nLearn more about blocks in the Help Center.",
                )
            )
        if name == "duplicate_post":
            return self._error(
                GraphError(
                    506,
                    "Duplicate status message",
                    type_="FacebookApiException",
                    subcode=1455006,
                    user_title="Duplicate Status Update",
                    user_msg="This status update is identical to the last one you posted. Try posting something "  # noqa: E501
                    "different, or delete your previous update.",
                )
            )
        if name == "permission":
            return self._error(
                GraphError(200, "(#200) The user hasn't authorized the application to perform this action")
            )
        raise AssertionError(f"unhandled pre fault {name}")

    @staticmethod
    def _with_auth_header(response: Response, message: str) -> Response:
        response.headers["www-authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
        return response

    # ------------------------------------------------------------------ routing

    def _dispatch(self, request: Request, version: str, rest: str, token: str, moderator: bool) -> Response:
        parts = [p for p in rest.split("/") if p]
        if not parts and request.method == "GET" and request.query.get("ids"):
            return self._get_objects(request, version, token, moderator)
        if not parts:
            raise GraphError(
                100,
                "Unsupported get request. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api",
                type_="GraphMethodException",
            )
        node = parts[0]
        if node == "me":
            node = self.net.page_id if moderator else "me"
        edge = parts[1] if len(parts) > 1 else None
        if len(parts) > 2 and not (edge == "insights" and len(parts) == 3):
            raise GraphError(2500, f"Unknown path components: /{'/'.join(parts[2:])}")
        method = request.method
        ctx = _Ctx(request, version, token, moderator, node, edge)
        if method == "GET" and edge is None:
            return self._get_object(ctx)
        if method == "GET" and edge in ("feed", "posts", "published_posts", "visitor_posts"):
            return self._feed(ctx, "posts" if edge == "published_posts" else edge)
        if method == "GET" and edge == "comments":
            return self._comments(ctx)
        if method == "GET" and edge in ("reactions", "likes") and self.net.post(node) is not None:
            post = self.net.post(node)
            assert post is not None
            spec = FieldSpec(edge, {"summary": "true"} if ctx.request.query.get("summary") else {})
            return Response.json(200, self._render_post(ctx, post, [spec])[edge], JSON_GRAPH)
        if method == "POST" and edge == "comments":
            return self._post_comment(ctx)
        if method == "GET" and edge == "insights":
            metric_in_path = parts[2] if len(parts) == 3 else None
            return self._insights(ctx, metric_in_path)
        if method == "DELETE" and edge is None:
            return self._delete(ctx)
        if edge is not None and method in ("GET", "POST"):
            if self._exists(node):
                raise GraphError(2500, f"Unknown path components: /{edge}")
        raise unsupported(method, node)

    def _exists(self, node: str) -> bool:
        return (
            node == self.net.page_id or self.net.post(node) is not None or self.net.comment(node) is not None
        )

    # ------------------------------------------------------------------ objects

    def _fields_of(self, ctx: _Ctx, default: list[str]) -> list[FieldSpec]:
        raw = ctx.request.query.get("fields")
        if not raw:
            return [FieldSpec(name) for name in default]
        try:
            return parse_fields(raw)
        except FieldSyntaxError as exc:
            raise GraphError(100, f'Syntax error "{exc}" in fields') from None

    def _check_fields(self, specs: list[FieldSpec], allowed: set[str], node_type: str) -> None:
        for spec in specs:
            if spec.name not in allowed:
                raise GraphError(
                    100, f"(#100) Tried accessing nonexisting field ({spec.name}) on node type ({node_type})"
                )

    def _get_object(self, ctx: _Ctx) -> Response:
        node = ctx.node
        if node == "me" and not ctx.moderator:
            return Response.json(200, {"name": "Sandbox Analyst", "id": "100094857310001"}, JSON_GRAPH)
        if node == self.net.page_id:
            specs = self._fields_of(ctx, ["name", "id"])
            self._check_fields(specs, PAGE_FIELDS, "Page")
            return Response.json(200, self._render_page(ctx, specs), JSON_GRAPH)
        post = self.net.post(node)
        if post is not None:
            specs = self._fields_of(ctx, ["created_time", "message", "id"])
            self._check_fields(specs, POST_FIELDS, "PagePost")
            return Response.json(200, self._render_post(ctx, post, specs), JSON_GRAPH)
        comment = self.net.comment(node)
        if comment is not None:
            specs = self._fields_of(ctx, ["created_time", "from", "message", "id"])
            self._check_fields(specs, COMMENT_FIELDS, "Comment")
            return Response.json(200, self._render_comment(ctx, comment, specs), JSON_GRAPH)
        raise unsupported("GET", node)

    def _get_objects(self, request: Request, version: str, token: str, moderator: bool) -> Response:
        """``GET /?ids=a,b``: several objects keyed by id (facebook-sdk ``get_objects``)."""
        ids = [i for i in request.query["ids"].split(",") if i]
        missing = [i for i in ids if not self._exists(i)]
        if missing:
            raise GraphError(
                803, f"(#803) Some of the aliases you requested do not exist: {','.join(missing)}"
            )
        out = {}
        for object_id in ids:
            response = self._get_object(_Ctx(request, version, token, moderator, object_id, None))
            out[object_id] = json.loads(response.body)
        return Response.json(200, out, JSON_GRAPH)

    def _render_page(self, ctx: _Ctx, specs: list[FieldSpec]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": self.net.page_id,
            "name": self.net.page_name,
            "category": "Telecommunication company",
            "about": "Business phone lines in the cloud. Service status: status.nimbusvoice.example",
            "fan_count": self.net.page_followers,
            "followers_count": self.net.page_followers,
            "link": f"https://www.facebook.com/{self.net.page_id}",
            "username": "NimbusVoice",
            "verification_status": "not_verified",
            "website": "https://nimbusvoice.example",
        }
        if ctx.moderator:
            values["access_token"] = ctx.token
        return {s.name: values[s.name] for s in specs if s.name in values}

    def _render_from(self, spec: FieldSpec, from_id: str, from_name: str) -> dict[str, Any]:
        full = {"name": from_name, "id": from_id}
        if spec.sub:
            return {s.name: full[s.name] for s in spec.sub if s.name in full}
        return full

    def _render_post(self, ctx: _Ctx, post: Post, specs: list[FieldSpec]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        counts = self.net.post_counts(post)
        for spec in specs:
            name = spec.name
            if name == "id":
                out["id"] = post.id
            elif name == "message":
                if post.message:
                    out["message"] = post.message
            elif name in ("created_time", "updated_time"):
                updated = max(
                    [post.created] + [c.created for c in self.net.comments_of(post.id, stream=True)]
                )
                out[name] = graph_time(post.created if name == "created_time" else updated)
            elif name == "from":
                out["from"] = self._render_from(spec, post.from_id, post.from_name)
            elif name == "permalink_url":
                out["permalink_url"] = self.net.permalink(post)
            elif name == "status_type":
                out["status_type"] = post.status_type
            elif name == "is_hidden":
                out["is_hidden"] = False
            elif name == "is_published":
                out["is_published"] = True
            elif name == "shares":
                if counts["shares"]:
                    out["shares"] = {"count": counts["shares"]}
            elif name in ("reactions", "likes"):
                total = counts["reactions"] if name == "reactions" else int(counts["reactions"] * 0.8)
                edge: dict[str, Any] = {"data": []}
                if "summary" in spec.modifiers and spec.modifiers["summary"] not in ("false", "0"):
                    edge["summary"] = (
                        {"total_count": total, "viewer_reaction": "NONE"}
                        if name == "reactions"
                        else {"total_count": total, "can_like": True, "has_liked": False}
                    )
                out[name] = edge
            elif name == "comments":
                out["comments"] = self._nested_comments(ctx, post.id, spec)
        return out

    def _nested_comments(self, ctx: _Ctx, object_id: str, spec: FieldSpec) -> dict[str, Any]:
        mods = spec.modifiers
        stream = mods.get("filter", "toplevel") == "stream"
        order = mods.get("order", "chronological")
        items = self.net.comments_of(object_id, stream=stream)
        if order == "reverse_chronological":
            items = items[::-1]
        limit = _clamp_limit(mods.get("limit"))
        sub = spec.sub or [FieldSpec(n) for n in ("created_time", "from", "message", "id")]
        shown = items[:limit]
        edge: dict[str, Any] = {"data": [self._render_comment(ctx, c, sub) for c in shown]}
        if shown:
            edge["paging"] = {
                "cursors": {
                    "before": encode_cursor(shown[0].created, shown[0].id),
                    "after": encode_cursor(shown[-1].created, shown[-1].id),
                }
            }
        if "summary" in mods and mods["summary"] not in ("false", "0"):
            edge["summary"] = {
                "order": "ranked" if order == "ranked" else order,
                "total_count": len(items),
                "can_comment": True,
            }
        return edge

    def _render_comment(self, ctx: _Ctx, comment: Comment, specs: list[FieldSpec]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in specs:
            name = spec.name
            if name == "id":
                if ctx.moderator:  # Since v11, comment ids need a Page token with MODERATE.
                    out["id"] = comment.id
            elif name == "from":
                if ctx.moderator:
                    out["from"] = self._render_from(spec, comment.from_id, comment.from_name)
            elif name == "message":
                out["message"] = comment.message
            elif name == "created_time":
                out["created_time"] = graph_time(comment.created)
            elif name == "parent":
                if comment.parent_id is not None:
                    parent = self.net._comments[comment.parent_id]
                    psub = spec.sub or [FieldSpec(n) for n in ("created_time", "from", "message", "id")]
                    out["parent"] = self._render_comment(ctx, parent, psub)
            elif name == "like_count":
                out["like_count"] = comment.like_count
            elif name == "comment_count":
                out["comment_count"] = (
                    len(self.net.comments_of(comment.id, stream=True)) if comment.parent_id is None else 0
                )
            elif name == "permalink_url":
                out["permalink_url"] = self.net.comment_permalink(comment)
            elif name in ("can_comment", "can_like", "can_remove", "can_hide", "can_reply_privately"):
                out[name] = name != "can_comment" or comment.parent_id is None
            elif name in ("is_hidden", "is_private", "user_likes"):
                out[name] = False
            elif name == "object":
                post = self.net._posts[comment.post_id]
                out["object"] = {
                    "created_time": graph_time(post.created),
                    "message": post.message,
                    "id": post.id,
                }
            elif name == "comments":
                out["comments"] = self._nested_comments(ctx, comment.id, spec)
        return out

    # ------------------------------------------------------------------ edges

    def _feed(self, ctx: _Ctx, kind: str) -> Response:
        if ctx.node != self.net.page_id:
            if self._exists(ctx.node):
                raise GraphError(2500, f"Unknown path components: /{ctx.edge}")
            raise unsupported("GET", ctx.node)
        specs = self._fields_of(ctx, ["created_time", "message", "id"])
        self._check_fields(specs, POST_FIELDS, "PagePost")
        q = ctx.request.query
        since = self._time_param(q, "since")
        until = self._time_param(q, "until")
        posts = [
            p
            for p in self.net.posts_newest_first(kind)
            if (since is None or p.created >= since) and (until is None or p.created <= until)
        ]
        keys = [(-_ms(p.created), _neg_id(p.id)) for p in posts]  # ascending = newest first
        return self._page(
            ctx,
            posts,
            keys,
            lambda p: self._render_post(ctx, p, specs),
            lambda p: encode_cursor(p.created, p.id),
            descending=True,
        )

    def _comments(self, ctx: _Ctx) -> Response:
        node = ctx.node
        is_post = self.net.post(node) is not None
        if not is_post and self.net.comment(node) is None:
            raise unsupported("GET", node)
        q = ctx.request.query
        order = q.get("order", "chronological")
        if order not in ("chronological", "reverse_chronological", "ranked"):
            raise GraphError(
                100, "(#100) param order must be one of {CHRONOLOGICAL, REVERSE_CHRONOLOGICAL, RANKED}"
            )
        filt = q.get("filter", "toplevel")
        if filt not in ("stream", "toplevel"):
            raise GraphError(100, "(#100) param filter must be one of {TOPLEVEL, STREAM}")
        specs = self._fields_of(ctx, ["created_time", "from", "message", "id"])
        self._check_fields(specs, COMMENT_FIELDS, "Comment")
        since = self._time_param(q, "since")
        items = [
            c
            for c in self.net.comments_of(node, stream=filt == "stream")
            if since is None or c.created >= since
        ]
        descending = order == "reverse_chronological"
        if descending:
            items = items[::-1]
        keys = [
            ((-_ms(c.created), _neg_id(c.id)) if descending else (_ms(c.created), _pos_id(c.id)))
            for c in items
        ]
        summary = None
        if q.get("summary", "").lower() in ("true", "1"):
            summary = {"order": order, "total_count": len(items), "can_comment": True}
        return self._page(
            ctx,
            items,
            keys,
            lambda c: self._render_comment(ctx, c, specs),
            lambda c: encode_cursor(c.created, c.id),
            descending=descending,
            summary=summary,
        )

    def _page(
        self,
        ctx: _Ctx,
        items: list[Any],
        keys: list[tuple[int, Any]],
        render: Callable[[Any], dict[str, Any]],
        cursor_of: Callable[[Any], str],
        *,
        descending: bool,
        summary: dict[str, Any] | None = None,
    ) -> Response:
        """One cursor page of ``items`` (already in answer order, with sort ``keys``)."""
        q = ctx.request.query
        limit = _clamp_limit(q.get("limit"))
        after, before = q.get("after"), q.get("before")
        start, stop = 0, len(items)
        continuing = bool(after or before)
        if after:
            pos = self._cursor_key(after, descending)
            start = next((i for i, k in enumerate(keys) if k > pos), len(items))
            stop = min(len(items), start + limit)
        elif before:
            pos = self._cursor_key(before, descending)
            stop = next((i for i, k in enumerate(keys) if k >= pos), len(items))
            start = max(0, stop - limit)
        else:
            stop = min(len(items), limit)
        page = items[start:stop]
        has_more = stop < len(items)

        fault = self.net.faults.take("paging", ctx.request.method, ctx.request.path, continuation=continuing)
        repeat_after: str | None = None
        force_next_after: str | None = None
        if fault is not None:
            if fault.name == "repeat_cursor" and after:
                repeat_after = after
            elif fault.name == "duplicate_item" and start > 0:
                page = [items[start - 1], *page]
            elif fault.name == "short_page":
                if has_more and len(page) > 1:
                    page = page[: len(page) // 2]
                elif page:
                    # The last page, but with a next link that leads to an empty page.
                    force_next_after = cursor_of(page[-1])

        body: dict[str, Any] = {"data": [render(item) for item in page]}
        paging: dict[str, Any] = {}
        if page:
            paging["cursors"] = {"before": cursor_of(page[0]), "after": cursor_of(page[-1])}
        elif after or before:
            paging["cursors"] = {"before": before or after, "after": after or before}
        next_after = repeat_after or force_next_after or (cursor_of(page[-1]) if page and has_more else None)
        if fault is not None and fault.name == "short_page" and page and has_more:
            next_after = cursor_of(page[-1])
        if next_after:
            paging["next"] = self._paging_url(ctx, "after", next_after)
        if page and (start > 0 or continuing):
            paging["previous"] = self._paging_url(ctx, "before", cursor_of(page[0]))
        if paging:
            body["paging"] = paging
        if summary is not None:
            body["summary"] = summary
        return Response.json(200, body, JSON_GRAPH)

    def _cursor_key(self, cursor: str, descending: bool) -> tuple[int, Any]:
        decoded = decode_cursor(cursor)
        if decoded is None:
            raise GraphError(100, "(#100) The after/before cursor is not valid", subcode=None)
        stamp, item_id = decoded
        return (-stamp, _neg_id(item_id)) if descending else (stamp, _pos_id(item_id))

    def _paging_url(self, ctx: _Ctx, which: str, cursor: str) -> str:
        params = [
            (k, v)
            for k, v in parse_qsl(ctx.request.raw_query, keep_blank_values=True)
            if k not in ("access_token", "after", "before", "pretty")
        ]
        query = urlencode([("access_token", ctx.token), ("pretty", "0"), *params, (which, cursor)])
        path = f"/{ctx.node}/{ctx.edge}" if ctx.edge else f"/{ctx.node}"
        return f"{GRAPH_HOST}/{ctx.version}{path}?{query}"

    def _time_param(self, q: dict[str, str], name: str) -> float | None:
        raw = q.get(name)
        if raw is None or raw == "":
            return None
        try:
            return parse_graph_time(raw)
        except ValueError:
            raise GraphError(100, f"(#100) The parameter {name} is not a valid time") from None

    # ------------------------------------------------------------------ writing

    def _post_comment(self, ctx: _Ctx) -> Response:
        node = ctx.node
        if self.net.post(node) is None and self.net.comment(node) is None:
            raise unsupported("POST", node)
        if not ctx.moderator:
            raise GraphError(200, "(#200) The user hasn't authorized the application to perform this action")
        form = ctx.request.form
        message = form.get("message", ctx.request.query.get("message", ""))
        if not message.strip():
            raise GraphError(100, "(#100) Missing message or attachment")
        comment = self.net.create_comment(node, message)
        fields = form.get("fields") or ctx.request.query.get("fields")
        if fields:
            try:
                specs = parse_fields(fields)
            except FieldSyntaxError as exc:
                raise GraphError(100, f'Syntax error "{exc}" in fields') from None
            body = self._render_comment(ctx, comment, specs)
            body.setdefault("id", comment.id)
            return Response.json(200, body, JSON_GRAPH)
        return Response.json(200, {"id": comment.id}, JSON_GRAPH)

    def _delete(self, ctx: _Ctx) -> Response:
        comment = self.net.comment(ctx.node)
        if comment is None:
            raise unsupported("DELETE", ctx.node)
        if not ctx.moderator:
            raise GraphError(200, "(#200) The user hasn't authorized the application to perform this action")
        self.net.delete_comment(ctx.node)
        return Response.json(200, {"success": True}, JSON_GRAPH)

    # ------------------------------------------------------------------ insights

    def _insights(self, ctx: _Ctx, metric_in_path: str | None) -> Response:
        node = ctx.node
        q = ctx.request.query
        is_page = node == self.net.page_id
        post = None if is_page else self.net.post(node)
        if not is_page and post is None:
            raise unsupported("GET", node)
        if not ctx.moderator:
            raise GraphError(10, "(#10) Requires pages_read_engagement permission to manage the object")
        raw = metric_in_path or q.get("metric", "")
        names = [m.strip() for m in raw.split(",") if m.strip()]
        if not names:
            raise GraphError(100, "(#100) The value must be a valid insights metric")
        catalogue = PAGE_METRICS if is_page else POST_METRICS
        for name in names:
            if name in RETIRED_METRICS or name not in catalogue:
                raise GraphError(100, "(#100) The value must be a valid insights metric")
        since = self._time_param(q, "since")
        until = self._time_param(q, "until")
        if since is not None and until is not None and until - since > 90 * 86400:
            raise GraphError(
                100, "(#100) There cannot be more than 90 days (7776000 s) between since and until"
            )
        period = q.get("period", "day" if is_page else "lifetime")
        if is_page and period not in PERIODS:
            raise GraphError(100, "(#100) The value must be a valid insights period")
        now = time.time()
        # Day ends at Pacific midnight (07:00 UTC), as Graph reports them.
        today_end = _pacific_day_end(now)
        if until is None:
            until = today_end if since is None else min(since + 2 * 86400, today_end)
        if since is None:
            since = until - 2 * 86400
        data: list[dict[str, Any]] = []
        for name in names:
            title, description = catalogue[name]
            if is_page:
                values: list[dict[str, Any]] = []
                end = _pacific_day_end(since)
                while end <= until and end <= today_end and len(values) < 93:
                    values.append(
                        {"value": self._page_metric(name, end, PERIODS[period]), "end_time": graph_time(end)}
                    )
                    end += 86400
                if not values:
                    continue
                data.append(
                    {
                        "name": name,
                        "period": period,
                        "values": values,
                        "title": title,
                        "description": description,
                        "id": f"{node}/insights/{name}/{period}",
                    }
                )
            else:
                assert post is not None
                if since > now:
                    continue
                data.append(
                    {
                        "name": name,
                        "period": "lifetime",
                        "values": [{"value": self._post_metric(post, name)}],
                        "title": title,
                        "description": description,
                        "id": f"{node}/insights/{name}/lifetime",
                    }
                )
        span = until - since
        base = [
            (k, v)
            for k, v in parse_qsl(ctx.request.raw_query, keep_blank_values=True)
            if k not in ("access_token", "since", "until", "pretty")
        ]

        def window(a: float, b: float) -> str:
            query = urlencode(
                [
                    ("access_token", ctx.token),
                    ("pretty", "0"),
                    *base,
                    ("since", str(int(a))),
                    ("until", str(int(b))),
                ]
            )
            return f"{GRAPH_HOST}/{ctx.version}/{node}/insights?{query}"

        paging = {"previous": window(since - span, since)}
        if data:
            # Graph keeps moving the window forward; the window past today comes back empty.
            paging["next"] = window(until, until + span)
        return Response.json(200, {"data": data, "paging": paging}, JSON_GRAPH)

    def _page_metric(self, name: str, day_end: float, period_seconds: int) -> int:
        key = f"{name}:{int(day_end)}"
        spike = 1.0
        incident_day = _pacific_day_end(self.net.clock.started)
        if int(day_end) == int(incident_day):
            spike = 6.0  # the outage day: everyone comes to the Page
        scale = period_seconds / 86400
        if name == "page_follows":
            return self.net.page_followers - int((incident_day - day_end) / 86400 * 11)
        base = {
            "page_media_view": 5200,
            "page_total_media_view_unique": 3100,
            "page_daily_follows": 14,
            "page_daily_follows_unique": 13,
            "page_daily_unfollows_unique": 4,
            "page_post_engagements": 260,
            "page_views_total": 410,
            "page_video_views": 90,
        }[name]
        if name == "page_daily_unfollows_unique":
            spike = spike * 4 if spike > 1 else 1.0
        return int(base * scale * spike * (0.8 + 0.4 * unit(key)))

    def _post_metric(self, post: Post, name: str) -> Any:
        counts = self.net.post_counts(post)
        if name == "post_media_view":
            return counts["views"]
        if name == "post_total_media_view_unique":
            return counts["unique"]
        if name == "post_clicks":
            return counts["clicks"]
        if name == "post_video_views":
            return 0
        total = counts["reactions"]
        like = int(total * 0.55)
        angry = int(total * 0.25)
        return {"like": like, "angry": angry, "sorry": total - like - angry}


@dataclass
class _Ctx:
    request: Request
    version: str
    token: str
    moderator: bool
    node: str
    edge: str | None


def _clamp_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise GraphError(100, f"(#100) param limit must be a number, got {raw!r}") from None
    return max(0, min(MAX_LIMIT, value))


def _pos_id(item_id: str) -> tuple[int, str]:
    tail = item_id.rsplit("_", 1)[-1]
    return (int(tail), item_id) if tail.isdigit() else (0, item_id)


def _neg_id(item_id: str) -> tuple[int, str]:
    number, text = _pos_id(item_id)
    return (-number, "".join(chr(0x10FFFF - ord(ch)) for ch in text))


def _pacific_day_end(epoch: float) -> float:
    """The next 07:00 UTC at or after ``epoch`` (Graph's day boundary, Pacific midnight)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    boundary = moment.replace(hour=7, minute=0, second=0, microsecond=0)
    if boundary < moment:
        boundary += timedelta(days=1)
    return boundary.timestamp()

"""The X API v2 stand-in's HTTP surface: routes, auth, rate-limit headers, paging, error bodies.

Wire formats follow the recorded responses in tests/fixtures/recorded/x (problem JSON errors,
``meta`` paging newest first, ``x-rate-limit-*`` headers on everything but a 401).
"""

from __future__ import annotations

import base64
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from desk.sandbox.control import control_response
from desk.sandbox.faults import Fault, FaultPlan
from desk.sandbox.oauth1 import OAuth1Keys, verify
from desk.sandbox.wire import JSON_X, Request, Response, parse_x_time
from desk.sandbox.xnet import (
    EXPANSIONS,
    SEARCH_WINDOW_SECONDS,
    TWEET_FIELDS,
    USER_FIELDS,
    Tweet,
    XNetwork,
    XUser,
)

PROBLEMS = "https://api.twitter.com/2/problems"
WINDOW_SECONDS = 15 * 60

# (limit with app bearer, limit with user context) per 15 minutes, from the X rate-limit docs.
LIMITS: dict[str, tuple[int, int]] = {
    "users_me": (75, 75),
    "mentions": (450, 300),
    "search": (450, 300),
    "tweets_lookup": (3500, 5000),
    "tweet_lookup": (450, 900),
    "create": (100, 100),
    "delete": (50, 50),
    "users_lookup": (300, 900),
}
USER_CONTEXT_ONLY = {"users_me", "create", "delete"}

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
DUPLICATE_CONTENT = "You are not allowed to create a Tweet with duplicate content."
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class XCredentials:
    bearer_token: str
    oauth: OAuth1Keys


class _ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail") or body.get("title"))
        self.status = status
        self.body = body


def invalid_request(parameter: str, value: str, message: str) -> _ApiError:
    return _ApiError(
        400,
        {
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": f"{PROBLEMS}/invalid-request",
        },
    )


def not_valid(parameter: str, value: str) -> _ApiError:
    return invalid_request(
        parameter, value, f"The `{parameter}` query parameter value [{value}] is not valid"
    )


def not_found(resource_type: str, parameter: str, value: str) -> dict[str, Any]:
    """One ``errors`` item for an id or name that matches nothing (X answers these with HTTP 200)."""
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": f"{PROBLEMS}/resource-not-found",
    }


def forbidden(detail: str, title: str = "Forbidden") -> _ApiError:
    return _ApiError(403, {"detail": detail, "type": "about:blank", "title": title, "status": 403})


def encode_token(kind: str, last_id: int) -> str:
    """Opaque paging token (looks like X's lowercase base36 tokens)."""
    raw = f"{kind}:{last_id}".encode()
    return "7140dibdnow9" + base64.b32encode(raw).decode().lower().rstrip("=")


def decode_token(kind: str, token: str) -> int | None:
    if not token.startswith("7140dibdnow9"):
        return None
    body = token[len("7140dibdnow9") :].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    got_kind, _, value = raw.partition(":")
    if got_kind != kind or not value.isdigit():
        return None
    return int(value)


class RateWindows:
    """Per (endpoint, caller) 15-minute windows, reported as ``x-rate-limit-*`` headers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}  # key -> (window start, used)

    def hit(self, endpoint: str, caller: str, user_context: bool) -> tuple[int, int, int]:
        limit = LIMITS[endpoint][1 if user_context else 0]
        now = int(time.time())
        with self._lock:
            start, used = self._windows.get((endpoint, caller), (now, 0))
            if now >= start + WINDOW_SECONDS:
                start, used = now, 0
            used += 1
            self._windows[(endpoint, caller)] = (start, used)
        return limit, max(0, limit - used), start + WINDOW_SECONDS

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class XApi:
    """Turns requests into X API v2 answers for one :class:`XNetwork`."""

    def __init__(self, network: XNetwork, credentials: XCredentials) -> None:
        self.net = network
        self.credentials = credentials
        self.rates = RateWindows()
        self._routes: list[tuple[str, re.Pattern[str], str, Callable[..., Response]]] = [
            ("GET", re.compile(r"/2/users/me"), "users_me", self._users_me),
            ("GET", re.compile(r"/2/users/([^/]+)/mentions"), "mentions", self._mentions),
            ("GET", re.compile(r"/2/tweets/search/recent"), "search", self._search),
            ("POST", re.compile(r"/2/tweets"), "create", self._create),
            ("GET", re.compile(r"/2/tweets"), "tweets_lookup", self._lookup_many),
            ("GET", re.compile(r"/2/tweets/([^/]+)"), "tweet_lookup", self._lookup_one),
            ("DELETE", re.compile(r"/2/tweets/([^/]+)"), "delete", self._delete),
            ("GET", re.compile(r"/2/users/by/username/([^/]+)"), "users_lookup", self._user_by_username),
            ("GET", re.compile(r"/2/users/([0-9]+)"), "users_lookup", self._user_by_id),
        ]

    # ------------------------------------------------------------------ entry

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return control_response(request, self.net.faults, self.state, lambda: self.net.posted, JSON_X)
        self.net.log.add(request)
        fault = take_pre_fault(self.net.faults, request)
        if fault is not None:
            return self._pre_fault(fault)
        route = self._route(request)
        if route is None:
            return Response.json(
                404,
                {
                    "title": "Not Found Error",
                    "type": f"{PROBLEMS}/resource-not-found",
                    "status": 404,
                    "detail": "Sorry, that page does not exist",
                },
                JSON_X,
            )
        endpoint, handler, args = route
        caller = self._authenticate(request)
        if caller is None:
            return Response.json(401, UNAUTHORIZED, JSON_X)
        user_context = caller == "user"
        limit, remaining, reset = self.rates.hit(endpoint, caller, user_context)
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(reset),
            "x-access-level": "read-write" if user_context else "read",
            "api-version": "2.159",
            "cache-control": "no-cache, no-store, max-age=0",
        }
        if (
            self.net.rate_limits_enforced
            and remaining == 0
            and self.rates_exhausted(endpoint, caller, user_context)
        ):
            return Response.json(429, self._problem_429(), JSON_X, headers)
        try:
            if endpoint in USER_CONTEXT_ONLY and not user_context:
                raise _ApiError(
                    403,
                    {
                        "title": "Unsupported Authentication",
                        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "  # noqa: E501
                        "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",  # noqa: E501
                        "type": f"{PROBLEMS}/unsupported-authentication",
                        "status": 403,
                    },
                )
            with self.net.lock:
                response = handler(request, user_context, *args)
        except _ApiError as exc:
            response = Response.json(exc.status, exc.body, JSON_X)
        response.headers.update(headers)
        return with_post_fault(self.net.faults, request, response)

    def rates_exhausted(self, endpoint: str, caller: str, user_context: bool) -> bool:
        # remaining hits 0 on the last allowed call; the call after it is the one refused.
        with self.rates._lock:
            _, used = self.rates._windows[(endpoint, caller)]
        return used > LIMITS[endpoint][1 if user_context else 0]

    def state(self) -> dict[str, Any]:
        return {
            "network": "x",
            **self.net.counts(),
            "faults": self.net.faults.pending(),
            "desk_user_id": self.net.desk_user_id,
            "desk_username": self.net.desk_username,
        }

    def _route(self, request: Request) -> tuple[str, Callable[..., Response], tuple[str, ...]] | None:
        for method, pattern, endpoint, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.fullmatch(request.path)
            if match:
                return endpoint, handler, match.groups()
        return None

    def _authenticate(self, request: Request) -> str | None:
        """``"app"`` for the bearer token, ``"user"`` for a valid OAuth 1.0a signature, else None."""
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return "app" if auth[7:].strip() == self.credentials.bearer_token else None
        if auth[:6].lower() == "oauth ":
            query_pairs = parse_qsl(request.raw_query, keep_blank_values=True)
            form_pairs = list(request.form.items())
            problem = verify(
                request.method, request.path, query_pairs, form_pairs, auth, self.credentials.oauth
            )
            return "user" if problem is None else None
        return None

    # ------------------------------------------------------------------ faults

    def _problem_429(self) -> dict[str, Any]:
        return {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }

    def _pre_fault(self, fault: Fault) -> Response:
        name, p = fault.name, fault.params
        now = int(time.time())
        if name == "server_error":
            # The API layer answered, so its rate-limit headers come along (a proxy's 502 page has none).
            return Response.json(
                503,
                {
                    "title": "Service Unavailable",
                    "detail": "Service Unavailable",
                    "type": "about:blank",
                    "status": 503,
                },
                JSON_X,
                {
                    "x-rate-limit-limit": "450",
                    "x-rate-limit-remaining": "449",
                    "x-rate-limit-reset": str(now + 900),
                },
            )
        if name == "html_502":
            return Response.text(502, HTML_502, "text/html")
        rate = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0"}
        if name == "rate_limit":
            return Response.json(
                429,
                self._problem_429(),
                JSON_X,
                {**rate, "x-rate-limit-reset": str(now + int(round(p["reset_in"])))},
            )
        if name == "rate_limit_text":
            return Response.text(
                429,
                "Rate limit exceeded\n",
                "text/plain;charset=utf-8",
                {**rate, "x-rate-limit-reset": str(now + int(round(p["reset_in"])))},
            )
        if name == "rate_limit_no_headers":
            return Response.json(429, self._problem_429(), JSON_X)
        if name == "rate_limit_retry_after":
            return Response.json(429, self._problem_429(), JSON_X, {"retry-after": str(p["retry_after"])})
        if name == "unauthorized":
            return Response.json(401, UNAUTHORIZED, JSON_X)
        if name == "duplicate_content":
            # The same refusal as a real duplicate (see _create), plus the posting window's headers.
            refusal = forbidden(DUPLICATE_CONTENT)
            return Response.json(
                refusal.status,
                refusal.body,
                JSON_X,
                {**rate, "x-rate-limit-remaining": "99", "x-rate-limit-reset": str(now + 900)},
            )
        if name == "usage_capped":
            return Response.json(
                429,
                {
                    "title": "UsageCapExceeded",
                    "detail": "Usage cap exceeded: Monthly product cap",
                    "type": f"{PROBLEMS}/usage-capped",
                    "period": "Monthly",
                    "scope": "Product",
                    "status": 429,
                },
                JSON_X,
            )
        raise AssertionError(f"unhandled pre fault {name}")  # FaultPlan only hands out known names

    # ------------------------------------------------------------------ parameters

    def _fields(self, request: Request, param: str, allowed: list[str]) -> list[str]:
        raw = request.query.get(param)
        if raw is None:
            return []
        values = [v for v in raw.split(",") if v != ""]
        for value in values:
            if value not in allowed:
                raise invalid_request(
                    param,
                    value,
                    f"The `{param}` query parameter value [{value}] is not one of [{','.join(allowed)}]",
                )
        return values

    def _int_param(self, request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query.get(name)
        if raw is None:
            return default
        if not raw.lstrip("-").isdigit() or not (low <= int(raw) <= high):
            raise invalid_request(
                name, raw, f"The `{name}` query parameter value [{raw}] is not between {low} and {high}"
            )
        return int(raw)

    def _id_param(self, request: Request, name: str) -> int | None:
        raw = request.query.get(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise not_valid(name, raw)
        return int(raw)

    def _time_param(self, request: Request, name: str) -> float | None:
        raw = request.query.get(name)
        if raw is None:
            return None
        try:
            return parse_x_time(raw)
        except ValueError:
            raise invalid_request(
                name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be a valid RFC 3339 date-time."
            ) from None

    # ------------------------------------------------------------------ rendering

    def _render(
        self, request: Request, tweets: list[Tweet], user_context: bool
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        tweet_fields = self._fields(request, "tweet.fields", TWEET_FIELDS)
        user_fields = self._fields(request, "user.fields", USER_FIELDS)
        expansions = self._fields(request, "expansions", EXPANSIONS)
        data = [self.net.render_tweet(t, tweet_fields, user_context=user_context) for t in tweets]
        includes: dict[str, Any] = {}
        user_ids: list[str] = []
        ref_tweets: list[Tweet] = []

        def want_user(uid: str | None) -> None:
            if uid and uid not in user_ids and self.net.user(uid) is not None:
                user_ids.append(uid)

        for tweet in tweets:
            if "author_id" in expansions:
                want_user(tweet.author_id)
            if "in_reply_to_user_id" in expansions:
                want_user(tweet.in_reply_to_user_id)
            if "entities.mentions.username" in expansions:
                for mention in self.net._entities(tweet.text).get("mentions", []):
                    want_user(mention.get("id"))
            if "referenced_tweets.id" in expansions and tweet.in_reply_to_tweet_id:
                parent = self.net.get(tweet.in_reply_to_tweet_id)
                if parent is not None and parent not in ref_tweets:
                    ref_tweets.append(parent)
                    if "referenced_tweets.id.author_id" in expansions:
                        want_user(parent.author_id)
        if user_ids:
            includes["users"] = [self.net.render_user(self.net.user(u), user_fields) for u in user_ids]  # type: ignore[arg-type]
        if ref_tweets:
            includes["tweets"] = [
                self.net.render_tweet(t, tweet_fields, user_context=user_context) for t in ref_tweets
            ]
        return data, includes

    def _timeline(
        self,
        request: Request,
        user_context: bool,
        *,
        mentions_only: bool,
        token_param: str,
        min_results: int,
        default_results: int,
        matcher: Callable[[Tweet], bool] | None = None,
    ) -> Response:
        max_results = self._int_param(request, "max_results", default_results, min_results, 100)
        since_id = self._id_param(request, "since_id")
        until_id = self._id_param(request, "until_id")
        start_time = self._time_param(request, "start_time")
        end_time = self._time_param(request, "end_time")
        token = request.query.get(token_param)
        kind = "m" if mentions_only else "s"
        below = until_id
        continuing = False
        if token:
            last = decode_token(kind, token)
            if last is None:
                raise not_valid(token_param, token)
            below = last if below is None else min(below, last)
            continuing = True
        oldest_allowed = time.time() - SEARCH_WINDOW_SECONDS if not mentions_only else None
        reachable = self.net.mentions_reachable_limit if mentions_only else None

        candidates: list[Tweet] = []
        position = 0
        # Without a reach cap, start the walk at the cursor instead of the newest post.
        walk_below = below if reachable is None else None
        for tweet in self.net.iter_newest_first(
            mentions_only=mentions_only, below=walk_below, above=since_id
        ):
            # The reach cap counts from the newest visible mention, as the real timeline does.
            position += 1
            if reachable is not None and position > reachable:
                break
            if below is not None and int(tweet.id) >= below:
                continue
            if end_time is not None and tweet.created >= end_time:
                continue
            if start_time is not None and tweet.created < start_time:
                break
            if oldest_allowed is not None and tweet.created < oldest_allowed:
                break
            if matcher is not None and not matcher(tweet):
                continue
            candidates.append(tweet)
            if len(candidates) > max_results:
                break
        page = candidates[:max_results]
        has_more = len(candidates) > max_results

        paging = self.net.faults.take("paging", request.method, request.path, continuation=continuing)
        claimed_count: int | None = None
        next_token = encode_token(kind, int(page[-1].id)) if has_more and page else None
        if paging is not None:
            if paging.name == "repeat_cursor" and token:
                next_token = token
            elif paging.name == "duplicate_item" and token:
                previous = self.net._tweets.get(str(decode_token(kind, token)))
                if previous is not None:
                    page = [previous, *page]
            elif paging.name == "short_page" and len(page) > 1:
                claimed_count = len(page)
                page = page[: len(page) // 2]
                next_token = encode_token(kind, int(page[-1].id))

        data, includes = self._render(request, page, user_context)
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if includes:
            body["includes"] = includes
        meta: dict[str, Any] = {}
        if data:
            meta["newest_id"] = data[0]["id"]
            meta["oldest_id"] = data[-1]["id"]
        meta["result_count"] = claimed_count if claimed_count is not None else len(data)
        if next_token:
            meta["next_token"] = next_token
        body["meta"] = meta
        return Response.json(200, body, JSON_X)

    # ------------------------------------------------------------------ endpoints

    def _users_me(self, request: Request, user_context: bool) -> Response:
        user = self.net.user(self.net.desk_user_id)
        assert user is not None
        fields = self._fields(request, "user.fields", USER_FIELDS)
        return Response.json(200, {"data": self.net.render_user(user, fields)}, JSON_X)

    def _user_by_id(self, request: Request, user_context: bool, user_id: str) -> Response:
        return self._user_answer(request, self.net.user(user_id), "id", user_id)

    def _user_by_username(self, request: Request, user_context: bool, username: str) -> Response:
        return self._user_answer(request, self.net.user_by_username(username), "username", username)

    def _user_answer(self, request: Request, user: XUser | None, parameter: str, value: str) -> Response:
        fields = self._fields(request, "user.fields", USER_FIELDS)
        if user is None:
            return Response.json(200, {"errors": [not_found("user", parameter, value)]}, JSON_X)
        return Response.json(200, {"data": self.net.render_user(user, fields)}, JSON_X)

    def _mentions(self, request: Request, user_context: bool, user_id: str) -> Response:
        if not user_id.isdigit():
            raise not_valid("id", user_id)
        if user_id != self.net.desk_user_id:
            # Nobody else's mentions live in this sandbox: an empty timeline, as X sends it.
            self._int_param(request, "max_results", 10, 5, 100)
            return Response.json(200, {"meta": {"result_count": 0}}, JSON_X)
        return self._timeline(
            request,
            user_context,
            mentions_only=True,
            token_param="pagination_token",
            min_results=5,
            default_results=10,
        )

    def _search(self, request: Request, user_context: bool) -> Response:
        query = request.query.get("query")
        if not query:
            raise invalid_request("query", "", "The `query` query parameter can not be empty")
        if len(query) > 512:
            raise invalid_request(
                "query",
                query,
                "There were errors processing your request: Rules must be 512 characters or less (at position 1)",  # noqa: E501
            )
        try:
            matcher = compile_query(query, self.net)
        except ValueError as exc:
            raise invalid_request(
                "query", query, f"There were errors processing your request: {exc}"
            ) from None
        return self._timeline(
            request,
            user_context,
            mentions_only=False,
            token_param="next_token",
            min_results=10,
            default_results=10,
            matcher=matcher,
        )

    def _lookup_many(self, request: Request, user_context: bool) -> Response:
        raw = request.query.get("ids", "")
        ids = [i for i in raw.split(",") if i != ""]
        if not ids or len(ids) > 100:
            raise invalid_request("ids", raw, f"size [{len(ids)}] is not between 1 and 100")
        for tweet_id in ids:
            if not tweet_id.isdigit():
                raise not_valid("ids", tweet_id)
        found: list[Tweet] = []
        errors: list[dict[str, Any]] = []
        for tweet_id in ids:
            tweet = self.net.get(tweet_id)
            if tweet is None:
                errors.append(not_found("tweet", "ids", tweet_id))
            elif tweet not in found:
                found.append(tweet)
        data, includes = self._render(request, found, user_context)
        errors.extend(self._field_auth_errors(request, found, user_context))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        return Response.json(200, body, JSON_X)

    def _field_auth_errors(
        self, request: Request, tweets: list[Tweet], user_context: bool
    ) -> list[dict[str, Any]]:
        """Private metrics need user context and the account's own posts; others get a partial error."""
        asked = set(self._fields(request, "tweet.fields", TWEET_FIELDS)) & {
            "non_public_metrics",
            "organic_metrics",
        }
        errors = []
        for field in sorted(asked):
            for tweet in tweets:
                if not (user_context and tweet.posted_by_desk):
                    errors.append(
                        {
                            "value": tweet.id,
                            "detail": f"Sorry, you are not authorized to access '{field}' on the Tweet with ids {tweet.id}.",  # noqa: E501
                            "title": "Field Authorization Error",
                            "resource_type": "tweet",
                            "parameter": field,
                            "resource_id": tweet.id,
                            "type": f"{PROBLEMS}/not-authorized-for-field",
                            "section": "data",
                            "field": field,
                        }
                    )
        return errors

    def _lookup_one(self, request: Request, user_context: bool, tweet_id: str) -> Response:
        if not tweet_id.isdigit():
            raise not_valid("id", tweet_id)
        tweet = self.net.get(tweet_id)
        if tweet is None:
            return Response.json(200, {"errors": [not_found("tweet", "id", tweet_id)]}, JSON_X)
        data, includes = self._render(request, [tweet], user_context)
        body: dict[str, Any] = {"data": data[0]}
        if includes:
            body["includes"] = includes
        errors = self._field_auth_errors(request, [tweet], user_context)
        if errors:
            body["errors"] = errors
        return Response.json(200, body, JSON_X)

    def _create(self, request: Request, user_context: bool) -> Response:
        try:
            payload = request.json_body()
        except (ValueError, UnicodeDecodeError):
            raise _ApiError(
                400,
                {
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": f"{PROBLEMS}/invalid-request",
                    "errors": [{"message": "Request body is not valid JSON"}],
                },
            ) from None
        if not isinstance(payload, dict):
            payload = {}
        text = payload.get("text")
        if not isinstance(text, str) or text == "":
            raise _ApiError(
                400,
                {
                    "errors": [{"message": "$.text: is missing but it is required"}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": f"{PROBLEMS}/invalid-request",
                },
            )
        if weighted_length(text) > 280:
            raise forbidden(
                "Your Tweet text is too long. For more information on how Twitter determines text "
                "length see https://github.com/twitter/twitter-text."
            )
        reply = payload.get("reply") or {}
        in_reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if in_reply_to is not None:
            in_reply_to = str(in_reply_to)
            if self.net.get(in_reply_to) is None:
                raise forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.")
        if self.net.is_duplicate_of_own(text):
            raise forbidden(DUPLICATE_CONTENT)
        tweet = self.net.create_post(text, in_reply_to)
        return Response.json(
            201,
            {"data": {"edit_history_tweet_ids": [tweet.id], "id": tweet.id, "text": tweet.text}},
            JSON_X,
            {"location": f"https://api.twitter.com/2/tweets/{tweet.id}"},
        )

    def _delete(self, request: Request, user_context: bool, tweet_id: str) -> Response:
        tweet = self.net._tweets.get(tweet_id)
        if tweet is None or tweet.deleted:
            return Response.json(200, {"data": {"deleted": False}}, JSON_X)
        if tweet.author_id != self.net.desk_user_id:
            raise forbidden("You are not allowed to delete this Tweet.")
        self.net.delete_post(tweet_id)
        return Response.json(200, {"data": {"deleted": True}}, JSON_X)


# Fault handling both stand-ins share (graphapi uses these too).


def take_pre_fault(faults: FaultPlan, request: Request) -> Fault | None:
    """The ``pre`` fault that replaces this request's answer, if one is pending.

    A ``timeout`` is served here and not returned: it is a slow answer, not an error, so the
    request then goes on as normal (a client whose timeout is shorter gives up first).
    """
    fault = faults.take("pre", request.method, request.path)
    if fault is not None and fault.name == "timeout":
        time.sleep(fault.params["seconds"])
        return None
    return fault


def with_post_fault(faults: FaultPlan, request: Request, response: Response) -> Response:
    """``response``, damaged by the ``post`` fault pending for this request if there is one."""
    fault = faults.take("post", request.method, request.path)
    return response if fault is None else apply_post_fault(fault, response)


def apply_post_fault(fault: Fault, response: Response) -> Response:
    """Damage a finished answer's bytes the way broken proxies and networks do."""
    if fault.name == "malformed_json":
        body = response.body[: max(1, len(response.body) * 2 // 3)] + b'",,}'
        return Response(200, body, {**response.headers})
    if fault.name == "truncated_body":
        return Response(200, response.body, {**response.headers}, truncate=True)
    if fault.name == "no_content_type":
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return Response(200, response.body, headers)
    raise AssertionError(f"unhandled post fault {fault.name}")


_URL_IN_TEXT = re.compile(r"https?://\S+")
# twitter-text v3: these code points weigh 1, all others (CJK, emoji ...) weigh 2; a URL weighs 23.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def weighted_length(text: str) -> int:
    """Post length as X counts it (twitter-text v3 weights, URLs as 23, NFC-normalised)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    last = 0
    for match in _URL_IN_TEXT.finditer(text):
        total += _weigh(text[last : match.start()]) + 23
        last = match.end()
    return total + _weigh(text[last:])


def _weigh(chunk: str) -> int:
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in _LIGHT_RANGES) else 2 for ch in chunk)


_TOKEN_RE = re.compile(r'-?"[^"]*"|\S+')


def compile_query(query: str, net: XNetwork) -> Callable[[Tweet], bool]:
    """Recent-search rules, simplified: every term must match (AND); ``-term`` excludes; ``"a phrase"``;
    ``from:``, ``to:``, ``lang:``, ``is:reply``, ``is:retweet``, ``@user`` and ``#tag`` as on X.
    ``OR`` and other operators are refused with a reason."""
    tests: list[tuple[bool, Callable[[Tweet], bool]]] = []
    for raw in _TOKEN_RE.findall(query):
        negate = raw.startswith("-") and len(raw) > 1
        term = raw[1:] if negate else raw
        if term == "OR":
            raise ValueError("OR is not supported by the sandbox's search")
        low = term.lower()
        if low.startswith('"') and low.endswith('"') and len(low) >= 2:
            tests.append((negate, _phrase_test(low[1:-1])))
        elif low.startswith("from:"):
            tests.append((negate, _from_test(net, low[5:].lstrip("@"))))
        elif low.startswith("to:"):
            tests.append((negate, _to_test(net, low[3:].lstrip("@"))))
        elif low.startswith("lang:"):
            tests.append((negate, _lang_test(low[5:])))
        elif low == "is:reply":
            tests.append((negate, lambda t: t.in_reply_to_tweet_id is not None))
        elif low == "is:retweet":
            tests.append((negate, lambda t: t.text.startswith("RT @")))
        elif ":" in low and not low.startswith(("@", "#", "http")):
            raise ValueError(f"Reference to invalid operator '{low.split(':', 1)[0]}'")
        else:
            tests.append((negate, _word_test(low)))
    if not tests:
        raise ValueError("There were no search terms")

    def match(tweet: Tweet) -> bool:
        return all(test(tweet) != negate for negate, test in tests)

    return match


# One test per search term, each closing over its own term (so later terms do not rebind it).
def _phrase_test(phrase: str) -> Callable[[Tweet], bool]:
    return lambda t: phrase in t.text.lower()


def _from_test(net: XNetwork, name: str) -> Callable[[Tweet], bool]:
    def test(t: Tweet) -> bool:
        u = net.user(t.author_id)
        return u is not None and (u.username.lower() == name or u.id == name)

    return test


def _to_test(net: XNetwork, name: str) -> Callable[[Tweet], bool]:
    def test(t: Tweet) -> bool:
        if t.in_reply_to_user_id is None:
            return False
        u = net.user(t.in_reply_to_user_id)
        return u is not None and u.username.lower() == name

    return test


def _lang_test(lang: str) -> Callable[[Tweet], bool]:
    return lambda t: t.lang == lang


def _word_test(word: str) -> Callable[[Tweet], bool]:
    return lambda t: _has_word(t.text.lower(), word)


def _has_word(text: str, word: str) -> bool:
    """Keyword match on word boundaries, like X (``down`` does not match ``download``)."""
    start = 0
    while True:
        i = text.find(word, start)
        if i < 0:
            return False
        before = text[i - 1] if i > 0 else " "
        j = i + len(word)
        after = text[j] if j < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = i + 1

"""State of the X stand-in: users, posts, what the desk posted; v2 JSON rendering of them.

Thread-safe: the HTTP threads and a test thread share one :class:`XNetwork` under its lock.
Posts scheduled by an incident stay invisible until the :class:`IncidentClock` reaches them.
"""

from __future__ import annotations

import bisect
import random
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desk.sandbox.clock import IncidentClock
from desk.sandbox.faults import X_FAULTS
from desk.sandbox.growth import x_public_metrics
from desk.sandbox.network import Network, as_epoch
from desk.sandbox.wire import SnowflakeIds, parse_x_time, x_time

TWEET_FIELDS = (
    "attachments,author_id,card_uri,community_id,context_annotations,conversation_id,created_at,"
    "display_text_range,edit_controls,edit_history_tweet_ids,entities,geo,id,in_reply_to_user_id,lang,"
    "media_metadata,non_public_metrics,note_tweet,organic_metrics,possibly_sensitive,promoted_metrics,"
    "public_metrics,referenced_tweets,reply_settings,scopes,source,text,withheld"
).split(",")
USER_FIELDS = (
    "affiliation,connection_status,created_at,description,entities,id,location,most_recent_tweet_id,name,"
    "pinned_tweet_id,profile_banner_url,profile_image_url,protected,public_metrics,receives_your_dm,"
    "subscription_type,url,username,verified,verified_type,withheld"
).split(",")
EXPANSIONS = (
    "attachments.media_keys,attachments.poll_ids,author_id,edit_history_tweet_ids,entities.mentions.username,"
    "geo.place_id,in_reply_to_user_id,entities.note.mentions.username,referenced_tweets.id,"
    "referenced_tweets.id.attachments.media_keys,referenced_tweets.id.author_id"
).split(",")
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER_FIELDS = ("id", "name", "username")
SEARCH_WINDOW_SECONDS = 7 * 24 * 3600
# A customer's post before anyone has reacted (copy it: reply counts grow in place).
_ZERO_METRICS = {
    "retweet_count": 0,
    "reply_count": 0,
    "like_count": 0,
    "quote_count": 0,
    "bookmark_count": 0,
    "impression_count": 0,
}

_MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,15})")
_HASHTAG_RE = re.compile(r"(?<![\w#])#(\w+)")
_URL_RE = re.compile(r"https?://\S+")


@dataclass(slots=True)
class Tweet:
    id: str
    text: str
    author_id: str
    created: float
    visible_at: float
    conversation_id: str
    in_reply_to_tweet_id: str | None
    in_reply_to_user_id: str | None
    lang: str
    mentions_desk: bool
    metrics: dict[str, int] | None  # fixed counts; None = the desk's own post, whose counts grow
    source: str = "Twitter for iPhone"
    posted_by_desk: bool = False
    deleted: bool = False


@dataclass(slots=True)
class XUser:
    id: str
    username: str
    name: str
    followers_count: int = 0
    following_count: int = 0
    tweet_count: int = 0
    listed_count: int = 0
    created: float = 1262304000.0
    description: str = ""
    location: str | None = None
    verified: bool = False
    protected: bool = False


class XNetwork(Network):
    """The X stand-in's world. Public methods are safe to call from any thread."""

    def __init__(
        self,
        clock: IncidentClock,
        *,
        desk_user_id: str = "1580000000000000001",
        desk_username: str = "NimbusVoice",
        desk_name: str = "Nimbus Voice",
        desk_followers: int = 48210,
    ) -> None:
        super().__init__(clock, X_FAULTS)
        self.desk_user_id = desk_user_id
        self.desk_username = desk_username
        # Off by default: counts and headers are real, but a long demo is not cut off by a 429.
        self.rate_limits_enforced = False
        # The real mentions timeline reaches only the 800 newest; None = no cap (benchmarks need more).
        self.mentions_reachable_limit: int | None = None
        self._users: dict[str, XUser] = {}
        self._by_username: dict[str, str] = {}
        self._tweets: dict[str, Tweet] = {}
        self._mention_ids: list[int] = []  # sorted ascending
        self._all_ids: list[int] = []  # sorted ascending
        self._live_ids = SnowflakeIds(worker=7)
        self._scheduled_ids = SnowflakeIds(worker=5)
        self._dated_ids = SnowflakeIds(worker=6)
        self._seq = 0
        self.add_user(desk_user_id, desk_username, desk_name, followers_count=desk_followers)

    # ------------------------------------------------------------------ building

    def add_user(
        self,
        id: str,
        username: str,
        name: str,
        followers_count: int = 0,
        **extra: Any,  # noqa: A002
    ) -> dict[str, Any]:
        user = XUser(id=str(id), username=username, name=name, followers_count=int(followers_count))
        for key, value in extra.items():
            if not hasattr(user, key):
                raise ValueError(f"unknown user attribute {key!r}")
            setattr(user, key, value)
        with self.lock:
            self._users[user.id] = user
            self._by_username[username.lower()] = user.id
        return self.render_user(user, USER_FIELDS)

    def _ensure_user(self, author_id: str) -> XUser:
        user = self._users.get(author_id)
        if user is None:
            user = XUser(id=author_id, username=f"user{author_id[-8:]}", name=f"User {author_id[-4:]}")
            self._users[author_id] = user
            self._by_username[user.username.lower()] = author_id
        return user

    def add_tweet(
        self,
        text: str,
        author_id: str,
        *,
        id: str | None = None,  # noqa: A002 - the contract's name
        created_at: datetime | str | float | None = None,
        in_reply_to_tweet_id: str | None = None,
        conversation_id: str | None = None,
        lang: str = "en",
        mentions_desk: bool = True,
        metrics: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Add a post visible at once (tests); returns it as a v2 tweet dict with every field."""
        created = as_epoch(created_at, time.time(), parse_x_time)
        with self.lock:
            if id is not None:
                tweet_id = str(id)
            elif created_at is None:
                tweet_id = self._live_ids.for_time(created)
            else:
                # An explicit timestamp gets the id X would have given it then (ids are time-ordered).
                self._seq += 1
                tweet_id = self._dated_ids.unordered_for_time(created, self._seq)
            tweet = self._make(
                tweet_id,
                text,
                str(author_id),
                created,
                created,
                in_reply_to_tweet_id,
                conversation_id,
                lang,
                mentions_desk,
                metrics,
            )
            # Visible now, whatever the timestamp says: a test adding an item wants to read it back.
            tweet.visible_at = min(created, time.time())
            self._insert(tweet)
            return self.render_tweet(tweet, TWEET_FIELDS, user_context=False)

    def schedule_tweet(
        self,
        text: str,
        author_id: str,
        offset: float,
        *,
        in_reply_to_tweet_id: str | None = None,
        lang: str = "en",
        mentions_desk: bool = True,
        metrics: dict[str, int] | None = None,
        source: str = "Twitter for iPhone",
    ) -> str:
        """Add an incident post that appears when the clock reaches ``offset``; returns its id."""
        at = self.clock.visible_at(offset)
        with self.lock:
            self._seq += 1
            tweet_id = self._scheduled_ids.unordered_for_time(at, self._seq)
            tweet = self._make(
                tweet_id, text, author_id, at, at, in_reply_to_tweet_id, None, lang, mentions_desk, metrics
            )
            tweet.source = source
            self._insert(tweet)
            return tweet_id

    def _make(
        self,
        tweet_id: str,
        text: str,
        author_id: str,
        created: float,
        visible_at: float,
        in_reply_to_tweet_id: str | None,
        conversation_id: str | None,
        lang: str,
        mentions_desk: bool,
        metrics: dict[str, int] | None,
    ) -> Tweet:
        if not tweet_id.isdigit():
            raise ValueError("tweet ids are strings of digits")
        if tweet_id in self._tweets:
            raise ValueError(f"tweet {tweet_id} already exists")
        self._ensure_user(author_id)
        reply_user = None
        if in_reply_to_tweet_id is not None:
            parent = self._tweets.get(str(in_reply_to_tweet_id))
            if parent is not None:
                reply_user = parent.author_id
                conversation_id = conversation_id or parent.conversation_id
        fixed = None  # the desk's own posts, unless given counts: theirs grow with age
        if metrics is not None or author_id != self.desk_user_id:
            fixed = {**_ZERO_METRICS, **{k: int(v) for k, v in (metrics or {}).items()}}
        return Tweet(
            id=tweet_id,
            text=text,
            author_id=author_id,
            created=created,
            visible_at=visible_at,
            conversation_id=conversation_id or tweet_id,
            in_reply_to_tweet_id=str(in_reply_to_tweet_id) if in_reply_to_tweet_id else None,
            in_reply_to_user_id=reply_user,
            lang=lang,
            mentions_desk=mentions_desk and author_id != self.desk_user_id,
            metrics=fixed,
        )

    def _insert(self, tweet: Tweet) -> None:
        self._tweets[tweet.id] = tweet
        key = int(tweet.id)
        bisect.insort(self._all_ids, key)
        if tweet.mentions_desk:
            bisect.insort(self._mention_ids, key)
        user = self._users.get(tweet.author_id)
        if user is not None:
            user.tweet_count += 1

    def bulk_generate(self, n: int, seed: int = 0) -> None:
        """``n`` mentions from the real-tweet pool, all visible now, spread over the last six hours.

        Built in one pass and sorted once, so 20,000 take well under a second.
        """
        from desk.sandbox.demo import load_pool

        if n <= 0:
            return
        rng = random.Random(seed)
        pool = load_pool()
        texts = [p["text"] for p in pool]
        langs = [p.get("lang", "en") for p in pool]
        end = time.time() - 1.0
        start = end - 6 * 3600
        n_authors = max(1, n // 3)
        with self.lock:
            author_ids = []
            for i in range(n_authors):
                uid = str(9_000_000_000_000 + seed * 10_000_000 + i)
                if uid not in self._users:
                    followers = int(rng.paretovariate(1.2) * 40)
                    user = XUser(
                        id=uid, username=f"cust{seed}_{i}", name=f"Customer {i}", followers_count=followers
                    )
                    self._users[uid] = user
                    self._by_username[user.username.lower()] = uid
                author_ids.append(uid)
            stamps = sorted(rng.uniform(start, end) for _ in range(n))
            new_keys = []
            gen = SnowflakeIds(worker=(300 + seed) & 0x3FF)
            for stamp in stamps:
                k = rng.randrange(len(texts))
                tweet_id = gen.for_time(stamp)
                if tweet_id in self._tweets:
                    continue
                tweet = Tweet(
                    id=tweet_id,
                    text=texts[k],
                    author_id=author_ids[rng.randrange(n_authors)],
                    created=stamp,
                    visible_at=stamp,
                    conversation_id=tweet_id,
                    in_reply_to_tweet_id=None,
                    in_reply_to_user_id=None,
                    lang=langs[k],
                    mentions_desk=True,
                    metrics={
                        **_ZERO_METRICS,
                        "like_count": rng.randrange(3),
                        "impression_count": rng.randrange(5, 400),
                    },
                )
                self._tweets[tweet_id] = tweet
                new_keys.append(int(tweet_id))
            self._all_ids = sorted(self._all_ids + new_keys)
            self._mention_ids = sorted(self._mention_ids + new_keys)

    # ------------------------------------------------------------------ reading

    def user(self, user_id: str) -> XUser | None:
        return self._users.get(user_id)

    def user_by_username(self, username: str) -> XUser | None:
        uid = self._by_username.get(username.lower())
        return self._users.get(uid) if uid else None

    def visible(self, tweet: Tweet, at: float) -> bool:
        return not tweet.deleted and tweet.visible_at <= at

    def get(self, tweet_id: str, at: float | None = None) -> Tweet | None:
        tweet = self._tweets.get(tweet_id)
        if tweet is None or not self.visible(tweet, time.time() if at is None else at):
            return None
        return tweet

    def iter_newest_first(
        self, *, mentions_only: bool, below: int | None = None, above: int | None = None
    ) -> Iterator[Tweet]:
        """Visible posts with ``above < id < below``, newest first (ids are time-ordered)."""
        at = time.time()
        keys = self._mention_ids if mentions_only else self._all_ids
        hi = bisect.bisect_left(keys, below) if below is not None else len(keys)
        for i in range(hi - 1, -1, -1):
            key = keys[i]
            if above is not None and key <= above:
                return
            tweet = self._tweets[str(key)]
            if self.visible(tweet, at):
                yield tweet

    def counts(self) -> dict[str, int]:
        at = time.time()
        with self.lock:
            visible_mentions = sum(1 for k in self._mention_ids if self.visible(self._tweets[str(k)], at))
            return {
                "users": len(self._users),
                "tweets": len(self._tweets),
                "mentions_total": len(self._mention_ids),
                "mentions_visible": visible_mentions,
                "posted": len(self._posted),
            }

    # ------------------------------------------------------------------ writing (through the API)

    def create_post(self, text: str, in_reply_to_tweet_id: str | None) -> Tweet:
        with self.lock:
            created = time.time()
            tweet_id = self._live_ids.for_time(created)
            tweet = self._make(
                tweet_id,
                text,
                self.desk_user_id,
                created,
                created,
                in_reply_to_tweet_id,
                None,
                "en",
                "@" + self.desk_username.lower() in text.lower(),
                None,
            )
            tweet.source = "Outage Desk"
            tweet.posted_by_desk = True
            tweet.mentions_desk = False
            self._insert(tweet)
            if in_reply_to_tweet_id and in_reply_to_tweet_id in self._tweets:
                parent = self._tweets[in_reply_to_tweet_id]
                if parent.metrics is not None:
                    parent.metrics["reply_count"] = parent.metrics.get("reply_count", 0) + 1
            self._posted.append(
                {
                    "id": tweet_id,
                    "text": text,
                    "in_reply_to_tweet_id": in_reply_to_tweet_id,
                    "created_at": x_time(created),
                }
            )
            return tweet

    def is_duplicate_of_own(self, text: str) -> bool:
        """X refuses a post whose text equals one of the account's recent posts."""
        with self.lock:
            return any(p["text"] == text for p in self._posted if not self._tweets[p["id"]].deleted)

    def delete_post(self, tweet_id: str) -> bool:
        with self.lock:
            tweet = self._tweets.get(tweet_id)
            if tweet is None or tweet.deleted:
                return False
            tweet.deleted = True
            return True

    # ------------------------------------------------------------------ rendering

    def metrics_of(self, tweet: Tweet) -> dict[str, int]:
        if tweet.metrics is not None:
            return dict(tweet.metrics)
        age = self.clock.age_in_incident_seconds(tweet.created)
        return x_public_metrics(tweet.id, age)

    def render_tweet(self, tweet: Tweet, fields: Iterable[str], *, user_context: bool) -> dict[str, Any]:
        wanted = set(fields) | set(DEFAULT_TWEET_FIELDS)
        out: dict[str, Any] = {"edit_history_tweet_ids": [tweet.id], "id": tweet.id, "text": tweet.text}
        if "author_id" in wanted:
            out["author_id"] = tweet.author_id
        if "created_at" in wanted:
            out["created_at"] = x_time(tweet.created)
        if "conversation_id" in wanted:
            out["conversation_id"] = tweet.conversation_id
        if "in_reply_to_user_id" in wanted and tweet.in_reply_to_user_id:
            out["in_reply_to_user_id"] = tweet.in_reply_to_user_id
        if "referenced_tweets" in wanted and tweet.in_reply_to_tweet_id:
            out["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to_tweet_id}]
        if "lang" in wanted:
            out["lang"] = tweet.lang
        if "source" in wanted:
            out["source"] = tweet.source
        if "possibly_sensitive" in wanted:
            out["possibly_sensitive"] = False
        if "reply_settings" in wanted:
            out["reply_settings"] = "everyone"
        if "edit_controls" in wanted:
            out["edit_controls"] = {
                "edits_remaining": 5,
                "is_edit_eligible": not tweet.in_reply_to_tweet_id,
                "editable_until": x_time(tweet.created + 3600),
            }
        if "entities" in wanted:
            entities = self._entities(tweet.text)
            if entities:
                out["entities"] = entities
        if "public_metrics" in wanted:
            metrics = self.metrics_of(tweet)
            # bookmark_count arrived late in the API; customers' posts here predate it like real recordings.
            if tweet.metrics is not None and not tweet.metrics.get("bookmark_count"):
                metrics.pop("bookmark_count", None)
            out["public_metrics"] = metrics
        if user_context and tweet.posted_by_desk:
            if "non_public_metrics" in wanted or "organic_metrics" in wanted:
                m = self.metrics_of(tweet)
                clicks = m["impression_count"] // 90
                profile = m["impression_count"] // 140
                if "non_public_metrics" in wanted:
                    out["non_public_metrics"] = {
                        "impression_count": m["impression_count"],
                        "url_link_clicks": clicks,
                        "user_profile_clicks": profile,
                        "engagements": clicks
                        + profile
                        + m["like_count"]
                        + m["reply_count"]
                        + m["retweet_count"],
                    }
                if "organic_metrics" in wanted:
                    out["organic_metrics"] = {
                        "impression_count": m["impression_count"],
                        "like_count": m["like_count"],
                        "reply_count": m["reply_count"],
                        "retweet_count": m["retweet_count"],
                        "url_link_clicks": clicks,
                        "user_profile_clicks": profile,
                    }
        return out

    def _entities(self, text: str) -> dict[str, Any]:
        entities: dict[str, Any] = {}
        mentions = []
        for m in _MENTION_RE.finditer(text):
            item: dict[str, Any] = {"start": m.start(), "end": m.end(), "username": m.group(1)}
            user = self.user_by_username(m.group(1))
            if user is not None:
                item["id"] = user.id
            mentions.append(item)
        if mentions:
            entities["mentions"] = mentions
        tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG_RE.finditer(text)]
        if tags:
            entities["hashtags"] = tags
        urls = [
            {
                "start": m.start(),
                "end": m.end(),
                "url": m.group(0),
                "expanded_url": m.group(0),
                "display_url": m.group(0).split("://", 1)[-1][:26],
            }
            for m in _URL_RE.finditer(text)
        ]
        if urls:
            entities["urls"] = urls
        return entities

    def render_user(self, user: XUser, fields: Iterable[str]) -> dict[str, Any]:
        wanted = set(fields) | set(DEFAULT_USER_FIELDS)
        out: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        if "created_at" in wanted:
            out["created_at"] = x_time(user.created)
        if "description" in wanted:
            out["description"] = user.description
        if "location" in wanted and user.location:
            out["location"] = user.location
        if "protected" in wanted:
            out["protected"] = user.protected
        if "verified" in wanted:
            out["verified"] = user.verified
        if "verified_type" in wanted:
            out["verified_type"] = "business" if user.id == self.desk_user_id else "none"
        if "profile_image_url" in wanted:
            out["profile_image_url"] = (
                "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"
            )
        if "url" in wanted:
            out["url"] = ""
        if "public_metrics" in wanted:
            out["public_metrics"] = {
                "followers_count": user.followers_count,
                "following_count": user.following_count,
                "tweet_count": user.tweet_count,
                "listed_count": user.listed_count,
            }
        return out

"""State of the Graph API stand-in: one Facebook Page, its posts, visitor posts and comments.

Thread-safe under :attr:`GraphNetwork.lock`. Incident items stay invisible until the
:class:`IncidentClock` reaches them. Ids follow Graph's shapes: a post is
``<page id>_<post object id>``, a comment (or reply) ``<post object id>_<comment id>``.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desk.sandbox.clock import IncidentClock
from desk.sandbox.faults import GRAPH_FAULTS
from desk.sandbox.growth import graph_post_counts
from desk.sandbox.network import Network, as_epoch
from desk.sandbox.wire import graph_time, parse_graph_time


@dataclass(slots=True)
class Post:
    id: str
    message: str
    from_id: str
    from_name: str
    created: float
    visible_at: float
    by_page: bool
    fixed_reactions: int | None = None  # None: counts grow with age (the Page's own posts)
    fixed_shares: int = 0
    status_type: str = "mobile_status_update"


@dataclass(slots=True)
class Comment:
    id: str
    post_id: str
    parent_id: str | None  # the top-level comment this replies to
    message: str
    from_id: str
    from_name: str
    created: float
    visible_at: float
    like_count: int = 0
    by_page: bool = False
    deleted: bool = False


def object_part(post_id: str) -> str:
    """``<page>_<obj>`` → ``<obj>`` (the part a comment id starts with)."""
    return post_id.split("_", 1)[-1]


class GraphNetwork(Network):
    """The Graph stand-in's world. Public methods are safe to call from any thread."""

    def __init__(
        self,
        clock: IncidentClock,
        *,
        page_id: str = "104857392018374",
        page_name: str = "Nimbus Voice",
        page_followers: int = 31874,
    ) -> None:
        super().__init__(clock, GRAPH_FAULTS)
        self.page_id = page_id
        self.page_name = page_name
        self.page_followers = page_followers
        self._posts: dict[str, Post] = {}
        self._comments: dict[str, Comment] = {}
        # Chronological (created, id) keys of every comment per post, and of replies per comment.
        self._post_comments: dict[str, list[tuple[float, str]]] = {}
        self._replies: dict[str, list[tuple[float, str]]] = {}
        self._post_numbers = itertools.count(122_104_857_300_000_001, 7)
        self._comment_numbers = itertools.count(1_204_857_300_000_001, 3)

    # ------------------------------------------------------------------ building

    def _new_post_id(self) -> str:
        return f"{self.page_id}_{next(self._post_numbers)}"

    def _new_comment_id(self, post_id: str) -> str:
        return f"{object_part(post_id)}_{next(self._comment_numbers)}"

    def add_post(
        self,
        message: str,
        *,
        from_id: str | None = None,
        from_name: str | None = None,
        id: str | None = None,  # noqa: A002 - the contract's name
        created_time: datetime | str | float | None = None,
        by_page: bool = False,
    ) -> dict[str, Any]:
        """A post visible at once: the Page's own (``by_page``) or a visitor's. Returns it as Graph JSON."""
        created = as_epoch(created_time, time.time(), parse_graph_time)
        with self.lock:
            post = self._put_post(
                message, from_id, from_name, id, created, min(created, time.time()), by_page
            )
            return self.render_post_basic(post)

    def schedule_post(
        self,
        message: str,
        offset: float,
        *,
        by_page: bool,
        from_id: str | None = None,
        from_name: str | None = None,
        reactions: int | None = None,
        shares: int = 0,
    ) -> str:
        at = self.clock.visible_at(offset)
        with self.lock:
            post = self._put_post(message, from_id, from_name, None, at, at, by_page)
            if reactions is not None:
                post.fixed_reactions = reactions
            post.fixed_shares = shares
            return post.id

    def _put_post(
        self,
        message: str,
        from_id: str | None,
        from_name: str | None,
        post_id: str | None,
        created: float,
        visible_at: float,
        by_page: bool,
    ) -> Post:
        if by_page:
            from_id, from_name = self.page_id, self.page_name
        elif not from_id or not from_name:
            raise ValueError("a visitor post needs from_id and from_name")
        post_id = str(post_id) if post_id is not None else self._new_post_id()
        if post_id in self._posts:
            raise ValueError(f"post {post_id} already exists")
        post = Post(
            id=post_id,
            message=message,
            from_id=str(from_id),
            from_name=str(from_name),
            created=created,
            visible_at=visible_at,
            by_page=by_page,
            fixed_reactions=None if by_page else 0,
            status_type="mobile_status_update" if by_page else "wall_post",
        )
        self._posts[post_id] = post
        self._post_comments.setdefault(post_id, [])
        return post

    def add_comment(
        self,
        post_id: str,
        message: str,
        *,
        from_id: str,
        from_name: str,
        id: str | None = None,  # noqa: A002 - the contract's name
        created_time: datetime | str | float | None = None,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """A comment (or a reply, with ``parent_id``) visible at once. Returns it as Graph JSON."""
        created = as_epoch(created_time, time.time(), parse_graph_time)
        with self.lock:
            comment = self._put_comment(
                post_id,
                message,
                str(from_id),
                str(from_name),
                id,
                created,
                min(created, time.time()),
                parent_id,
                by_page=str(from_id) == self.page_id,
            )
            return self.render_comment_basic(comment)

    def schedule_comment(
        self,
        post_id: str,
        message: str,
        offset: float,
        *,
        from_id: str,
        from_name: str,
        parent_id: str | None = None,
        like_count: int = 0,
    ) -> str:
        at = self.clock.visible_at(offset)
        with self.lock:
            comment = self._put_comment(
                post_id, message, from_id, from_name, None, at, at, parent_id, by_page=from_id == self.page_id
            )
            comment.like_count = like_count
            return comment.id

    def _put_comment(
        self,
        post_id: str,
        message: str,
        from_id: str,
        from_name: str,
        comment_id: str | None,
        created: float,
        visible_at: float,
        parent_id: str | None,
        *,
        by_page: bool,
    ) -> Comment:
        if post_id not in self._posts:
            raise ValueError(f"no post {post_id}")
        if parent_id is not None:
            parent = self._comments.get(parent_id)
            if parent is None:
                raise ValueError(f"no comment {parent_id}")
            # Graph keeps threads one level deep: a reply to a reply hangs under the top comment.
            parent_id = parent.parent_id or parent.id
        comment_id = str(comment_id) if comment_id is not None else self._new_comment_id(post_id)
        if comment_id in self._comments:
            raise ValueError(f"comment {comment_id} already exists")
        comment = Comment(
            id=comment_id,
            post_id=post_id,
            parent_id=parent_id,
            message=message,
            from_id=from_id,
            from_name=from_name,
            created=created,
            visible_at=visible_at,
            by_page=by_page,
        )
        self._comments[comment_id] = comment
        bisect.insort(self._post_comments[post_id], (created, comment_id))
        if parent_id is not None:
            bisect.insort(self._replies.setdefault(parent_id, []), (created, comment_id))
        return comment

    def bulk_generate(self, n: int, seed: int = 0) -> None:
        """``n`` visible customer comments from the real-text pool under a few new Page posts, fast."""
        from desk.sandbox.demo import load_pool

        if n <= 0:
            return
        rng = random.Random(seed)
        texts = [p["text"] for p in load_pool()]
        end = time.time() - 1.0
        start = end - 6 * 3600
        n_posts = max(1, n // 500)
        with self.lock:
            posts = []
            for i in range(n_posts):
                at = start - 600 + i
                posts.append(
                    self._put_post(
                        f"Service update {i + 1}: we are looking into reports of calling problems.",
                        None,
                        None,
                        None,
                        at,
                        at,
                        True,
                    ).id
                )
            stamps = sorted(rng.uniform(start, end) for _ in range(n))
            for k, stamp in enumerate(stamps):
                post_id = posts[rng.randrange(n_posts)]
                cid = self._new_comment_id(post_id)
                who = rng.randrange(max(1, n // 3))
                comment = Comment(
                    id=cid,
                    post_id=post_id,
                    parent_id=None,
                    message=texts[rng.randrange(len(texts))],
                    from_id=str(8_100_000_000_000 + seed * 10_000_000 + who),
                    from_name=f"Customer {who}",
                    created=stamp,
                    visible_at=stamp,
                )
                self._comments[cid] = comment
                # Stamps are sorted, so appending keeps each post's list chronological.
                self._post_comments[post_id].append((stamp, cid))
                _ = k

    # ------------------------------------------------------------------ reading

    def post(self, post_id: str) -> Post | None:
        post = self._posts.get(post_id)
        return post if post is not None and post.visible_at <= time.time() else None

    def comment(self, comment_id: str) -> Comment | None:
        comment = self._comments.get(comment_id)
        if comment is None or comment.deleted or comment.visible_at > time.time():
            return None
        return comment

    def posts_newest_first(self, kind: str) -> list[Post]:
        """Visible posts for ``feed`` (all), ``posts`` (the Page's own) or ``visitor_posts``."""
        now = time.time()
        items = [
            p
            for p in self._posts.values()
            if p.visible_at <= now and (kind == "feed" or (kind == "posts") == p.by_page)
        ]
        items.sort(key=lambda p: (p.created, p.id), reverse=True)
        return items

    def comments_of(self, object_id: str, *, stream: bool) -> list[Comment]:
        """Visible comments under a post (all with ``stream``, else top-level) or replies under a comment."""
        now = time.time()
        if object_id in self._posts:
            keys = self._post_comments.get(object_id, [])
        else:
            keys = self._replies.get(object_id, [])
            stream = True
        out = []
        for _, cid in keys:
            c = self._comments[cid]
            if c.deleted or c.visible_at > now:
                continue
            if not stream and c.parent_id is not None:
                continue
            out.append(c)
        return out

    def counts(self) -> dict[str, int]:
        now = time.time()
        with self.lock:
            return {
                "posts_total": len(self._posts),
                "posts_visible": sum(1 for p in self._posts.values() if p.visible_at <= now),
                "comments_total": len(self._comments),
                "comments_visible": sum(
                    1 for c in self._comments.values() if c.visible_at <= now and not c.deleted
                ),
                "posted": len(self._posted),
            }

    def post_counts(self, post: Post) -> dict[str, int]:
        counts = graph_post_counts(post.id, self.clock.age_in_incident_seconds(post.created))
        if post.fixed_reactions is not None:
            counts["reactions"] = post.fixed_reactions
            counts["shares"] = post.fixed_shares
        return counts

    # ------------------------------------------------------------------ writing (through the API)

    def create_comment(self, object_id: str, message: str) -> Comment:
        """The Page comments on a post, or replies to a comment."""
        with self.lock:
            if object_id in self._posts:
                post_id, parent_id = object_id, None
            else:
                parent = self._comments[object_id]
                post_id, parent_id = parent.post_id, object_id
            now = time.time()
            comment = self._put_comment(
                post_id, message, self.page_id, self.page_name, None, now, now, parent_id, by_page=True
            )
            self._posted.append(
                {
                    "id": comment.id,
                    "object_id": object_id,
                    "post_id": post_id,
                    "message": message,
                    "created_time": graph_time(now),
                }
            )
            return comment

    def delete_comment(self, comment_id: str) -> bool:
        with self.lock:
            comment = self._comments.get(comment_id)
            if comment is None or comment.deleted:
                return False
            comment.deleted = True
            return True

    # ------------------------------------------------------------------ simple renderings (returned to tests)

    def permalink(self, post: Post) -> str:
        return f"https://www.facebook.com/{self.page_id}/posts/{object_part(post.id)}"

    def comment_permalink(self, comment: Comment) -> str:
        base = self.permalink(self._posts[comment.post_id])
        cid = comment.id.split("_", 1)[-1]
        if comment.parent_id is None:
            return f"{base}/?comment_id={cid}"
        return f"{base}/?comment_id={comment.parent_id.split('_', 1)[-1]}&reply_comment_id={cid}"

    def render_post_basic(self, post: Post) -> dict[str, Any]:
        return {
            "id": post.id,
            "message": post.message,
            "created_time": graph_time(post.created),
            "from": {"name": post.from_name, "id": post.from_id},
            "permalink_url": self.permalink(post),
        }

    def render_comment_basic(self, comment: Comment) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": comment.id,
            "message": comment.message,
            "created_time": graph_time(comment.created),
            "from": {"name": comment.from_name, "id": comment.from_id},
            "permalink_url": self.comment_permalink(comment),
        }
        if comment.parent_id:
            out["parent"] = {"id": comment.parent_id}
        return out

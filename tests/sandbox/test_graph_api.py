"""The Graph API stand-in through facebook-sdk's GraphAPI over real HTTP."""

from __future__ import annotations

import calendar
import json
import time
from urllib.parse import parse_qs, urlsplit

import facebook
import pytest
import requests
from sandbox.conftest import graph_client

from desk.sandbox import DEMO_CREDENTIALS, SandboxNetworks

FEED_FIELDS = (
    "id,message,created_time,from,permalink_url,comments.summary(true).limit(0),"
    "reactions.summary(true).limit(0),shares"
)
COMMENT_FIELDS = "id,from,message,created_time,parent,like_count,comment_count,permalink_url"


def _epoch(graph_time: str) -> int:
    return calendar.timegm(time.strptime(graph_time, "%Y-%m-%dT%H:%M:%S+0000"))


def seed(nets: SandboxNetworks, posts: int = 3, comments: int = 7) -> list[dict]:
    out = []
    start = time.time() - 3600
    for p in range(posts):
        post = nets.graph.add_post(
            f"Update {p}: calls are failing, we're on it.", by_page=True, created_time=start + p * 600
        )
        out.append(post)
        for c in range(comments):
            nets.graph.add_comment(
                post["id"],
                f"Still down ({p}.{c})",
                from_id=str(9000 + c),
                from_name=f"Customer {c}",
                created_time=start + p * 600 + 10 + c,
            )
    return out


def test_me_and_page_with_the_page_token(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    assert graph.get_object("me") == {"name": "Nimbus Voice", "id": nets.graph.page_id}
    page = graph.get_object(nets.graph.page_id, fields="id,name,followers_count")
    assert page["id"] == nets.graph.page_id and page["followers_count"] > 0


def test_feed_pages_to_the_end_newest_first(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    posts = seed(nets, posts=7, comments=2)
    visitor = nets.graph.add_post("Your phones are dead AGAIN", from_id="8001", from_name="Angry Visitor")
    first = graph.get_connections(nets.graph.page_id, "feed", fields=FEED_FIELDS, limit=3)
    assert [p["id"] for p in first["data"]] == [visitor["id"], posts[6]["id"], posts[5]["id"]]
    item = first["data"][1]
    assert item["from"] == {"name": "Nimbus Voice", "id": nets.graph.page_id}
    assert item["comments"] == {
        "data": [],
        "summary": {"order": "chronological", "total_count": 2, "can_comment": True},
    }
    assert item["reactions"]["summary"]["viewer_reaction"] == "NONE"
    assert item["created_time"].endswith("+0000") and item["permalink_url"].startswith(
        "https://www.facebook.com/"
    )
    nxt = first["paging"]["next"]
    assert nxt.startswith(f"https://graph.facebook.com/v19.0/{nets.graph.page_id}/feed?access_token=")
    walked = list(graph.get_all_connections(nets.graph.page_id, "feed", fields="id", limit=3))
    assert [p["id"] for p in walked] == [visitor["id"]] + [p["id"] for p in reversed(posts)]
    own = list(graph.get_all_connections(nets.graph.page_id, "posts", fields="id", limit=5))
    assert len(own) == 7
    visitors = graph.get_connections(nets.graph.page_id, "visitor_posts", fields="id,from,message")
    assert visitors["data"] == [
        {
            "id": visitor["id"],
            "from": {"name": "Angry Visitor", "id": "8001"},
            "message": "Your phones are dead AGAIN",
        }
    ]


def test_last_page_has_no_next_but_keeps_cursors(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    (post,) = seed(nets, posts=1, comments=5)
    first = graph.get_connections(post["id"], "comments", limit=3)
    assert set(first["paging"]) == {"cursors", "next"}
    after = parse_qs(urlsplit(first["paging"]["next"]).query)["after"][0]
    last = graph.get_connections(post["id"], "comments", limit=3, after=after)
    assert len(last["data"]) == 2
    assert set(last["paging"]) == {"cursors", "previous"}
    assert "access_token=" in last["paging"]["previous"]


def test_comments_stream_order_summary_and_moderator_fields(
    nets: SandboxNetworks, graph: facebook.GraphAPI
) -> None:
    (post,) = seed(nets, posts=1, comments=12)
    top = graph.get_connections(post["id"], "comments")["data"]
    reply = nets.graph.add_comment(
        post["id"], "same here", from_id="9100", from_name="Neighbour", parent_id=top[0]["id"]
    )
    streamed = list(
        graph.get_all_connections(
            post["id"],
            "comments",
            filter="stream",
            order="chronological",
            summary="true",
            fields=COMMENT_FIELDS,
            limit=5,
        )
    )
    assert len(streamed) == 13 and streamed[-1]["id"] == reply["id"]
    assert streamed[-1]["parent"]["id"] == top[0]["id"]
    assert streamed[0]["from"] == {"name": "Customer 0", "id": "9000"}
    assert streamed[0]["comment_count"] == 1 and streamed[0]["like_count"] == 0
    assert "comment_id=" in streamed[0]["permalink_url"]
    toplevel = graph.get_connections(post["id"], "comments", summary="true", limit=100)
    assert len(toplevel["data"]) == 12 and toplevel["summary"]["total_count"] == 12
    newest = graph.get_connections(
        post["id"], "comments", filter="stream", order="reverse_chronological", limit=2
    )
    assert [c["message"] for c in newest["data"]] == ["same here", "Still down (0.11)"]
    replies = graph.get_connections(top[0]["id"], "comments")
    assert [c["id"] for c in replies["data"]] == [reply["id"]]


def test_reverse_chronological_pages_to_the_end(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    (post,) = seed(nets, posts=1, comments=23)
    walked = list(graph.get_all_connections(post["id"], "comments", order="reverse_chronological", limit=10))
    assert [c["message"] for c in walked] == [f"Still down (0.{i})" for i in range(22, -1, -1)]


def test_since_filters_comments_and_feed(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    posts = seed(nets, posts=3, comments=3)
    cut = int(time.time() - 3600 + 600)
    feed = graph.get_connections(nets.graph.page_id, "feed", since=str(cut))
    assert {p["id"] for p in feed["data"]} == {posts[1]["id"], posts[2]["id"]}
    comments = graph.get_connections(
        posts[0]["id"],
        "comments",
        # from the post's own (whole-second) time, so a slow machine cannot move the boundary
        since=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(_epoch(posts[0]["created_time"]) + 11)),
    )
    assert [c["message"] for c in comments["data"]] == ["Still down (0.1)", "Still down (0.2)"]


def test_user_token_hides_comment_ids_and_authors(nets: SandboxNetworks) -> None:
    (post,) = seed(nets, posts=1, comments=2)
    reader = graph_client(nets, DEMO_CREDENTIALS["fb_user_token"])
    data = reader.get_connections(post["id"], "comments", fields="id,from,message")["data"]
    assert data == [{"message": "Still down (0.0)"}, {"message": "Still down (0.1)"}]
    with pytest.raises(facebook.GraphAPIError) as err:
        reader.put_comment(post["id"], "hello")
    assert err.value.code == 200


def test_put_comment_replies_as_the_page(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    (post,) = seed(nets, posts=1, comments=2)
    comments = graph.get_connections(post["id"], "comments")["data"]
    on_post = graph.put_comment(post["id"], "We're on it, sorry!")
    on_comment = graph.put_comment(comments[1]["id"], "Restart your phone please")
    obj = post["id"].split("_")[1]
    assert on_post["id"].startswith(f"{obj}_") and on_comment["id"].startswith(f"{obj}_")
    posted = nets.graph.posted
    assert [(p["object_id"], p["message"]) for p in posted] == [
        (post["id"], "We're on it, sorry!"),
        (comments[1]["id"], "Restart your phone please"),
    ]
    reply = graph.get_object(on_comment["id"], fields="id,from,message,parent")
    assert reply["from"] == {"name": "Nimbus Voice", "id": nets.graph.page_id}
    assert reply["parent"]["id"] == comments[1]["id"]
    with pytest.raises(facebook.GraphAPIError) as err:
        graph.put_comment(post["id"], "   ")
    assert err.value.code == 100


def test_comment_create_can_return_fields(nets: SandboxNetworks) -> None:
    (post,) = seed(nets, posts=1, comments=0)
    session = requests.Session()
    session.trust_env = False
    body = session.post(
        f"{nets.graph_base_url}/v19.0/{post['id']}/comments",
        data={
            "message": "hi",
            "fields": "id,message,permalink_url,created_time",
            "access_token": DEMO_CREDENTIALS["fb_page_token"],
        },
        timeout=5,
    ).json()
    assert set(body) == {"id", "message", "permalink_url", "created_time"}


def test_objects_and_unknown_ids(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    (post,) = seed(nets, posts=1, comments=1)
    assert graph.get_object(post["id"])["message"].startswith("Update 0")
    comment = graph.get_connections(post["id"], "comments")["data"][0]
    assert graph.get_object(comment["id"])["from"]["id"] == "9000"
    with pytest.raises(facebook.GraphAPIError) as err:
        graph.get_object("123_456")
    assert err.value.code == 100 and err.value.type == "GraphMethodException"
    with pytest.raises(facebook.GraphAPIError) as bad_field:
        graph.get_object(post["id"], fields="id,nonsense")
    assert "nonexisting field (nonsense)" in str(bad_field.value)


def test_wrong_or_missing_token(nets: SandboxNetworks) -> None:
    with pytest.raises(facebook.GraphAPIError) as err:
        graph_client(nets, "EAAwrong").get_object("me")
    assert err.value.code == 190 and err.value.type == "OAuthException"
    session = requests.Session()
    session.trust_env = False
    response = session.get(f"{nets.graph_base_url}/v19.0/me", timeout=5)
    assert response.status_code == 400 and response.json()["error"]["code"] == 104
    assert response.headers["content-type"] == "application/json; charset=UTF-8"


def test_usage_headers(nets: SandboxNetworks) -> None:
    session = requests.Session()
    session.trust_env = False
    response = session.get(
        f"{nets.graph_base_url}/v21.0/me",
        params={"access_token": DEMO_CREDENTIALS["fb_page_token"]},
        timeout=5,
    )
    usage = json.loads(response.headers["x-app-usage"])
    assert set(usage) == {"call_count", "total_cputime", "total_time"}
    assert "x-page-usage" in response.headers
    assert response.headers["facebook-api-version"] == "v21.0"


def test_post_and_page_insights(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    (post,) = seed(nets, posts=1, comments=0)
    result = graph.get_object(f"{post['id']}/insights", metric="post_media_view,post_total_media_view_unique")
    by_name = {m["name"]: m for m in result["data"]}
    assert set(by_name) == {"post_media_view", "post_total_media_view_unique"}
    views = by_name["post_media_view"]
    assert views["period"] == "lifetime" and views["values"][0]["value"] > 0
    assert views["id"] == f"{post['id']}/insights/post_media_view/lifetime"
    assert by_name["post_total_media_view_unique"]["values"][0]["value"] <= views["values"][0]["value"]
    page = graph.get_object(
        f"{nets.graph.page_id}/insights", metric="page_media_view,page_follows", period="day"
    )
    assert {m["name"] for m in page["data"]} == {"page_media_view", "page_follows"}
    day = page["data"][0]["values"][0]
    assert day["end_time"].endswith("T07:00:00+0000") and isinstance(day["value"], int)
    assert page["paging"]["next"].startswith("https://graph.facebook.com/v19.0/")


@pytest.mark.parametrize("metrics", ["post_impressions", "post_media_view,post_engaged_users"])
def test_retired_insights_metric_fails_the_whole_request(
    nets: SandboxNetworks, graph: facebook.GraphAPI, metrics: str
) -> None:
    (post,) = seed(nets, posts=1, comments=0)
    with pytest.raises(facebook.GraphAPIError) as err:
        graph.get_object(f"{post['id']}/insights", metric=metrics)
    assert err.value.code == 100 and str(err.value) == "(#100) The value must be a valid insights metric"
    with pytest.raises(facebook.GraphAPIError):
        graph.get_object(f"{nets.graph.page_id}/insights", metric="page_engaged_users,page_media_view")


def test_get_objects_and_reaction_edge(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    posts = seed(nets, posts=2, comments=1)
    both = graph.get_objects([p["id"] for p in posts], fields="id,message")
    assert set(both) == {p["id"] for p in posts} and both[posts[0]["id"]]["message"].startswith("Update 0")
    with pytest.raises(facebook.GraphAPIError) as err:
        graph.get_objects([posts[0]["id"], "999_999"])
    assert err.value.code == 803
    reactions = graph.get_connections(posts[0]["id"], "reactions", summary="total_count")
    assert reactions["data"] == [] and reactions["summary"]["total_count"] >= 0

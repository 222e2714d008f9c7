"""The stand-ins answer in the recorded wire formats: every key a recorded response has, with the same
JSON type, status and key headers (tests/fixtures/recorded, copied from /work/shared/fixtures)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import tweepy
from sandbox.conftest import add_customers, recorded, x_client

from desk.sandbox import DEMO_CREDENTIALS, SandboxNetworks

BEARER = {"Authorization": f"Bearer {DEMO_CREDENTIALS['x_bearer_token']}"}
PAGE_TOKEN = DEMO_CREDENTIALS["fb_page_token"]


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(
    expected: Any, actual: Any, where: str = "body", *, skip: frozenset[str] = frozenset()
) -> None:
    """Every key of ``expected`` is in ``actual`` with the same JSON type, recursively (lists: first items)."""  # noqa: E501
    assert kind(actual) == kind(expected), f"{where}: {kind(actual)} where the recording has {kind(expected)}"
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key in skip:
                continue
            assert key in actual, f"{where}: missing {key!r} (have {sorted(actual)})"
            assert_same_shape(value, actual[key], f"{where}.{key}", skip=skip)
    elif isinstance(expected, list) and expected and actual:
        assert_same_shape(expected[0], actual[0], f"{where}[0]", skip=skip)


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


@pytest.fixture
def seeded(nets: SandboxNetworks) -> SandboxNetworks:
    add_customers(nets, 15)
    return nets


# ---------------------------------------------------------------- X

X_CASES = [
    ("users_mentions_page1.json", "/2/users/{me}/mentions", {}),
    (
        "users_mentions_public_metrics.json",
        "/2/users/{me}/mentions",
        {"tweet.fields": "created_at,public_metrics"},
    ),
    ("search_recent_page1.json", "/2/tweets/search/recent", {"query": "NimbusVoice"}),
    ("tweets_lookup_ids_200.json", "/2/tweets", {"ids": "{a},{b}"}),
    ("tweet_lookup_single_200.json", "/2/tweets/{a}", {}),
    ("tweets_lookup_partial_error_200.json", "/2/tweets", {"ids": "{a},1276230436478386177"}),
    ("tweet_lookup_deleted_200.json", "/2/tweets/1276230436478386177", {}),
    ("error_400_too_many_ids.json", "/2/tweets", {"ids": ",".join(str(10**18 + i) for i in range(118))}),
]


@pytest.mark.parametrize("fixture, path, params", X_CASES, ids=[c[0] for c in X_CASES])
def test_x_reads_match_recordings(
    seeded: SandboxNetworks, fixture: str, path: str, params: dict[str, str]
) -> None:
    rec = recorded(f"x/{fixture}")
    ids = [t.id for t in seeded.x.iter_newest_first(mentions_only=True)]
    fill = {"me": seeded.x.desk_user_id, "a": ids[0], "b": ids[1]}
    url = seeded.x_base_url + path.format(**fill)
    response = session().get(
        url, params={k: v.format(**fill) for k, v in params.items()}, headers=BEARER, timeout=5
    )
    assert response.status_code == rec["status"]
    assert response.headers["content-type"] == rec["headers"].get(
        "content-type", "application/json; charset=utf-8"
    )
    for header in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert (header in response.headers) == (header in rec["headers"] or not rec["recorded"]["headers"])
    assert_same_shape(rec["body"], response.json())
    if "data" in rec["body"] and isinstance(rec["body"]["data"], list):
        # No unrequested fields. edit_history_tweet_ids is a default field since late 2022; older recordings lack it.  # noqa: E501
        assert set(response.json()["data"][0]) - {"edit_history_tweet_ids"} == set(rec["body"]["data"][0]) - {
            "edit_history_tweet_ids"
        }


def test_x_me_create_delete_match_recordings(seeded: SandboxNetworks) -> None:
    client = x_client(seeded)
    me = client.request("GET", "/2/users/me", user_auth=True)
    assert_same_shape(recorded("x/users_me_200.json")["body"], me.json())
    assert me.headers["x-rate-limit-limit"] == "75"
    created = client.request("POST", "/2/tweets", json={"text": "Test Tweet"}, user_auth=True)
    rec = recorded("x/tweets_create_201.json")
    assert created.status_code == rec["status"] == 201
    assert_same_shape(rec["body"], created.json())
    assert created.headers["location"].startswith("https://api.twitter.com/2/tweets/")
    deleted = client.request("DELETE", f"/2/tweets/{created.json()['data']['id']}", user_auth=True)
    assert deleted.json() == recorded("x/tweets_delete_200.json")["body"]


def test_x_public_metrics_with_impressions_match(seeded: SandboxNetworks) -> None:
    rec = recorded("x/tweets_lookup_public_metrics_impressions.json")["body"]
    tweet_id = next(seeded.x.iter_newest_first(mentions_only=True)).id
    body = (
        session()
        .get(
            f"{seeded.x_base_url}/2/tweets",
            headers=BEARER,
            timeout=5,
            params={
                "ids": tweet_id,
                "expansions": "author_id",
                "tweet.fields": "author_id,conversation_id,created_at,lang,public_metrics,possibly_sensitive,reply_settings,"  # noqa: E501
                "edit_history_tweet_ids,entities",
                "user.fields": "created_at,description,id,name,protected,public_metrics,username,verified",
            },
        )
        .json()
    )
    unsupported = frozenset(
        {
            "context_annotations",
            "edit_controls",
            "annotations",
            "urls",
            "location",
            "pinned_tweet_id",
            "profile_image_url",
            "url",
            "verified_type",
            "entities",
            "tweets",
        }
    )  # includes.tweets needs referenced_tweets.id, not asked for here
    assert_same_shape(rec, body, skip=unsupported)


@pytest.mark.parametrize(
    "fault, fixture",
    [
        ("rate_limit_text", "error_429_rate_limit_text_plain.json"),
        ("rate_limit", "error_429_problem_json_CONSTRUCTED.json"),
        ("unauthorized", "error_401_unauthorized.json"),
        ("duplicate_content", "error_403_duplicate_content_CONSTRUCTED.json"),
    ],
)
def test_x_errors_are_the_recorded_bodies(seeded: SandboxNetworks, fault: str, fixture: str) -> None:
    rec = recorded(f"x/{fixture}")
    seeded.x.faults.inject(fault)
    client = x_client(seeded)
    if fault == "duplicate_content":
        with pytest.raises(tweepy.Forbidden) as err:
            client.request("POST", "/2/tweets", json={"text": "hi"}, user_auth=True)
        response = err.value.response
    else:
        response = session().get(
            f"{seeded.x_base_url}/2/users/{seeded.x.desk_user_id}/mentions", headers=BEARER, timeout=5
        )
    assert response.status_code == rec["status"]
    if isinstance(rec["body"], str):
        assert response.text == rec["body"]
        assert response.headers["content-type"] == rec["headers"]["content-type"]
    else:
        assert response.json() == rec["body"]
    if rec["recorded"]["headers"]:
        assert ("x-rate-limit-reset" in response.headers) == ("x-rate-limit-reset" in rec["headers"])


def test_x_wrong_token_is_the_recorded_401(seeded: SandboxNetworks) -> None:
    rec = recorded("x/error_401_unauthorized.json")
    response = session().get(
        f"{seeded.x_base_url}/2/tweets/search/recent",
        params={"query": "a"},
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert response.status_code == 401 and response.json() == rec["body"]
    assert not any(h.startswith("x-rate-limit") for h in response.headers)


# ---------------------------------------------------------------- Graph


@pytest.fixture
def page(nets: SandboxNetworks) -> dict[str, str]:
    start = time.time() - 7200
    posts = [nets.graph.add_post(f"Update {i}", by_page=True, created_time=start + 60 * i) for i in range(7)]
    for i in range(18):
        comment = nets.graph.add_comment(
            posts[-1]["id"],
            f"comment {i}",
            from_id=str(100 + i),
            from_name=f"P{i}",
            created_time=start + 600 + i,
        )
        if i == 2:
            nets.graph.add_comment(
                posts[-1]["id"],
                "reply",
                from_id="99",
                from_name="Q",
                parent_id=comment["id"],
                created_time=start + 700,
            )
    return {"page": nets.graph.page_id, "post": posts[-1]["id"], "comment": comment["id"]}


def graph_get(nets: SandboxNetworks, path: str, **params: str) -> requests.Response:
    return session().get(
        f"{nets.graph_base_url}/v19.0/{path}", params={"access_token": PAGE_TOKEN, **params}, timeout=5
    )


def test_graph_feed_pages_match(nets: SandboxNetworks, page: dict[str, str]) -> None:
    first = graph_get(nets, f"{page['page']}/feed", limit="5")
    rec1 = recorded("facebook/page_feed_limit5_page1.json")
    assert first.headers["content-type"] == "application/json; charset=UTF-8"
    assert_same_shape(rec1["body"], first.json())
    assert set(first.json()["data"][0]) == set(rec1["body"]["data"][0])
    assert set(first.json()["paging"]) == set(rec1["body"]["paging"])
    after = first.json()["paging"]["cursors"]["after"]
    last = graph_get(nets, f"{page['page']}/feed", limit="5", after=after).json()
    rec2 = recorded("facebook/page_feed_limit5_page2_last.json")["body"]
    assert_same_shape(rec2, last)
    assert set(last["paging"]) == set(rec2["paging"]) == {"cursors", "previous"}


def test_graph_feed_with_summaries_matches(nets: SandboxNetworks, page: dict[str, str]) -> None:
    rec = recorded("facebook/post_single_with_reactions.json")["body"]
    body = graph_get(
        nets,
        page["post"],
        fields="id,created_time,message,permalink_url,status_type,"
        "comments.summary(true).limit(0),reactions.summary(true).limit(0)",
    )
    wanted = {
        k: rec[k]
        for k in ("id", "created_time", "message", "permalink_url", "status_type", "comments", "reactions")
    }
    assert_same_shape(wanted, body.json())


def test_graph_comment_pages_match(nets: SandboxNetworks, page: dict[str, str]) -> None:
    fields = "id,comment_count,created_time,like_count,message,permalink_url"
    first = graph_get(
        nets, f"{page['post']}/comments", fields=fields, summary="1", filter="stream", limit="10"
    )
    rec1 = recorded("facebook/post_comments_page1.json")["body"]
    assert_same_shape(rec1, first.json())
    assert set(first.json()["data"][0]) == set(rec1["data"][0]) | {"id"}  # a Page token also gets the id
    assert set(first.json()["summary"]) == set(rec1["summary"])
    after = first.json()["paging"]["cursors"]["after"]
    last = graph_get(
        nets, f"{page['post']}/comments", fields=fields, summary="1", filter="stream", limit="10", after=after
    ).json()
    rec2 = recorded("facebook/post_comments_page2_last.json")["body"]
    assert_same_shape(rec2, last)
    assert set(last["paging"]) == set(rec2["paging"])


def test_graph_comment_object_and_create_match(nets: SandboxNetworks, page: dict[str, str]) -> None:
    obj = graph_get(
        nets, page["comment"], fields="id,comment_count,created_time,like_count,message,permalink_url"
    )
    assert_same_shape(recorded("facebook/comment_object.json")["body"], obj.json())
    created = session().post(
        f"{nets.graph_base_url}/v19.0/{page['post']}/comments",
        data={"message": "x", "access_token": PAGE_TOKEN},
        timeout=5,
    )
    assert set(created.json()) == set(recorded("facebook/comment_create_CONSTRUCTED.json")["body"])
    with_fields = session().post(
        f"{nets.graph_base_url}/v19.0/{page['post']}/comments",
        timeout=5,
        data={"message": "y", "fields": "id,message,permalink_url,created_time", "access_token": PAGE_TOKEN},
    )
    assert_same_shape(recorded("facebook/comment_create_with_fields.json")["body"], with_fields.json())


def test_graph_insights_match(nets: SandboxNetworks, page: dict[str, str]) -> None:
    rec = recorded("facebook/post_insights_post_engaged_users_v16.json")["body"]["insights"]
    body = graph_get(nets, f"{page['post']}/insights", metric="post_media_view").json()
    assert_same_shape(rec, body)
    future = str(int(time.time()) + 10 * 86400)
    empty = graph_get(
        nets,
        f"{page['page']}/insights",
        metric="page_media_view",
        since=future,
        until=str(int(future) + 2 * 86400),
    ).json()
    rec_empty = recorded("facebook/page_insights_paged_last_empty.json")["body"]
    assert empty["data"] == [] and set(empty["paging"]) == set(rec_empty["paging"]) == {"previous"}


GRAPH_ERRORS = [
    ("token_expired", {}, "error_190_expired_token.json"),
    ("token_invalidated", {}, "error_190_466_session_invalidated.json"),
    ("server_error", {}, "error_2_service_unavailable.json"),
    ("posting_blocked", {}, "error_368_blocked_misuse.json"),
    ("duplicate_post", {}, "error_506_duplicate_post.json"),
    ("permission", {}, "error_200_permission.json"),
    ("throttle", {"code": 4}, "error_rate_limit_4_CONSTRUCTED.json"),
    ("throttle", {"code": 17}, "error_rate_limit_17_CONSTRUCTED.json"),
    ("throttle", {"code": 32}, "error_rate_limit_32_CONSTRUCTED.json"),
    ("throttle", {"code": 613}, "error_rate_limit_613_CONSTRUCTED.json"),
]


@pytest.mark.parametrize("fault, params, fixture", GRAPH_ERRORS, ids=[g[2] for g in GRAPH_ERRORS])
def test_graph_errors_are_the_recorded_bodies(
    nets: SandboxNetworks, page: dict[str, str], fault: str, params: dict[str, int], fixture: str
) -> None:
    rec = recorded(f"facebook/{fixture}")
    nets.graph.faults.inject(fault, **params)
    response = session().post(
        f"{nets.graph_base_url}/v19.0/{page['post']}/comments",
        data={"message": "x", "access_token": PAGE_TOKEN},
        timeout=5,
    )
    assert response.status_code == rec["status"] == 400
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    error, expected = response.json()["error"], rec["body"]["error"]
    assert_same_shape(expected, error)
    for key in ("type", "code", "error_subcode", "is_transient", "error_user_title", "error_user_msg"):
        assert error.get(key) == expected.get(key, error.get(key))
    if fault != "token_expired":  # the expired message names the expiry time
        assert error["message"] == expected["message"]
    assert set(error) >= {"message", "type", "code", "is_transient", "fbtrace_id"}


def test_graph_wrong_token_and_unknown_object_match(nets: SandboxNetworks, page: dict[str, str]) -> None:
    wrong = session().get(f"{nets.graph_base_url}/v19.0/me", params={"access_token": "EAAbad"}, timeout=5)
    assert_same_shape(recorded("facebook/error_190_token_undecryptable.json")["body"], wrong.json())
    assert wrong.json()["error"]["code"] == 190 and "invalid_token" in wrong.headers["www-authenticate"]
    unknown = graph_get(nets, "2").json()
    rec = recorded("facebook/error_100_graphmethod_with_headers.json")["body"]
    assert_same_shape(rec, unknown)
    assert unknown["error"]["message"] == rec["error"]["message"]
    metric = graph_get(nets, f"{page['page']}/insights", metric="page_impressions,page_engaged_users").json()
    assert (
        metric["error"]["message"]
        == recorded("facebook/error_100_invalid_insights_metric_CONSTRUCTED.json")["body"]["error"]["message"]
    )

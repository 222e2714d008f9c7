"""The X API v2 stand-in through tweepy.Client over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests
import tweepy
from sandbox.conftest import add_customers, x_client

from desk.sandbox import DEMO_CREDENTIALS, SandboxNetworks


def test_get_me_is_the_desk_account_and_needs_user_context(nets: SandboxNetworks, x: tweepy.Client) -> None:
    me = x.get_me(user_fields=["public_metrics"])
    assert str(me.data.id) == nets.x.desk_user_id
    assert me.data.username == "NimbusVoice"
    assert me.data.public_metrics["followers_count"] > 0
    with pytest.raises(tweepy.Forbidden) as err:
        x.get_me(user_auth=False)  # bearer token: app-only is refused on /2/users/me
    assert "Application-Only is forbidden" in str(err.value)


def test_mentions_page_newest_first_with_fields_and_expansions(
    nets: SandboxNetworks, x: tweepy.Client
) -> None:
    ids = add_customers(nets, 12)
    page = x.get_users_mentions(
        nets.x.desk_user_id,
        max_results=5,
        tweet_fields=["created_at", "public_metrics", "conversation_id", "lang", "author_id"],
        expansions=["author_id"],
        user_fields=["public_metrics"],
    )
    got = [t.id for t in page.data]
    assert got == [int(i) for i in reversed(ids[-5:])]
    assert page.meta["newest_id"] == ids[-1] and page.meta["oldest_id"] == ids[-5]
    assert page.meta["result_count"] == 5 and page.meta["next_token"]
    first = page.data[0]
    assert first.created_at is not None and first.conversation_id == first.id and first.lang == "en"
    assert set(first.public_metrics) >= {"retweet_count", "reply_count", "like_count", "quote_count"}
    users = {u.id: u for u in page.includes["users"]}
    assert first.author_id in users and "followers_count" in users[first.author_id].public_metrics


def test_only_requested_fields_come_back(nets: SandboxNetworks) -> None:
    add_customers(nets, 3)
    body = requests.get(
        f"{nets.x_base_url}/2/users/{nets.x.desk_user_id}/mentions",
        headers={"Authorization": f"Bearer {DEMO_CREDENTIALS['x_bearer_token']}"},
        timeout=5,
    ).json()
    assert set(body["data"][0]) == {"id", "text", "edit_history_tweet_ids"}
    assert "includes" not in body


def test_paginator_walks_every_mention_once_and_since_id_polls(
    nets: SandboxNetworks, x: tweepy.Client
) -> None:
    ids = add_customers(nets, 57)
    walked = [
        str(t.id)
        for t in tweepy.Paginator(x.get_users_mentions, nets.x.desk_user_id, max_results=10).flatten()
    ]
    assert walked == list(reversed(ids))
    newest = walked[0]
    assert x.get_users_mentions(nets.x.desk_user_id, since_id=newest).data is None
    fresh = nets.x.add_tweet("@NimbusVoice still nothing here", "5001")["id"]
    polled = x.get_users_mentions(nets.x.desk_user_id, since_id=newest)
    assert [str(t.id) for t in polled.data] == [fresh]
    assert polled.meta["newest_id"] == fresh and "next_token" not in polled.meta


def test_time_window_and_until_id(nets: SandboxNetworks, x: tweepy.Client) -> None:
    now = time.time()
    ids = add_customers(nets, 10, start=now - 1000)  # one a second from now-1000
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 995))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 992))
    window = x.get_users_mentions(nets.x.desk_user_id, start_time=start, end_time=end)
    assert [str(t.id) for t in window.data] == [ids[7], ids[6], ids[5]]
    older = x.get_users_mentions(nets.x.desk_user_id, until_id=ids[3])
    assert [str(t.id) for t in older.data] == [ids[2], ids[1], ids[0]]


@pytest.mark.parametrize("bad", [4, 101])
def test_max_results_outside_5_to_100_is_refused(nets: SandboxNetworks, x: tweepy.Client, bad: int) -> None:
    with pytest.raises(tweepy.BadRequest) as err:
        x.get_users_mentions(nets.x.desk_user_id, max_results=bad)
    assert f"[{bad}] is not between 5 and 100" in str(err.value)
    assert err.value.response.headers["x-rate-limit-limit"] == "450"


def test_recent_search_matches_every_keyword(nets: SandboxNetworks, x: tweepy.Client) -> None:
    nets.x.add_user("61", "ana", "Ana")
    hit = nets.x.add_tweet("@NimbusVoice phones down in Leeds office", "61")["id"]
    nets.x.add_tweet("@NimbusVoice phones fine here", "61")
    nets.x.add_tweet("downloads are slow", "61", mentions_desk=False)
    found = x.search_recent_tweets("NimbusVoice down", max_results=10)
    assert [str(t.id) for t in found.data] == [hit]
    excluded = x.search_recent_tweets("@NimbusVoice -down", max_results=10)
    assert hit not in [str(t.id) for t in excluded.data]
    with pytest.raises(tweepy.BadRequest):
        x.search_recent_tweets("down", max_results=5)  # search allows 10-100


def test_search_pages_with_next_token(nets: SandboxNetworks, x: tweepy.Client) -> None:
    ids = add_customers(nets, 25)
    walked = [
        str(t.id) for t in tweepy.Paginator(x.search_recent_tweets, "NimbusVoice", max_results=10).flatten()
    ]
    assert walked == list(reversed(ids))
    assert all("next_token" in q for m, p, q in nets.x.requests_log[1:] if p.endswith("/recent"))


def test_create_tweet_reply_is_signed_recorded_and_findable(nets: SandboxNetworks, x: tweepy.Client) -> None:
    (mention,) = add_customers(nets, 1)
    created = x.create_tweet(text="@customer0 Sorry! We're fixing DNS now.", in_reply_to_tweet_id=mention)
    new_id = created.data["id"]
    assert created.data["text"] == "@customer0 Sorry! We're fixing DNS now."
    posted = nets.x.posted
    assert posted == [
        {
            "id": new_id,
            "text": "@customer0 Sorry! We're fixing DNS now.",
            "in_reply_to_tweet_id": mention,
            "created_at": posted[0]["created_at"],
        }
    ]
    found = x.get_tweet(new_id, tweet_fields=["in_reply_to_user_id", "referenced_tweets", "conversation_id"])
    assert found.data.in_reply_to_user_id == 5000
    assert found.data.referenced_tweets[0].id == int(mention) and found.data.conversation_id == int(mention)


def test_created_post_has_location_header(nets: SandboxNetworks) -> None:
    client = x_client(nets)
    response = client.request("POST", "/2/tweets", json={"text": "Status: DNS restored"}, user_auth=True)
    assert response.status_code == 201
    assert response.headers["location"] == f"https://api.twitter.com/2/tweets/{response.json()['data']['id']}"


def test_wrong_consumer_secret_is_refused(nets: SandboxNetworks) -> None:
    forged = x_client(nets, consumer_secret="not-the-secret")
    with pytest.raises(tweepy.Unauthorized) as err:
        forged.create_tweet(text="hello")
    assert "x-rate-limit-limit" not in err.value.response.headers
    assert nets.x.posted == []


def test_wrong_bearer_token_is_401(nets: SandboxNetworks) -> None:
    client = x_client(nets, bearer_token="AAAA-wrong")
    with pytest.raises(tweepy.Unauthorized) as err:
        client.get_users_mentions(nets.x.desk_user_id)
    assert err.value.response.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }


def test_same_text_twice_is_403_duplicate(nets: SandboxNetworks, x: tweepy.Client) -> None:
    x.create_tweet(text="We're on it.")
    with pytest.raises(tweepy.Forbidden) as err:
        x.create_tweet(text="We're on it.")
    assert err.value.api_messages == ["You are not allowed to create a Tweet with duplicate content."]
    assert err.value.api_codes == []


def test_reply_to_unknown_post_is_refused(nets: SandboxNetworks, x: tweepy.Client) -> None:
    with pytest.raises(tweepy.Forbidden, match="deleted or not visible"):
        x.create_tweet(text="hi", in_reply_to_tweet_id="1234567890123456789")


def test_own_post_metrics_grow_deterministically(x: tweepy.Client) -> None:
    # speed 3600: one real second is an incident hour, so the counts grow visibly within the test.
    with SandboxNetworks.start(incident=None, speed=3600.0) as fast:
        client = x_client(fast)
        new_id = client.create_tweet(text="Update: fix rolling out").data["id"]
        first = client.get_tweets([new_id], tweet_fields=["public_metrics"]).data[0].public_metrics
        time.sleep(1.2)
        later = client.get_tweets([new_id], tweet_fields=["public_metrics"]).data[0].public_metrics
        assert later["impression_count"] > first["impression_count"] >= 0
        assert all(later[k] >= first[k] for k in first)
        private = client.get_tweet(new_id, tweet_fields=["non_public_metrics"], user_auth=True)
        assert private.data.non_public_metrics["impression_count"] >= later["impression_count"]
        app_only = client.get_tweet(new_id, tweet_fields=["non_public_metrics"])
        assert app_only.errors[0]["title"] == "Field Authorization Error"


def test_lookup_partial_errors_and_limits(nets: SandboxNetworks, x: tweepy.Client) -> None:
    ids = add_customers(nets, 2)
    response = x.get_tweets([ids[0], "1276230436478386177"])
    assert [str(t.id) for t in response.data] == [ids[0]]
    assert response.errors[0]["title"] == "Not Found Error"
    assert response.errors[0]["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    with pytest.raises(tweepy.BadRequest, match=r"size \[101\] is not between 1 and 100"):
        x.get_tweets([str(10**18 + i) for i in range(101)])
    gone = x.get_tweet("1276230436478386177")
    assert gone.data is None and gone.errors[0]["parameter"] == "id"


def test_delete_own_post(nets: SandboxNetworks, x: tweepy.Client) -> None:
    new_id = x.create_tweet(text="typo").data["id"]
    assert x.delete_tweet(new_id).data == {"deleted": True}
    assert x.get_tweet(new_id).data is None


def test_rate_limit_headers_count_down(nets: SandboxNetworks, x: tweepy.Client) -> None:
    first = x.get_users_mentions(nets.x.desk_user_id)
    second = x.get_users_mentions(nets.x.desk_user_id)
    del first, second
    response = x.request("GET", f"/2/users/{nets.x.desk_user_id}/mentions", user_auth=False)
    assert response.headers["x-rate-limit-limit"] == "450"
    assert response.headers["x-rate-limit-remaining"] == "447"
    assert int(response.headers["x-rate-limit-reset"]) > time.time()


def test_enforced_rate_limit_answers_429_after_the_window_is_spent(nets: SandboxNetworks) -> None:
    nets.x.rate_limits_enforced = True
    client = x_client(nets)
    for _ in range(75):
        client.get_me()
    with pytest.raises(tweepy.TooManyRequests) as err:
        client.get_me()
    assert err.value.response.headers["x-rate-limit-remaining"] == "0"


def test_mentions_reach_cap_mimics_the_800_newest(nets: SandboxNetworks, x: tweepy.Client) -> None:
    ids = add_customers(nets, 30)
    nets.x.mentions_reachable_limit = 20
    walked = [
        str(t.id)
        for t in tweepy.Paginator(x.get_users_mentions, nets.x.desk_user_id, max_results=100).flatten()
    ]
    assert walked == list(reversed(ids))[:20]


def test_too_long_post_is_refused_by_weighted_length(nets: SandboxNetworks, x: tweepy.Client) -> None:
    with pytest.raises(tweepy.Forbidden, match="too long"):
        x.create_tweet(text="電話" * 141)
    long_url = "https://status.nimbusvoice.example/" + "x" * 400
    assert x.create_tweet(text=f"Details: {long_url}").data["id"]  # a URL counts as 23

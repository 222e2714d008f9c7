"""Every X fault, as tweepy (and requests under it) shows it to a client."""

from __future__ import annotations

import json
import time

import pytest
import requests
import tweepy
from sandbox.conftest import add_customers, x_client

from desk.sandbox import SandboxNetworks
from desk.sandbox.faults import FaultError

MENTIONS = "/2/users/*/mentions"


def mentions(client: tweepy.Client, nets: SandboxNetworks, **kw: object) -> tweepy.Response:
    return client.get_users_mentions(nets.x.desk_user_id, **kw)


def test_rate_limit_is_429_problem_json_with_reset(nets: SandboxNetworks, x: tweepy.Client) -> None:
    nets.x.faults.inject("rate_limit", path=MENTIONS, reset_in=30)
    with pytest.raises(tweepy.TooManyRequests) as err:
        mentions(x, nets)
    response = err.value.response
    assert response.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert 28 <= int(response.headers["x-rate-limit-reset"]) - time.time() <= 31
    assert err.value.reset_time == int(response.headers["x-rate-limit-reset"])
    assert mentions(x, nets).meta["result_count"] == 0  # times=1: normal service resumes


def test_rate_limit_text_is_the_2020_plain_body(nets: SandboxNetworks, x: tweepy.Client) -> None:
    nets.x.faults.inject("rate_limit_text", path=MENTIONS)
    with pytest.raises(tweepy.TooManyRequests) as err:
        mentions(x, nets)
    assert err.value.response.text == "Rate limit exceeded\n"
    assert err.value.response.headers["content-type"].startswith("text/plain")
    assert str(err.value) == "429 Too Many Requests"
    assert "x-rate-limit-reset" in err.value.response.headers


def test_rate_limit_without_headers_and_with_retry_after(nets: SandboxNetworks, x: tweepy.Client) -> None:
    nets.x.faults.inject("rate_limit_no_headers", path=MENTIONS)
    nets.x.faults.inject("rate_limit_retry_after", path=MENTIONS, retry_after=7)
    with pytest.raises(tweepy.TooManyRequests) as first:
        mentions(x, nets)
    assert not any(h.startswith("x-rate-limit") for h in first.value.response.headers)
    assert first.value.reset_time is None
    with pytest.raises(tweepy.TooManyRequests) as second:
        mentions(x, nets)
    assert second.value.response.headers["retry-after"] == "7"


def test_unauthorized_and_usage_capped(nets: SandboxNetworks, x: tweepy.Client) -> None:
    nets.x.faults.inject("unauthorized", path=MENTIONS)
    nets.x.faults.inject("usage_capped", path=MENTIONS)
    with pytest.raises(tweepy.Unauthorized) as unauthorized:
        mentions(x, nets)
    assert "x-rate-limit-limit" not in unauthorized.value.response.headers
    with pytest.raises(tweepy.TooManyRequests) as capped:
        mentions(x, nets)
    assert capped.value.response.json()["type"] == "https://api.twitter.com/2/problems/usage-capped"


def test_duplicate_content_hits_only_a_post(nets: SandboxNetworks, x: tweepy.Client) -> None:
    nets.x.faults.inject("duplicate_content")
    assert mentions(x, nets).meta == {"result_count": 0}  # a GET does not use the fault up
    with pytest.raises(tweepy.Forbidden) as err:
        x.create_tweet(text="first time this text is sent")
    assert err.value.api_messages == ["You are not allowed to create a Tweet with duplicate content."]
    assert nets.x.posted == []


@pytest.mark.parametrize("fault, status", [("server_error", 503), ("html_502", 502)])
def test_server_errors(nets: SandboxNetworks, x: tweepy.Client, fault: str, status: int) -> None:
    nets.x.faults.inject(fault, path=MENTIONS, times=2)
    for _ in range(2):
        with pytest.raises(tweepy.TwitterServerError) as err:
            mentions(x, nets)
        assert err.value.response.status_code == status
    if fault == "html_502":
        assert err.value.response.headers["content-type"] == "text/html"
        assert "<h1>502 Bad Gateway</h1>" in err.value.response.text
    assert mentions(x, nets).meta["result_count"] == 0


def test_timeout_fires_the_client_timeout(nets: SandboxNetworks) -> None:
    client = x_client(nets, timeout=0.3)
    nets.x.faults.inject("timeout", path=MENTIONS, seconds=1.0)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):  # tweepy lets it out unwrapped
        mentions(client, nets)
    assert time.monotonic() - started < 0.9


def test_malformed_json(nets: SandboxNetworks, x: tweepy.Client) -> None:
    add_customers(nets, 3)
    nets.x.faults.inject("malformed_json", path=MENTIONS)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        mentions(x, nets)


def test_truncated_body_breaks_the_transfer(nets: SandboxNetworks, x: tweepy.Client) -> None:
    add_customers(nets, 3)
    nets.x.faults.inject("truncated_body", path=MENTIONS)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        mentions(x, nets)
    assert len(mentions(x, nets).data) == 3


def test_no_content_type_still_parses_in_tweepy(nets: SandboxNetworks, x: tweepy.Client) -> None:
    add_customers(nets, 2)
    nets.x.faults.inject("no_content_type", path=MENTIONS)
    response = x.request("GET", f"/2/users/{nets.x.desk_user_id}/mentions", user_auth=False)
    assert "content-type" not in response.headers
    assert len(json.loads(response.text)["data"]) == 2


def test_repeat_cursor_makes_a_naive_paginator_loop(nets: SandboxNetworks, x: tweepy.Client) -> None:
    add_customers(nets, 30)
    nets.x.faults.inject("repeat_cursor", path=MENTIONS, times=3)
    tokens = []
    for page in tweepy.Paginator(x.get_users_mentions, nets.x.desk_user_id, max_results=10, limit=6):
        tokens.append(page.meta.get("next_token"))
    # pages 2-4 were asked for with page 1's token and answer with that same token; then the walk goes on
    assert tokens[0] == tokens[1] == tokens[2] == tokens[3]
    assert tokens[4] not in (None, tokens[0]) and len(tokens) == 6


def test_duplicate_item_repeats_the_previous_pages_last(nets: SandboxNetworks, x: tweepy.Client) -> None:
    ids = add_customers(nets, 20)
    nets.x.faults.inject("duplicate_item", path=MENTIONS)
    walked = [
        str(t.id)
        for t in tweepy.Paginator(x.get_users_mentions, nets.x.desk_user_id, max_results=10).flatten()
    ]
    assert len(walked) == 21 and len(set(walked)) == 20
    assert walked[9] == walked[10] == ids[10]


def test_short_page_claims_more_than_it_holds(nets: SandboxNetworks, x: tweepy.Client) -> None:
    ids = add_customers(nets, 20)
    nets.x.faults.inject("short_page", path=MENTIONS)
    first = mentions(x, nets, max_results=10)
    assert len(first.data) == 5 and first.meta["result_count"] == 10 and first.meta["next_token"]
    rest = [
        str(t.id)
        for t in tweepy.Paginator(
            x.get_users_mentions,
            nets.x.desk_user_id,
            max_results=10,
            pagination_token=first.meta["next_token"],
        ).flatten()
    ]
    assert [str(t.id) for t in first.data] + rest == list(reversed(ids))


def test_faults_match_paths_by_glob_and_clear(nets: SandboxNetworks, x: tweepy.Client) -> None:
    nets.x.faults.inject("server_error", path="/2/tweets/search/*", times=5)
    assert mentions(x, nets).meta == {"result_count": 0}
    with pytest.raises(tweepy.TwitterServerError):
        x.search_recent_tweets("down")
    nets.x.faults.clear()
    assert x.search_recent_tweets("down").meta == {"result_count": 0}
    with pytest.raises(FaultError):
        nets.x.faults.inject("token_expired")  # a Graph fault
    with pytest.raises(FaultError):
        nets.x.faults.inject("rate_limit", times=0)


def test_faults_over_the_control_endpoint(nets: SandboxNetworks, x: tweepy.Client) -> None:
    control = requests.Session()
    control.trust_env = False
    answer = control.post(
        f"{nets.x_base_url}/_sandbox/faults",
        json={"fault": "rate_limit", "path": MENTIONS, "times": 2, "reset_in": 5},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.json()["injected"] == {"fault": "rate_limit", "path": MENTIONS, "times": 2, "reset_in": 5.0}
    with pytest.raises(tweepy.TooManyRequests):
        mentions(x, nets)
    assert control.post(f"{nets.x_base_url}/_sandbox/faults/clear", timeout=5).json() == {"cleared": True}
    assert mentions(x, nets).meta == {"result_count": 0}
    bad = control.post(f"{nets.x_base_url}/_sandbox/faults", json={"fault": "meteor"}, timeout=5)
    assert bad.status_code == 400 and "unknown fault" in bad.json()["error"]
    x.create_tweet(text="Status: investigating")
    state = control.get(f"{nets.x_base_url}/_sandbox/state", timeout=5).json()
    assert state["posted"][0]["text"] == "Status: investigating" and state["faults"] == []
    posted = control.get(f"{nets.x_base_url}/_sandbox/posted", timeout=5).json()
    assert posted["posted"] == state["posted"]


def test_timeout_is_a_slow_answer_for_a_patient_client(nets: SandboxNetworks) -> None:
    add_customers(nets, 2)
    nets.x.faults.inject("timeout", path=MENTIONS, seconds=0.3)
    started = time.monotonic()
    assert len(mentions(x_client(nets, timeout=5), nets).data) == 2
    assert time.monotonic() - started >= 0.3

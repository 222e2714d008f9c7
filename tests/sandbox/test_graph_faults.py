"""Every Graph fault, as facebook-sdk (and requests under it) shows it to a client."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import facebook
import pytest
import requests
from sandbox.conftest import graph_client

from desk.sandbox import DEMO_CREDENTIALS, SandboxNetworks
from desk.sandbox.faults import FaultError

COMMENTS = "/v*/*/comments"


@pytest.fixture
def post(nets: SandboxNetworks) -> dict:
    created = nets.graph.add_post(
        "Update: calls failing, on it.", by_page=True, created_time=time.time() - 600
    )
    for i in range(9):
        nets.graph.add_comment(
            created["id"],
            f"down {i}",
            from_id=str(700 + i),
            from_name=f"P {i}",
            created_time=time.time() - 500 + i,
        )
    return created


def raw_get(nets: SandboxNetworks, path: str, **params: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(
        f"{nets.graph_base_url}{path}",
        params={"access_token": DEMO_CREDENTIALS["fb_page_token"], **params},
        timeout=5,
    )


@pytest.mark.parametrize(
    "fault, subcode, fixture_message",
    [
        ("token_expired", 463, "Error validating access token: Session has expired on"),
        ("token_invalidated", 466, "Error validating access token: The session was invalidated explicitly"),
    ],
)
def test_token_faults_are_190(
    nets: SandboxNetworks, graph: facebook.GraphAPI, fault: str, subcode: int, fixture_message: str
) -> None:
    nets.graph.faults.inject(fault)
    with pytest.raises(facebook.GraphAPIError) as err:
        graph.get_object("me")
    assert err.value.code == 190 and err.value.type == "OAuthException"
    assert err.value.result["error"]["error_subcode"] == subcode
    assert err.value.message.startswith(fixture_message)
    assert graph.get_object("me")["id"] == nets.graph.page_id


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_throttle_codes_with_usage_near_100(
    nets: SandboxNetworks, graph: facebook.GraphAPI, code: int
) -> None:
    nets.graph.faults.inject("throttle", code=code, path="/v*/me", times=2)
    with pytest.raises(facebook.GraphAPIError) as err:
        graph.get_object("me")
    assert err.value.code == code and f"(#{code})" in str(err.value)
    response = raw_get(nets, "/v19.0/me")
    assert response.status_code == 400
    assert json.loads(response.headers["x-app-usage"])["call_count"] >= 95
    assert ("x-page-usage" in response.headers) == (code == 32)
    if code == 17:
        assert response.json()["error"]["error_subcode"] == 2446079
    with pytest.raises(FaultError):
        nets.graph.faults.inject("throttle", code=99)


def test_posting_faults_hit_only_posts(nets: SandboxNetworks, graph: facebook.GraphAPI, post: dict) -> None:
    nets.graph.faults.inject("posting_blocked", path=COMMENTS)
    nets.graph.faults.inject("duplicate_post", path=COMMENTS)
    assert len(graph.get_connections(post["id"], "comments")["data"]) == 9  # GETs pass untouched
    with pytest.raises(facebook.GraphAPIError) as blocked:
        graph.put_comment(post["id"], "sorry!")
    assert blocked.value.code == 368 and "going too fast" in str(blocked.value)
    with pytest.raises(facebook.GraphAPIError) as duplicate:
        graph.put_comment(post["id"], "sorry!")
    assert duplicate.value.code == 506
    assert duplicate.value.result["error"]["error_subcode"] == 1455006
    assert nets.graph.posted == []
    assert graph.put_comment(post["id"], "sorry!")["id"]


def test_permission_and_server_error(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    nets.graph.faults.inject("permission")
    nets.graph.faults.inject("server_error")
    with pytest.raises(facebook.GraphAPIError) as permission:
        graph.get_object("me")
    assert permission.value.code == 200
    with pytest.raises(facebook.GraphAPIError) as transient:
        graph.get_object("me")
    assert transient.value.code == 2 and transient.value.result["error"]["is_transient"] is True


def test_html_502_is_not_json(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    nets.graph.faults.inject("html_502")
    with pytest.raises(facebook.GraphAPIError) as err:
        graph.get_object("me")
    assert err.value.code is None and "Maintype was not text, image, or querystring" in str(err.value)


def test_no_content_type_breaks_facebook_sdk(nets: SandboxNetworks, graph: facebook.GraphAPI) -> None:
    nets.graph.faults.inject("no_content_type")
    with pytest.raises(KeyError, match="content-type"):
        graph.get_object("me")


def test_malformed_and_truncated_bodies(nets: SandboxNetworks, graph: facebook.GraphAPI, post: dict) -> None:
    nets.graph.faults.inject("malformed_json", path=COMMENTS)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        graph.get_connections(post["id"], "comments")
    nets.graph.faults.inject("truncated_body", path=COMMENTS)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        graph.get_connections(post["id"], "comments")
    assert len(graph.get_connections(post["id"], "comments")["data"]) == 9


def test_timeout_fires_the_client_timeout(nets: SandboxNetworks) -> None:
    nets.graph.faults.inject("timeout", seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        graph_client(nets, timeout=0.3).get_object("me")


def test_repeat_cursor_loops_a_naive_client(
    nets: SandboxNetworks, graph: facebook.GraphAPI, post: dict
) -> None:
    nets.graph.faults.inject("repeat_cursor", path=COMMENTS, times=4)
    walked = []
    for comment in graph.get_all_connections(post["id"], "comments", limit=3):
        walked.append(comment["message"])
        if len(walked) >= 30:
            break
    # four answers point back at the cursor they were asked with: page 2 comes back five times
    assert walked == ["down 0", "down 1", "down 2"] + ["down 3", "down 4", "down 5"] * 5 + [
        "down 6",
        "down 7",
        "down 8",
    ]


def test_duplicate_item_repeats_previous_pages_last(
    nets: SandboxNetworks, graph: facebook.GraphAPI, post: dict
) -> None:
    nets.graph.faults.inject("duplicate_item", path=COMMENTS)
    walked = [c["message"] for c in graph.get_all_connections(post["id"], "comments", limit=3)]
    assert walked == [
        "down 0",
        "down 1",
        "down 2",
        "down 2",
        "down 3",
        "down 4",
        "down 5",
        "down 6",
        "down 7",
        "down 8",
    ]


def test_short_page_then_an_empty_last_page(
    nets: SandboxNetworks, graph: facebook.GraphAPI, post: dict
) -> None:
    nets.graph.faults.inject("short_page", path=COMMENTS, times=3)
    pages = []
    args: dict = {"limit": 4}
    while True:
        page = graph.get_connections(post["id"], "comments", **args)
        pages.append([c["message"] for c in page["data"]])
        if "next" not in page.get("paging", {}):
            break
        args = {"limit": 4, "after": parse_qs(urlsplit(page["paging"]["next"]).query)["after"][0]}
    # three pages hold half of the limit and still carry a next link; nothing is lost
    assert pages == [
        ["down 0", "down 1"],
        ["down 2", "down 3"],
        ["down 4", "down 5"],
        ["down 6", "down 7", "down 8"],
    ]


def test_short_page_on_the_last_page_leads_to_an_empty_page(
    nets: SandboxNetworks, graph: facebook.GraphAPI, post: dict
) -> None:
    nets.graph.faults.inject("short_page", path=COMMENTS)
    first = graph.get_connections(post["id"], "comments", limit=50)
    assert len(first["data"]) == 9 and "next" in first["paging"]
    after = parse_qs(urlsplit(first["paging"]["next"]).query)["after"][0]
    last = graph.get_connections(post["id"], "comments", limit=50, after=after)
    assert last["data"] == [] and "next" not in last.get("paging", {})


def test_control_endpoints(nets: SandboxNetworks, graph: facebook.GraphAPI, post: dict) -> None:
    session = requests.Session()
    session.trust_env = False
    base = nets.graph_base_url
    injected = session.post(
        f"{base}/_sandbox/faults", json={"fault": "throttle", "code": 32, "times": 1}, timeout=5
    ).json()
    assert injected["injected"]["code"] == 32
    with pytest.raises(facebook.GraphAPIError):
        graph.get_object("me")
    graph.put_comment(post["id"], "We're on it")
    state = session.get(f"{base}/_sandbox/state", timeout=5).json()
    assert state["network"] == "graph" and state["comments_visible"] == 10
    assert [p["message"] for p in state["posted"]] == ["We're on it"]
    assert session.post(f"{base}/_sandbox/faults", data="nope", timeout=5).status_code == 400

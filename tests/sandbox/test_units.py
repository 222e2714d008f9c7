"""Pure parts of the sandbox: OAuth 1.0a signatures, field expressions, search rules, the clock."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.sandbox.clock import IncidentClock
from desk.sandbox.graphfields import FieldSyntaxError, parse_fields
from desk.sandbox.oauth1 import OAuth1Keys, sign, signature_base_string, verify
from desk.sandbox.xapi import compile_query, decode_token, encode_token
from desk.sandbox.xnet import XNetwork

# The worked example of X's "Creating a signature" documentation.
DOC_PARAMS = [
    ("include_entities", "true"),
    ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
    ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
    ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "1318622958"),
    ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
    ("oauth_version", "1.0"),
]
DOC_CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
DOC_TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"


def test_signature_matches_the_documented_example() -> None:
    base = signature_base_string("post", "https://api.twitter.com/1.1/statuses/update.json", DOC_PARAMS)
    assert base.startswith(
        "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities"
    )
    assert sign(base, DOC_CONSUMER_SECRET, DOC_TOKEN_SECRET) == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


def test_verify_accepts_the_documented_request_and_refuses_changes() -> None:
    keys = OAuth1Keys(
        "xvz1evFS4wEEPTGEFPHBog",
        DOC_CONSUMER_SECRET,
        "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        DOC_TOKEN_SECRET,
    )
    oauth = {k: v for k, v in DOC_PARAMS if k.startswith("oauth_")}
    from urllib.parse import quote

    header = "OAuth " + ", ".join(
        f'{k}="{quote(v, safe="")}"'
        for k, v in {**oauth, "oauth_signature": "hCtSmYh+iHYCEqBWrE7C7hYmtUk="}.items()
    )
    query = [("include_entities", "true")]
    form = [("status", "Hello Ladies + Gentlemen, a signed OAuth request!")]
    path = "/1.1/statuses/update.json"
    assert verify("POST", path, query, form, header, keys, now=1318622958) is None
    assert (
        verify("POST", path, query, [("status", "changed")], header, keys, now=1318622958)
        == "signature mismatch"
    )
    assert verify("POST", path, query, form, header, keys, now=1318622958 + 3600) == "timestamp out of range"
    other = OAuth1Keys("xvz1evFS4wEEPTGEFPHBog", "wrong", keys.access_token, DOC_TOKEN_SECRET)
    assert verify("POST", path, query, form, header, other, now=1318622958) == "signature mismatch"
    assert verify("POST", path, query, form, "Bearer abc", keys) == "no OAuth 1.0a Authorization header"


def test_field_expressions() -> None:
    specs = parse_fields(
        "id,from{id,name},comments.summary(true).limit(0),reactions.type(LIKE).summary(total_count)"
    )
    assert [s.name for s in specs] == ["id", "from", "comments", "reactions"]
    assert [s.name for s in specs[1].sub or []] == ["id", "name"]
    assert specs[2].modifiers == {"summary": "true", "limit": "0"}
    nested = parse_fields("comments.limit(2){message,from{name}}")
    assert nested[0].modifiers == {"limit": "2"} and nested[0].sub and nested[0].sub[1].sub
    for bad in ("id,{x}", "comments.limit(2", "from{id", "a.b"):
        with pytest.raises(FieldSyntaxError):
            parse_fields(bad)


@given(st.text(max_size=60))
def test_field_parser_never_crashes(text: str) -> None:
    try:
        parse_fields(text)
    except FieldSyntaxError:
        pass


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(st.text(max_size=80))
def test_search_rules_either_compile_or_say_why(query: str) -> None:
    net = XNetwork(IncidentClock(speed=math.inf))
    try:
        match = compile_query(query, net)
    except ValueError as exc:
        assert str(exc)
        return
    net.add_user("1", "ana", "Ana")
    tweet = net.get(net.add_tweet("@NimbusVoice down again", "1")["id"])
    assert tweet is not None
    assert isinstance(match(tweet), bool)


def test_search_rules() -> None:
    net = XNetwork(IncidentClock(speed=math.inf))
    net.add_user("1", "ana", "Ana")
    t = net.get(net.add_tweet("@NimbusVoice is it down? #outage", "1", lang="en")["id"])
    assert t is not None
    for query, expected in [
        ("down", True),
        ("DOWN nimbusvoice", True),
        ("down -outage", False),
        ("down -#fixed", True),
        ("down -#outage", False),
        ("downtime", False),
        ('"is it down"', True),
        ("from:ana", True),
        ("from:bob", False),
        ("lang:en down", True),
        ("is:reply", False),
        ("-is:retweet @NimbusVoice", True),
    ]:
        assert compile_query(query, net)(t) is expected, query
    with pytest.raises(ValueError):
        compile_query("down OR up", net)
    with pytest.raises(ValueError):
        compile_query("place:London", net)


def test_paging_tokens_round_trip_and_reject_others() -> None:
    token = encode_token("m", 2126457161503502349)
    assert decode_token("m", token) == 2126457161503502349
    assert decode_token("s", token) is None
    assert decode_token("m", "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j") is None


def test_clock_maps_offsets_to_real_time() -> None:
    clock = IncidentClock(speed=60.0, start_offset=600.0, started=1_000_000.0)
    assert clock.visible_at(600.0) == 1_000_000.0
    assert clock.visible_at(4200.0) == 1_000_060.0
    assert clock.elapsed(at=1_000_010.0) == 1200.0
    everything = IncidentClock(speed=math.inf, started=1_000_000.0, horizon=16_200.0)
    assert (
        everything.visible_at(16_200.0) == 1_000_000.0 and everything.visible_at(0.0) == 1_000_000.0 - 16_200
    )
    with pytest.raises(ValueError):
        IncidentClock(speed=0)


def test_post_length_is_weighted_like_x() -> None:
    from desk.sandbox.xapi import weighted_length

    assert weighted_length("a" * 280) == 280
    assert weighted_length("電話" * 70) == 280  # CJK weighs two
    assert weighted_length("see https://status.nimbusvoice.example/incidents/2026-11-27/dns") == 4 + 23
    assert weighted_length("😡") == 2

"""Text preparation: the form TweetEval was trained on, for any string a network can send."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desk.triage.text import LEXICAL_FEATURES, MAX_CHARS, encoder_text, lexical_features, prepare


def test_mentions_masked_urls_and_retweet_prefix_dropped() -> None:
    assert prepare("RT @news: @United why is UA12 late?? https://t.co/x www.example.com ok") == (
        "@user why is UA12 late?? ok"
    )
    assert prepare("mail me at a@b.com") == "mail me at a@b.com"  # an address is not a mention
    assert prepare("  many   spaces\tand\ttabs ") == "many spaces and tabs"


@given(st.text(max_size=3_000))
def test_any_string_prepares_to_a_short_clean_string(text: str) -> None:
    out = prepare(text)
    assert isinstance(out, str) and len(out) <= MAX_CHARS
    assert "\x00" not in out
    out.encode("utf-8")  # no lone surrogates left


@given(st.lists(st.text(max_size=300), max_size=5))
def test_lexical_features_have_one_bounded_row_per_text(texts: list[str]) -> None:
    rows = lexical_features([prepare(t) for t in texts])
    assert rows.shape == (len(texts), len(LEXICAL_FEATURES))
    assert ((rows >= -1.0) & (rows <= 2.0)).all()


def test_question_signals() -> None:
    asking = prepare("@acme how do I reset my password?")
    row = dict(zip(LEXICAL_FEATURES, lexical_features([asking])[0], strict=True))
    assert row["has_question_mark"] == 1.0 and row["ends_with_question_mark"] == 1.0
    assert row["opens_like_question"] == 1.0
    row = dict(zip(LEXICAL_FEATURES, lexical_features(["Thanks a lot!"])[0], strict=True))
    assert row["has_question_mark"] == 0.0 and row["opens_like_question"] == 0.0 and row["vader_pos"] > 0


def test_only_texts_made_of_emoji_are_spelled_out_for_the_encoder() -> None:
    assert encoder_text(prepare("😡😡")) == "enraged face enraged face"
    assert encoder_text(prepare("@acme 👎 !!")) == "@user thumbs down !!"
    assert encoder_text(prepare("❤️")) == "red heart"
    # Texts with words keep their emoji, as the model was trained; no emoji, nothing to do.
    for text in ("so angry 😡", "#fail 😡", "2 hours 😡", "", "?!", "@user", "no emoji here"):
        assert encoder_text(prepare(text)) == prepare(text)


@given(st.text(max_size=300))
def test_any_prepared_string_gets_an_encoder_text(text: str) -> None:
    out = encoder_text(prepare(text))
    assert isinstance(out, str)
    out.encode("utf-8")

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.display import INVISIBLE, escape_markdown, handle_label, one_line, reveal_invisible, safe_link
from desk.errors import Fatal
from desk.templates import (
    count_for,
    first_name_of,
    render,
    unfilled_variables,
    validate_body,
    variables_in,
    x_weighted_length,
)


def test_bidi_and_zero_width_become_visible() -> None:
    assert reveal_invisible("\u202egnp.exe\u200b") == "⟨U+202E⟩gnp.exe⟨U+200B⟩"
    assert reveal_invisible("a\u2066b\u2069c\ufeff\u2060") == "a⟨U+2066⟩b⟨U+2069⟩c⟨U+FEFF⟩⟨U+2060⟩"
    assert reveal_invisible("line\nnext\x07") == "line\nnext⟨U+0007⟩"


@given(st.text())
def test_nothing_invisible_survives(text: str) -> None:
    shown = reveal_invisible(text)
    assert not any(ord(ch) in INVISIBLE for ch in shown)
    assert "\u202e" not in escape_markdown(text)


def test_markdown_is_escaped_so_links_and_html_stay_text() -> None:
    shown = escape_markdown("[click](javascript:alert(1)) <script>x</script> **bold**")
    assert "\\[click\\]\\(javascript\\:alert\\(1\\)\\)" in shown
    assert "\\<script\\>" in shown and "\\*\\*bold\\*\\*" in shown


def test_only_web_links_are_clickable() -> None:
    assert safe_link("https://status.example/x") == "https://status.example/x"
    assert safe_link("javascript:alert(1)") is None
    assert safe_link("JaVaScRiPt:alert(1)") is None
    assert safe_link("java\u200bscript:alert(1)") is None
    assert safe_link("https://ok.example/\u202e") is None
    assert safe_link("data:text/html,x") is None


def test_handle_label_and_one_line() -> None:
    assert handle_label("x", "cust", "Casey") == "@cust (Casey)"
    assert handle_label("facebook", None, "Casey\u202e") == "Casey⟨U+202E⟩"
    assert one_line("a\nb", 0) == "a b"
    assert one_line("abcdef", 4) == "abc…"


def test_render_fills_known_variables_and_reports_missing() -> None:
    body = "Hi {first_name} ({handle}), {incident_title}: {status_url} by {eta} {{literal}}"
    out = render(
        body,
        {
            "first_name": "Ana",
            "handle": "@ana",
            "incident_title": "DNS outage",
            "status_url": "https://s.example",
            "eta": None,
        },
    )
    assert out.text == "Hi Ana (@ana), DNS outage: https://s.example by {eta} {literal}"
    assert out.missing == ("eta",)
    assert unfilled_variables(out.text) == ["eta"]


def test_render_never_reaches_into_python_objects() -> None:
    out = render("{handle.__class__} {0} {first_name}", {"first_name": "Ana", "handle": "@a"})
    assert out.text == "{handle.__class__} {0} Ana"
    assert out.unknown == ("handle.__class__", "0")


def test_validate_body_names_unknown_variables() -> None:
    with pytest.raises(Fatal, match=r"\{firstname\}.*does not know"):
        validate_body("Hi {firstname}")
    with pytest.raises(Fatal, match="needs some text"):
        validate_body("  ")
    validate_body("Hi {first_name} {{ok}}")
    assert variables_in("{a}{b}{a}{{c}}") == ["a", "b"]


def test_first_name() -> None:
    assert first_name_of("Ana María López", "ana") == "Ana"
    assert first_name_of(None, "@ana") == "ana"
    assert first_name_of("  ", None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("日本語", 6),  # CJK weighs 2
        ("😀", 2),  # an emoji weighs 2
        ("👨‍👩‍👧‍👦", 2),  # a whole ZWJ family is one emoji
        ("🇩🇪", 2),  # a flag
        ("👍🏽", 2),  # with skin tone
        ("see https://status.example.com/incidents/very/long/path/that/goes/on?and=on", 4 + 23),
        ("status.example.com works", 23 + 6),
        ("a\u2019b", 3),  # typographic quote weighs 1 (U+2010–U+201F)
        ("e\u0301", 1),  # NFC folds e + combining accent into é
    ],
)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


def test_count_limits() -> None:
    assert count_for("x", "a" * 280).fits
    assert not count_for("x", "a" * 281).fits
    assert count_for("x", "日" * 141).used == 282
    assert count_for("facebook", "日" * 8000).fits
    assert count_for("facebook", "a" * 8001).remaining == -1
    with pytest.raises(Fatal):
        count_for("myspace", "a")

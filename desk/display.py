"""Make text from the networks harmless and legible before a person sees it.

Names and posts arrive from strangers. The desk shows them as plain text only;
this module additionally makes invisible characters visible, so a handle like
``"\u202egnp.exe"`` cannot pretend to be something else, and keeps links from
ever being clickable as ``javascript:``.
"""

from __future__ import annotations

import re
import unicodedata

# Bidi embeddings/overrides/isolates, zero-width characters, the BOM and the word joiner,
# plus the remaining format characters that can hide or reorder text.
INVISIBLE = frozenset(
    [
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0xFEFF,
        0x2060,
        0x061C,
        0x00AD,
        0x180E,
    ]
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
_SAFE_SCHEMES = ("http://", "https://")


def reveal_invisible(text: str | None) -> str:
    """Replace every invisible or direction-changing character with a visible ``⟨U+XXXX⟩`` tag.

    Control characters (other than newline and tab) are tagged too: they can move the
    cursor in a terminal or hide text in a table cell.
    """
    if not text:
        return ""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if code in INVISIBLE or (unicodedata.category(ch) == "Cc" and ch not in "\n\t"):
            out.append(f"⟨U+{code:04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


def one_line(text: str | None, limit: int = 0) -> str:
    """Visible text on one line (for table cells and headers), optionally cut to ``limit`` characters."""
    shown = reveal_invisible(text).replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    if limit and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


def escape_markdown(text: str | None) -> str:
    """Visible text with every Markdown/HTML-significant character backslash-escaped.

    Streamlit's Markdown never renders raw HTML unless asked to; escaping also stops
    a name like ``[click](javascript:alert(1))`` from becoming a link or ``**`` from
    shouting, and ``$`` from starting a formula.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", reveal_invisible(text)).replace("\n", "  \n")


def safe_link(url: str | None) -> str | None:
    """The URL if it is an ordinary web address a person may click, else ``None``.

    Only ``http``/``https`` pass; ``javascript:``, ``data:`` and anything disguised with
    invisible characters or whitespace (``java\\u200bscript:``) are refused.
    """
    if not url:
        return None
    candidate = url.strip()
    if any(ord(ch) in INVISIBLE or unicodedata.category(ch) in {"Cc", "Zs"} for ch in candidate):
        return None
    if not candidate.lower().startswith(_SAFE_SCHEMES):
        return None
    return candidate


def handle_label(platform: str, handle: str | None, name: str | None) -> str:
    """``@handle (Name)`` on X, ``Name`` on Facebook; visible text, one line."""
    parts = []
    if handle:
        parts.append(("@" if platform == "x" and not handle.startswith("@") else "") + one_line(handle, 60))
    if name:
        parts.append(f"({one_line(name, 80)})" if parts else one_line(name, 80))
    return " ".join(parts) or "unknown author"

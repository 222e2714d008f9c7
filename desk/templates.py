"""Canned replies: storing templates, filling their variables, and counting characters per network.

A template body names variables in braces: ``{first_name}``, ``{handle}``,
``{incident_title}``, ``{status_url}``, ``{eta}``. ``{{`` and ``}}`` are literal
braces. Filling is plain substitution (never ``str.format``: a body such as
``{handle.__class__}`` must not reach into Python objects).

Counting follows each network's rules. X uses twitter-text v3 weighted length:
text is NFC-normalised; each URL counts 23; each emoji (a whole ZWJ sequence,
flag or keycap) counts 2; code points in U+0000–U+10FF, U+2000–U+200D,
U+2010–U+201F and U+2032–U+2037 count 1; everything else (CJK, most symbols)
counts 2; the limit is 280. Facebook comments may hold 8,000 characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, select

from desk.errors import Fatal
from desk.store.engine import transaction
from desk.store.schema import Template
from desk.store.types import utcnow

VARIABLES: dict[str, str] = {
    "first_name": "the author's first name (or handle when no name is known)",
    "handle": "the author's handle, with @ on X",
    "incident_title": "title of the open incident",
    "status_url": "status page address of the open incident",
    "eta": "expected time of recovery of the open incident",
}
X_LIMIT = 280
FACEBOOK_LIMIT = 8000
X_URL_WEIGHT = 23

_VARIABLE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# twitter-text v3 config: (start, end) code point ranges that weigh 1; the rest weigh 2.
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))

_TLDS = (
    "com|net|org|io|co|me|ly|app|dev|info|biz|us|uk|de|fr|es|it|nl|eu|ca|au|jp|in|tv|ai|gl|gd|page|status|"
    "cloud|tech|online|site|xyz"
)
_URL = re.compile(
    r"(?<![@\w.])(?:https?://[^\s<>\"]+|(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:" + _TLDS + r")\b"
    r"(?:[/?#][^\s<>\"]*)?)",
    re.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:!?)]}'\""

_EMOJI_BASE = (
    r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2300-\u23FF\u2B00-\u2BFF\u2190-\u21FF\u25A0-\u25FF"
    r"\u2900-\u297F\u3030\u303D\u3297\u3299\u00A9\u00AE\u203C\u2049\u2122\u2139\u24C2]"
)
_EMOJI_MOD = r"[\uFE0F\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F]*"
_EMOJI = re.compile(
    r"[\U0001F1E6-\U0001F1FF]{2}"  # flags: a pair of regional indicators
    r"|[0-9#*]\uFE0F?\u20E3"  # keycaps
    rf"|{_EMOJI_BASE}{_EMOJI_MOD}(?:\u200D{_EMOJI_BASE}{_EMOJI_MOD})*"
)


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: tuple[str, ...]  # known variables without a value: left in the text as {name}
    unknown: tuple[str, ...]  # names the desk does not know


@dataclass(frozen=True)
class Count:
    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    @property
    def fits(self) -> bool:
        return self.used <= self.limit


def variables_in(body: str) -> list[str]:
    """Names used in ``body``, in order of first use (``{{``/``}}`` escapes excluded)."""
    seen: list[str] = []
    for match in _VARIABLE.finditer(body):
        name = match.group(1)
        if name is not None and name not in seen:
            seen.append(name)
    return seen


def validate_body(body: str) -> None:
    """Refuse a template body a person could not have meant, in plain words."""
    if not body.strip():
        raise Fatal("A template needs some text.")
    bad = [name for name in variables_in(body) if name not in VARIABLES]
    if bad:
        known = ", ".join("{" + v + "}" for v in VARIABLES)
        shown = ", ".join("{" + b + "}" for b in bad)
        raise Fatal(f"The template uses {shown}, which the desk does not know. Known variables: {known}.")


def render(body: str, values: Mapping[str, str | None]) -> Rendered:
    """Fill the variables of ``body`` with ``values``; unknown or empty ones stay visible as ``{name}``."""
    missing: list[str] = []
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in VARIABLES or not _NAME.match(name):
            if name not in unknown:
                unknown.append(name)
            return token
        value = values.get(name)
        if value is None or not str(value).strip():
            if name not in missing:
                missing.append(name)
            return token
        return str(value)

    text = _VARIABLE.sub(substitute, body)
    return Rendered(text=text, missing=tuple(missing), unknown=tuple(unknown))


def unfilled_variables(text: str) -> list[str]:
    """Known template variables still present in a reply, e.g. ``["eta"]`` for "back by {eta}"."""
    return [name for name in variables_in(text) if name in VARIABLES]


def first_name_of(name: str | None, handle: str | None) -> str | None:
    if name and name.strip():
        return name.strip().split()[0]
    if handle and handle.strip():
        return handle.strip().lstrip("@")
    return None


def handle_for_reply(platform: str, handle: str | None, name: str | None) -> str | None:
    if handle and handle.strip():
        handle = handle.strip()
        return handle if handle.startswith("@") or platform != "x" else f"@{handle}"
    return name.strip() if name and name.strip() else None


def x_weighted_length(text: str) -> int:
    """Length of ``text`` as X counts it (twitter-text v3)."""
    text = unicodedata.normalize("NFC", text)
    weight = 0
    position = 0
    spans: list[tuple[int, int, int]] = []
    for match in _URL.finditer(text):
        url = match.group(0)
        trimmed = url.rstrip(_TRAILING_PUNCT)
        # A closing parenthesis belongs to the URL when it has its opening one inside it.
        while url.endswith(")") and trimmed.count("(") > trimmed.count(")") and len(trimmed) < len(url):
            trimmed = url[: len(trimmed) + 1]
        if trimmed:
            spans.append((match.start(), match.start() + len(trimmed), X_URL_WEIGHT))
    for match in _EMOJI.finditer(text):
        if not any(s <= match.start() < e for s, e, _ in spans):
            spans.append((match.start(), match.end(), 2))
    spans.sort()
    for start, end, span_weight in spans:
        if start < position:
            continue
        weight += sum(_char_weight(ch) for ch in text[position:start]) + span_weight
        position = end
    weight += sum(_char_weight(ch) for ch in text[position:])
    return weight


def _char_weight(ch: str) -> int:
    code = ord(ch)
    return 1 if any(lo <= code <= hi for lo, hi in _LIGHT_RANGES) else 2


def count_for(platform: str, text: str) -> Count:
    """How much of the platform's limit ``text`` uses."""
    if platform == "x":
        return Count(used=x_weighted_length(text), limit=X_LIMIT)
    if platform == "facebook":
        return Count(used=len(text), limit=FACEBOOK_LIMIT)
    raise Fatal(f"The desk does not know the character rules of {platform!r}.")


# --- stored templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    body: str
    active: bool


def _view(row: Template) -> TemplateView:
    return TemplateView(id=row.id, name=row.name, body=row.body, active=row.active)


def list_templates(engine: Engine, *, include_inactive: bool = False) -> list[TemplateView]:
    with transaction(engine) as session:
        query = select(Template).order_by(Template.name)
        if not include_inactive:
            query = query.where(Template.active.is_(True))
        return [_view(row) for row in session.scalars(query)]


def get_template(engine: Engine, template_id: int) -> TemplateView:
    with transaction(engine) as session:
        row = session.get(Template, template_id)
        if row is None:
            raise Fatal(f"There is no template number {template_id}.")
        return _view(row)


def save_template(
    engine: Engine, *, name: str, body: str, template_id: int | None = None, active: bool = True
) -> TemplateView:
    """Create a template, or update ``template_id``; names are unique."""
    name = name.strip()
    if not name:
        raise Fatal("A template needs a name.")
    if len(name) > 120:
        raise Fatal("A template name can be at most 120 characters long.")
    validate_body(body)
    with transaction(engine) as session:
        clash = session.scalars(select(Template).where(Template.name == name)).first()
        if clash is not None and clash.id != template_id:
            raise Fatal(f"A template called {name!r} already exists.")
        if template_id is None:
            row = Template(name=name, body=body, active=active)
            session.add(row)
        else:
            found = session.get(Template, template_id)
            if found is None:
                raise Fatal(f"There is no template number {template_id}.")
            row = found
            row.name, row.body, row.active, row.updated_at = name, body, active, utcnow()
        session.flush()
        return _view(row)

"""Graph API ``fields=`` expressions: ``id,from{id,name},comments.summary(true).limit(0)``."""

from __future__ import annotations

from dataclasses import dataclass, field


class FieldSyntaxError(ValueError):
    pass


@dataclass
class FieldSpec:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    sub: list[FieldSpec] | None = None


def parse_fields(text: str) -> list[FieldSpec]:
    specs, pos = _parse_list(text, 0, closing=None)
    if pos != len(text):
        raise FieldSyntaxError(f"unexpected {text[pos]!r} at position {pos}")
    return specs


def _parse_list(text: str, pos: int, closing: str | None) -> tuple[list[FieldSpec], int]:
    specs: list[FieldSpec] = []
    while pos < len(text):
        if closing is not None and text[pos] == closing:
            return specs, pos
        if text[pos] in ", ":
            pos += 1
            continue
        spec, pos = _parse_field(text, pos)
        specs.append(spec)
    if closing is not None:
        raise FieldSyntaxError(f"missing {closing!r}")
    return specs, pos


def _name(text: str, pos: int) -> tuple[str, int]:
    start = pos
    while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
        pos += 1
    if pos == start:
        raise FieldSyntaxError(f"expected a field name at position {pos}")
    return text[start:pos], pos


def _parse_field(text: str, pos: int) -> tuple[FieldSpec, int]:
    name, pos = _name(text, pos)
    spec = FieldSpec(name)
    while pos < len(text):
        ch = text[pos]
        if ch == ".":
            mod, pos = _name(text, pos + 1)
            if pos >= len(text) or text[pos] != "(":
                raise FieldSyntaxError(f"modifier {mod!r} needs (...)")
            end = text.find(")", pos)
            if end < 0:
                raise FieldSyntaxError("missing ')'")
            spec.modifiers[mod] = text[pos + 1 : end]
            pos = end + 1
        elif ch == "{":
            sub, pos = _parse_list(text, pos + 1, closing="}")
            spec.sub = sub
            pos += 1
        else:
            break
    return spec, pos

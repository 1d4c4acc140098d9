"""Strict JSON for everything a client sends (REST bodies, WebSocket frames).

Python's ``json`` accepts what a client must not rely on: the last of duplicate keys wins,
``NaN``/``Infinity`` parse, and deep nesting raises ``RecursionError`` (a 500) instead of a clean
rejection. :func:`loads` refuses all three, and bytes that are not UTF-8, with
:class:`MalformedJsonError` (a ``ValueError``; ``json.JSONDecodeError`` where the text is at fault,
so a parser hook hands it on as ordinary invalid JSON).
"""

from __future__ import annotations

import json
from typing import Any

# Deepest nesting of objects and arrays a request may have; the API's own documents nest 2 deep.
MAX_DEPTH = 32


class MalformedJsonError(ValueError):
    """The input is not strict JSON: not UTF-8, invalid, duplicate keys, non-finite, too deep."""


def _depth_ok(text: str, limit: int) -> bool:
    """True when no ``{``/``[`` nests deeper than ``limit`` (outside strings); linear, no recursion."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedJsonError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise MalformedJsonError(f"{name} is not a JSON number")


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON; raise :class:`MalformedJsonError` with a client-facing reason."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJsonError("body is not UTF-8") from exc
    if not _depth_ok(data, max_depth):
        raise MalformedJsonError(f"JSON nests deeper than {max_depth} levels")
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(f"not valid JSON ({exc.msg})") from exc
    try:  # a lone surrogate escape ("\ud800") parses, but no UTF-8 encoder downstream accepts it
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedJsonError("string with an unpaired surrogate escape") from exc
    return value


def decoder(text: str) -> Any:
    """A ``json.loads`` stand-in for parsers that only understand ``json.JSONDecodeError``."""
    try:
        return loads(text)
    except MalformedJsonError as exc:
        raise json.JSONDecodeError(str(exc), text if isinstance(text, str) else "", 0) from exc

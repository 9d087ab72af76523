"""Building HTML so that nothing reaches the page unescaped.

Rules:

- Text is escaped by default. The only way to put markup on a page is :class:`Markup`,
  which only this module's builders (and the static page shell) produce; a plain ``str``
  passed anywhere is always escaped, attribute values included (``quote=True``).
- Tag and attribute *names* come from code, never from data; :func:`el` checks them.
- URLs put into ``href`` are built by :func:`url` from a path and parameters, so data
  can only ever land in a percent-encoded query value or path segment.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode

__all__ = ["Markup", "el", "esc", "join", "url"]

_TAG = re.compile(r"[a-z][a-z0-9]*\Z")
# SVG has camel-case attributes (viewBox).
_ATTRIBUTE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*\Z")
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link"})


class Markup(str):
    """A string that is already safe HTML."""

    __slots__ = ()


def esc(value: object) -> Markup:
    """``value`` as HTML text: markup passes through, everything else is escaped."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


def join(children: Iterable[object], separator: str = "") -> Markup:
    return Markup(esc(separator).join(_flatten(children)))


def _flatten(children: Iterable[object]) -> Iterable[Markup]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, str | int | float):
            yield esc(child)
        elif isinstance(child, Iterable):
            yield from _flatten(child)
        else:
            yield esc(child)


def el(tag: str, *children: object, **attrs: object) -> Markup:
    """``<tag attrs>children</tag>``; attribute names use ``_`` for ``-`` and a trailing
    ``_`` for Python keywords (``class_``); ``None``/``False`` drops an attribute."""
    if not _TAG.match(tag):
        raise ValueError(f"bad tag name {tag!r}")
    parts = [tag]
    for raw_name, value in attrs.items():
        name = raw_name.rstrip("_").replace("_", "-")
        if not _ATTRIBUTE.match(name):
            raise ValueError(f"bad attribute name {raw_name!r}")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(name)
        else:
            parts.append(f'{name}="{esc(value)}"')
    opening = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Markup(opening)
    return Markup(opening + join(children) + f"</{tag}>")


def url(path: str, params: Mapping[str, object] | None = None, *segments: str) -> str:
    """``path`` plus percent-encoded ``segments`` and non-empty query ``params``."""
    full = (
        path.rstrip("/") + "".join("/" + quote(s, safe="") for s in segments) if segments else path
    )
    query = {k: str(v) for k, v in (params or {}).items() if v not in (None, "")}
    return full + ("?" + urlencode(query) if query else "")

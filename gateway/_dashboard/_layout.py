"""The page shell and the small pieces every page is built from.

Pages are plain HTML with one stylesheet served by the dashboard itself; there is no
script at all, so filters are ordinary GET forms and every view has a URL that can be
bookmarked or handed to an auditor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gateway._dashboard._html import Markup, el, esc, join, url

__all__ = [
    "NAV",
    "STYLESHEET",
    "field",
    "kv",
    "link",
    "page",
    "select",
    "stat",
    "table",
    "tree",
]

NAV = (
    ("/", "Overview"),
    ("/ledger", "Ledger"),
    ("/queries", "Queries"),
    ("/credits", "Credits"),
    ("/ranking", "Ranking"),
    ("/lists", "Lists"),
    ("/peers", "Peers"),
    ("/watch", "Watch"),
    ("/regulator", "Regulator"),
    ("/governance", "Governance"),
)

STYLESHEET = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d8dee6; --bg: #f6f8fa; --accent: #1f5fa8;
  --s0: #1f5fa8; --s1: #d9822b; --s2: #3a9b5c; --bad: #b3261e; --ok: #2e7d32; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #16324f; color: #fff; padding: 10px 24px; display: flex; gap: 24px;
  align-items: baseline; flex-wrap: wrap; }
header .brand { font-weight: 700; font-size: 16px; }
header .who { color: #c9d6e3; }
nav a { color: #dbe7f3; text-decoration: none; margin-right: 14px; }
nav a.active { color: #fff; border-bottom: 2px solid #fff; }
main { padding: 16px 24px 40px; max-width: 1200px; }
h1 { font-size: 20px; margin: 8px 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
table { border-collapse: collapse; background: #fff; width: 100%; margin: 4px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .hex { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
.stats { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0 16px; }
.stat { background: #fff; border: 1px solid var(--line); padding: 8px 14px; min-width: 140px; }
.stat .label { color: var(--muted); font-size: 12px; }
.stat .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; background: #fff;
  border: 1px solid var(--line); padding: 8px 12px; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; }
form.filters { background: #fff; border: 1px solid var(--line); padding: 8px 12px;
  display: flex; gap: 12px; flex-wrap: wrap; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
.note { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.bad { color: var(--bad); font-weight: 600; }
.good { color: var(--ok); font-weight: 600; }
svg.chart { background: #fff; border: 1px solid var(--line); display: block; margin: 8px 0; }
svg .grid { stroke: #e5e9ee; }
svg .axis { stroke: #8895a3; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .tick.y { text-anchor: end; }
svg .tick.x { text-anchor: middle; }
svg .line { fill: none; stroke-width: 2; }
svg .line.series-0 { stroke: var(--s0); }
svg .markers circle { fill: var(--s0); }
svg .bar.series-0 { fill: var(--s0); }
svg .bar.series-1 { fill: var(--s1); }
svg .bar.series-2 { fill: var(--s2); }
svg .cat { text-anchor: end; font-size: 12px; fill: var(--ink); }
svg .val, svg .legend { font-size: 11px; fill: var(--ink); }
ul.tree { margin: 0; padding-left: 18px; }
"""


def page(title: str, member: str, body: Iterable[object] | Markup, *, active: str) -> bytes:
    """A whole HTML document, encoded."""
    nav = el(
        "nav",
        [
            el("a", label, href=path, class_="active" if path == active else None)
            for path, label in NAV
        ],
    )
    document = join(
        [
            Markup("<!DOCTYPE html>"),
            el(
                "html",
                el(
                    "head",
                    el("meta", charset="utf-8"),
                    el("meta", name="viewport", content="width=device-width, initial-scale=1"),
                    el("title", f"{title} — riskshare {member}"),
                    el("link", rel="stylesheet", href="/static/style.css"),
                    # No favicon request (it would only be a 404 in every log).
                    el("link", rel="icon", href="data:,"),
                ),
                el(
                    "body",
                    el(
                        "header",
                        el("span", "riskshare", class_="brand"),
                        el("span", f"member {member} · read-only", class_="who"),
                        nav,
                    ),
                    el("main", el("h1", title), body),
                ),
                lang="en",
            ),
        ]
    )
    return document.encode("utf-8")


def link(path: str, text: object, params: Mapping[str, object] | None = None) -> Markup:
    return el("a", text, href=url(path, params))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Iterable[int] = (),
    empty: str = "Nothing here yet.",
    id_: str | None = None,
) -> Markup:
    numeric = set(numeric)
    body = [
        el("tr", [el("td", c, class_="num" if i in numeric else None) for i, c in enumerate(r)])
        for r in rows
    ]
    if not body:
        return el("p", empty, class_="empty")
    head = el(
        "tr", [el("th", h, class_="num" if i in numeric else None) for i, h in enumerate(headers)]
    )
    return el("table", el("thead", head), el("tbody", body), id=id_)


def stat(label: str, value: object, *, key: str | None = None) -> Markup:
    return el(
        "div",
        el("div", label, class_="label"),
        el("div", value, class_="value", data_stat=key),
        class_="stat",
    )


def kv(pairs: Iterable[tuple[str, object]]) -> Markup:
    return el("dl", [join([el("dt", k), el("dd", v)]) for k, v in pairs], class_="kv")


def tree(value: Any) -> Markup:
    """A display tree (see ``_safe``) as nested lists; every leaf escaped."""
    if isinstance(value, dict):
        return el(
            "ul",
            [el("li", el("strong", k), ": ", tree(v)) for k, v in value.items()],
            class_="tree",
        )
    if isinstance(value, list):
        if not value:
            return esc("[]")
        return el("ul", [el("li", tree(v)) for v in value], class_="tree")
    if value is None:
        return esc("null")
    return el("code", str(value))


def select(name: str, label: str, options: Iterable[tuple[str, str]], chosen: str) -> Markup:
    return el(
        "label",
        label,
        el(
            "select",
            [el("option", text, value=value, selected=value == chosen) for value, text in options],
            name=name,
        ),
    )


def field(name: str, label: str, value: str, *, kind: str = "text", hint: str = "") -> Markup:
    return el("label", label, el("input", type=kind, name=name, value=value, placeholder=hint))

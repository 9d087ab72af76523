"""Charts as inline SVG, drawn on the server (no script, no external file, no CDN).

Two kinds serve every page: a step line over time (a balance holds its value until the
next movement, so the line steps rather than slopes) and grouped horizontal bars (one
group per counterparty). Axes get "nice" ticks (1, 2 or 5 times a power of ten). Every
number drawn also appears as text in the page's tables, so the chart is never the only
place a value can be read; each mark carries a ``<title>`` with its exact value.
Colours come from the stylesheet through class names (``series-0``, ``series-1``...).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

from gateway._dashboard._format import utc
from gateway._dashboard._html import Markup, el, join

__all__ = ["bar_chart", "nice_ticks", "step_chart"]

_MAX_MARKERS = 300


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``, about ``count`` of them."""
    if high < low:
        low, high = high, low
    if high == low:
        high = low + 1
    raw = (high - low) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step)
    ticks = [round(first * step, 10)]
    while ticks[-1] < high:
        ticks.append(round((first + len(ticks)) * step, 10))
    return ticks


def _time_label(ms: float, span_ms: float) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    if span_ms < 2 * 3600 * 1000:
        return moment.strftime("%H:%M:%S")
    if span_ms < 3 * 86400 * 1000:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%Y-%m-%d")


def step_chart(
    points: Sequence[tuple[int, int]],
    *,
    title: str,
    fmt: Callable[[int], str],
    end_ms: int | None = None,
    width: int = 760,
    height: int = 260,
) -> Markup:
    """A step line of ``(time_ms, value)`` points, holding the last value to ``end_ms``."""
    if not points:
        return el("p", "Nothing to chart yet.", class_="empty")
    left, right, top, bottom = 86, 40, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    t0 = points[0][0]
    t1 = max(points[-1][0], end_ms or points[-1][0])
    if t1 == t0:
        t1 = t0 + 1000
    values = [v for _, v in points]
    ticks = nice_ticks(min(0, *values), max(0, *values))
    y0, y1 = ticks[0], ticks[-1]

    def x(t: float) -> float:
        return round(left + (t - t0) / (t1 - t0) * plot_w, 2)

    def y(v: float) -> float:
        return round(top + (y1 - v) / (y1 - y0) * plot_h, 2)

    path = [f"M{x(points[0][0])},{y(points[0][1])}"]
    for t, v in points[1:]:
        path.append(f"H{x(t)}V{y(v)}")
    path.append(f"H{x(t1)}")
    grid = [
        join(
            [
                el("line", x1=left, x2=width - right, y1=y(v), y2=y(v), class_="grid"),
                el("text", fmt(int(v)), x=left - 6, y=y(v) + 4, class_="tick y"),
            ]
        )
        for v in ticks
    ]
    xticks = [t0 + (t1 - t0) * i / 4 for i in range(5)]
    xlabels = [
        el("text", _time_label(t, t1 - t0), x=x(t), y=height - bottom + 18, class_="tick x")
        for t in xticks
    ]
    markers = []
    if len(points) <= _MAX_MARKERS:
        markers = [
            el("circle", el("title", f"{utc(t)} UTC: {fmt(v)}"), cx=x(t), cy=y(v), r=3)
            for t, v in points
        ]
    return el(
        "svg",
        el("title", title),
        grid,
        el("line", x1=left, x2=width - right, y1=y(0), y2=y(0), class_="axis"),
        xlabels,
        el("path", d="".join(path), class_="line series-0"),
        el("g", markers, class_="markers series-0"),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
        aria_label=title,
        class_="chart",
    )


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    title: str,
    fmt: Callable[[int], str] = str,
    width: int = 760,
) -> Markup:
    """Grouped horizontal bars: one group per category, one bar per series."""
    if not categories:
        return el("p", "Nothing to chart yet.", class_="empty")
    left, right, top, bar, gap = 140, 90, 28, 16, 10
    group = bar * len(series) + gap
    height = top + group * len(categories) + 8
    peak = max([1, *(v for _, values in series for v in values)])
    plot_w = width - left - right
    legend = [
        join(
            [
                el("rect", x=left + i * 180, y=6, width=12, height=12, class_=f"bar series-{i}"),
                el("text", name, x=left + i * 180 + 18, y=16, class_="legend"),
            ]
        )
        for i, (name, _) in enumerate(series)
    ]
    groups = []
    for row, category in enumerate(categories):
        base = top + row * group
        marks = [el("text", category, x=left - 8, y=base + bar * len(series) / 2 + 4, class_="cat")]
        for i, (name, values) in enumerate(series):
            value = values[row]
            w = round(max(0, value) / peak * plot_w, 2)
            yy = base + i * bar
            marks.append(
                el(
                    "rect",
                    el("title", f"{category}, {name}: {fmt(value)}"),
                    x=left,
                    y=yy,
                    width=w,
                    height=bar - 3,
                    class_=f"bar series-{i}",
                    data_value=value,
                )
            )
            marks.append(el("text", fmt(value), x=left + w + 6, y=yy + bar - 5, class_="val"))
        groups.append(el("g", marks))
    return el(
        "svg",
        el("title", title),
        legend,
        groups,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
        aria_label=title,
        class_="chart",
    )

"""Server-rendered SVG charts: no script, no library, a text alternative in each.

Every chart is an `<svg role="img">` with a `<title>` and a `<desc>` that states
its numbers in words; the page also shows the numbers as a table. Colours are
presentation attributes, which the console's Content-Security-Policy allows
(it forbids inline style).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

_ids = itertools.count(1)

# The console's palette (console.css), one colour per meaning.
COLOURS = {
    "contained": "#1c7a45",
    "after_handoff": "#1f5eb8",
    "not_settled": "#9aa3b2",
    "bar": "#1f5eb8",
    "line": "#1f5eb8",
    "area": "#e7effb",
    "grid": "#d9dee6",
    "text": "#1c2330",
    "muted": "#5d6779",
}


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    value: float
    shown: str  # the value as the reader's locale writes it


@dataclass(frozen=True)
class Bar:
    label: str
    segments: Sequence[Segment]


def _svg(width: int, height: int, title: str, description: str, body: list[str]) -> Markup:
    """The chart, marked safe for the page's template: every text in it is escaped here."""
    number = next(_ids)
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="chart-{number}-title chart-{number}-desc" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="chart-{number}-title">{escape(title)}</title>'
        f'<desc id="chart-{number}-desc">{escape(description)}</desc>' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, content: str, anchor: str = "start", css: str = "") -> str:
    extra = f' class="{css}"' if css else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="12" '
        f'fill="{COLOURS["text"]}"{extra}>{escape(content)}</text>'
    )


def bar_chart(
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    scale_to: float | None = None,
    legend: Sequence[tuple[str, str]] = (),
) -> Markup:
    """Horizontal bars, each of one or more stacked segments, labelled with their values.

    `scale_to` is the value of a full-width bar (default: the longest bar).
    """
    width, label_width, row, top = 640, 150, 34, 8
    legend_height = 26 if legend else 0
    height = top + row * max(len(bars), 1) + legend_height + 4
    longest = max((sum(s.value for s in b.segments) for b in bars), default=0)
    full = scale_to or longest or 1
    room = width - label_width - 20
    body: list[str] = []
    for index, bar in enumerate(bars):
        y = top + index * row
        body.append(_text(label_width - 8, y + 19, bar.label, "end"))
        x = float(label_width)
        for segment in bar.segments:
            if segment.value <= 0:
                continue
            size = room * segment.value / full
            colour = COLOURS.get(segment.key, COLOURS["bar"])
            body.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{max(size, 1):.1f}" height="22" '
                f'rx="3" fill="{colour}"><title>{escape(bar.label)}, {escape(segment.label)}: '
                f"{escape(segment.shown)}</title></rect>"
            )
            if len(bar.segments) > 1 and size > 7 * len(segment.shown) + 8:
                body.append(
                    f'<text x="{x + size / 2:.1f}" y="{y + 19}" text-anchor="middle" '
                    f'font-size="12" fill="#ffffff">{escape(segment.shown)}</text>'
                )
            x += size
        total = sum(s.value for s in bar.segments)
        if len(bar.segments) == 1 or total == 0:
            # One value: written after the bar, or inside its end when the bar is long.
            shown = bar.segments[0].shown if len(bar.segments) == 1 else "0"
            if x + 8 + 7 * len(shown) > width:
                body.append(
                    f'<text x="{x - 6:.1f}" y="{y + 19}" text-anchor="end" font-size="12" '
                    f'fill="#ffffff">{escape(shown)}</text>'
                )
            else:
                body.append(_text(x + 6, y + 19, shown))
    if legend:
        x, y = 8.0, top + row * max(len(bars), 1) + 14
        for key, label in legend:
            body.append(
                f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" rx="2" '
                f'fill="{COLOURS.get(key, COLOURS["bar"])}"/>'
            )
            body.append(_text(x + 16, y, label))
            x += 16 + 6.8 * len(label) + 20
    return _svg(width, height, title, description, body)


def line_chart(
    title: str,
    description: str,
    points: Sequence[tuple[str, float]],
    format_value: Callable[[float], str],
) -> Markup:
    """Values over time as a line over a shaded area, with the highest value marked."""
    highest = max((v for _, v in points), default=0) or 1
    # Room on the left for the longest value label (about 7 px a character).
    left = 12 + 7 * max(len(format_value(highest)), len(format_value(0)))
    width, height, right, top, bottom = 640, 190, 16, 14, 34
    inner_w, inner_h = width - left - right, height - top - bottom
    step = inner_w / max(len(points) - 1, 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return left + index * step, top + inner_h * (1 - value / highest)

    body = [
        f'<line x1="{left}" y1="{top + inner_h}" x2="{width - right}" y2="{top + inner_h}" '
        f'stroke="{COLOURS["grid"]}"/>',
        f'<line x1="{left}" y1="{top}" x2="{width - right}" y2="{top}" '
        f'stroke="{COLOURS["grid"]}" stroke-dasharray="3 3"/>',
        _text(left - 6, top + 4, format_value(highest), "end"),
        _text(left - 6, top + inner_h + 4, format_value(0), "end"),
    ]
    if points:
        coords = [xy(i, v) for i, (_, v) in enumerate(points)]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        area = f"{left:.1f},{top + inner_h:.1f} {line} {coords[-1][0]:.1f},{top + inner_h:.1f}"
        body.append(f'<polygon points="{area}" fill="{COLOURS["area"]}"/>')
        body.append(
            f'<polyline points="{line}" fill="none" stroke="{COLOURS["line"]}" '
            'stroke-width="2" stroke-linejoin="round"/>'
        )
        for (label, value), (x, y) in zip(points, coords, strict=True):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 if len(points) <= 60 else 1.5}" '
                f'fill="{COLOURS["line"]}"><title>{escape(label)}: '
                f"{escape(format_value(value))}</title></circle>"
            )
        ticks = sorted({0, len(points) // 2, len(points) - 1})
        for index in ticks:
            anchor = "start" if index == 0 else ("end" if index == len(points) - 1 else "middle")
            body.append(_text(coords[index][0], height - 12, points[index][0], anchor))
    return _svg(width, height, title, description, body)

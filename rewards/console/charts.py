"""Charts drawn by the server as SVG: no chart library in the browser, nothing to run, and the
numbers beside them in a table for whoever cannot see a picture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from markupsafe import Markup, escape

from ..coupons.lookup import CouponCounts

WIDTH, HEIGHT = 720, 200
# Room for the axis' labels: the largest count on the left, the first and last dates below.
LEFT, BOTTOM, TOP = 44, 22, 8


class DayChart(NamedTuple):
    picture: Markup  # the SVG
    rows: Markup  # the same numbers as a table's rows: <tr><td>day</td><td>scans</td></tr>, newest first


def scans_per_day(
    days: Sequence[dict[str, Any]], title: str, number: Callable[[int], str], chart_id: str = "scans-chart"
) -> DayChart:
    """Bars of `days` ([{"date": "2026-11-25", "scans": 3}, ...], oldest first), with `title` as
    the picture's accessible name, and the rows of the table that says the same in numbers
    (written with `number`). Both in one pass over the days: drawn by the template, a month's
    table cost a dashboard more than its queries."""
    most = max((day["scans"] for day in days), default=0)
    plot_width, plot_height = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    step = plot_width / max(1, len(days))
    # Whole units: the viewBox scales them, and a float written out costs a dozen times an int.
    bar_width, bottom = max(1, int(step * 0.7)), TOP + plot_height
    bars, rows = [], []
    for index, day in enumerate(days):
        # The dates are the stats' own ISO dates (YYYY-MM-DD): nothing in them to escape.
        date, scans = day["date"], day["scans"]
        height = 0 if most == 0 else (plot_height * scans) // most
        x = int(LEFT + index * step + step * 0.15)
        bars.append(
            f'<rect class="bar" x="{x}" y="{bottom - height}" width="{bar_width}" height="{height}">'
            f"<title>{date}: {scans}</title></rect>"
        )
        rows.append(f"<tr><td>{date}</td><td>{number(scans)}</td></tr>")
    labels = [
        f'<text class="axis" x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end">{most}</text>',
        f'<text class="axis" x="{LEFT - 6}" y="{TOP + plot_height}" text-anchor="end">0</text>',
    ]
    if days:
        baseline = HEIGHT - 6
        labels.append(f'<text class="axis" x="{LEFT}" y="{baseline}">{escape(days[0]["date"])}</text>')
        labels.append(
            f'<text class="axis" x="{WIDTH}" y="{baseline}" text-anchor="end">{escape(days[-1]["date"])}</text>'
        )
    axis = f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH}" y2="{TOP + plot_height}"/>'
    title_id = f"{chart_id}-title"
    picture = Markup(
        f'<svg id="{chart_id}" class="chart" role="img" aria-labelledby="{title_id}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{title_id}">{escape(title)}</title>{axis}{"".join(bars)}{"".join(labels)}</svg>'
    )
    return DayChart(picture, Markup("".join(reversed(rows))))


# The four states of a batch's coupons, in the order the bar draws them.
STATES = ("active", "redeemed", "expired", "void")


def counts_bar(counts: CouponCounts, total: int) -> Markup:
    """One bar split by a batch's four counts. A picture of numbers written beside it, so it is
    hidden from screen readers. Widths are SVG attributes: the pages' CSP allows no inline style."""
    parts, x = [], 0.0
    for state in STATES:
        width = 0.0 if total <= 0 else 100 * getattr(counts, state) / total
        if width > 0:
            parts.append(f'<rect class="{state}" x="{round(x, 2)}" y="0" width="{round(width, 2)}" height="10"/>')
        x += width
    return Markup(
        '<svg class="counts" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false" '
        f'xmlns="http://www.w3.org/2000/svg"><rect class="track" x="0" y="0" width="100" height="10"/>{"".join(parts)}</svg>'
    )

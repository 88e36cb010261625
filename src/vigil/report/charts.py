"""Small SVG charts for the case report: horizontal bars and a monthly timeline.

Hand-written rather than a plotting library: the report must be one self-contained file
that renders the same in a browser and in WeasyPrint, with no script and nothing
fetched; a few dozen lines of SVG do that, where matplotlib would add a large
dependency for four bar charts. Text is escaped; sizes are computed, never guessed.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from vigil.report.when import as_datetime  # times outside the calendar are not charted

BAR_HEIGHT = 18
LABEL_WIDTH = 190
CHART_WIDTH = 620


def bar_chart(title: str, counts: Counter[str] | dict[str, int], *, limit: int = 12) -> str:
    """Horizontal bars, largest first; the rest summed as "other" beyond ``limit``."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(items) > limit:
        items = [*items[: limit - 1], ("other", sum(v for _, v in items[limit - 1 :]))]
    height = 30 + BAR_HEIGHT * max(1, len(items)) + 10
    top = max((v for _, v in items), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{CHART_WIDTH}" height="{height}" viewBox="0 0 {CHART_WIDTH} {height}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
    ]
    if not items:
        parts.append('<text x="0" y="40" class="chart-empty">none</text>')
    for i, (label, value) in enumerate(items):
        y = 30 + i * BAR_HEIGHT
        width = max(1, round(span * value / top))
        label_x, text_y, bar_h = LABEL_WIDTH - 6, y + 13, BAR_HEIGHT - 5
        parts.append(
            f'<text x="{label_x}" y="{text_y}" text-anchor="end">{escape(label[:32])}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{width}" height="{bar_h}" class="bar"/>'
            f'<text x="{LABEL_WIDTH + width + 4}" y="{text_y}">{value:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def timeline(title: str, timestamps: list[float]) -> str:
    """Files per month of their modification date, as columns."""
    months = Counter(
        when.strftime("%Y-%m")
        for t in timestamps
        if t and t > 0 and (when := as_datetime(t)) is not None
    )
    height, base = 180, 150
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{CHART_WIDTH}" height="{height}" viewBox="0 0 {CHART_WIDTH} {height}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
    ]
    if not months:
        parts.append('<text x="0" y="40" class="chart-empty">none</text></svg>')
        return "".join(parts)
    keys = _month_range(min(months), max(months))
    top = max(months.values())
    step = (CHART_WIDTH - 20) / len(keys)
    for i, key in enumerate(keys):
        value = months.get(key, 0)
        h = round(110 * value / top)
        x = 10 + i * step
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h}" width="{max(1.0, step - 1):.1f}" height="{h}" '
            f'class="bar"><title>{key}: {value}</title></rect>'
        )
    parts.append(f'<text x="10" y="{base + 16}">{keys[0]}</text>')
    parts.append(
        f'<text x="{CHART_WIDTH - 10}" y="{base + 16}" text-anchor="end">{keys[-1]}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _month_range(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last and len(out) < 600:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out

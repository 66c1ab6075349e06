"""Charts as inline SVG, drawn at build time: no script, no external host, readable offline."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape as xml_escape

PALETTE = ["#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e", "#546e7a", "#9e9d24"]


def stacked_bars(columns: list[str], series: dict[str, list[int]], title: str, highlight: str | None = None) -> str:
    """Columns (e.g. months) of stacked counts per category, with a legend: a wide drawing and
    a narrow one for phones (kb.css shows one), so labels stay legible at either width."""
    return _stacked_bars(columns, series, title, highlight, narrow=False) + _stacked_bars(
        columns, series, title, highlight, narrow=True
    )


def _stacked_bars(
    columns: list[str], series: dict[str, list[int]], title: str, highlight: str | None, narrow: bool
) -> str:
    width, height, left, bottom, top = (340, 200, 30, 40, 16) if narrow else (640, 240, 36, 40, 16)
    legend_columns, legend_w = (2, 160) if narrow else (4, 150)
    label_every = max(1, (len(columns) + 5) // 6) if narrow else 1
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(columns))] or [0]
    peak = max(totals + [1])
    bar_w = plot_w / max(len(columns), 1)
    parts = [
        f'<svg class="kb-chart {"kb-narrow" if narrow else "kb-wide"}" role="img" aria-label="{xml_escape(title)}" viewBox="0 0 {width} {height + 20 * ((len(series) + legend_columns - 1) // legend_columns)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{xml_escape(title)}</title>'
    ]
    for tick in range(0, peak + 1, max(1, peak // 4)):
        y = top + plot_h - plot_h * tick / peak
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{tick}</text>'
        )
    colors = {
        name: ("#c62828" if name == highlight else PALETTE[(i + 1) % len(PALETTE)]) for i, name in enumerate(series)
    }
    for i, column in enumerate(columns):
        x = left + i * bar_w + bar_w * 0.15
        y = top + plot_h
        for name, values in series.items():
            value = values[i]
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.7:.1f}" height="{h:.1f}" fill="{colors[name]}">'
                f"<title>{xml_escape(column)}: {xml_escape(name)} {value}</title></rect>"
            )
        if i % label_every == 0:
            label = _short_month(column) if narrow else column  # 2026-11 -> Nov 26 on a phone
            parts.append(
                f'<text x="{x + bar_w * 0.35:.1f}" y="{top + plot_h + 16}" font-size="12" text-anchor="middle">'
                f"{xml_escape(label)}</text>"
            )
    for i, name in enumerate(series):
        lx, ly = 4 + (i % legend_columns) * legend_w, height + 4 + 20 * (i // legend_columns)
        parts.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colors[name]}"/>'
            f'<text x="{lx + 16}" y="{ly}" font-size="12">{xml_escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _short_month(column: str) -> str:
    try:
        return dt.datetime.strptime(column, "%Y-%m").strftime("%b %y")
    except ValueError:
        return column


def timeline(events: list[tuple[dt.datetime, str, str]], marks: dict[str, dt.datetime | None]) -> str:
    """The incident's timeline on one axis: events by actor, and started/detected/mitigated/resolved.

    Two drawings, a wide one and a narrow one for phones (kb.css shows one): a single SVG
    scaled down to a phone's width shrinks its labels to about 6 px."""
    return _timeline(events, marks, width=640, narrow=False) + _timeline(events, marks, width=340, narrow=True)


def _timeline(
    events: list[tuple[dt.datetime, str, str]], marks: dict[str, dt.datetime | None], width: int, narrow: bool
) -> str:
    points = [e[0] for e in events] + [m for m in marks.values() if m]
    if not points:
        return ""
    start, end = min(points), max(points)
    span = max((end - start).total_seconds(), 60.0)
    rows = {"system": 0, "agent": 1, "human": 2}
    left, row_h, top, font = (58, 30, 20, 13) if narrow else (70, 34, 20, 12)
    height = top + row_h * 3 + 62

    def x_of(moment: dt.datetime) -> float:
        return left + (width - left - 20) * (moment - start).total_seconds() / span

    def when(moment: dt.datetime) -> str:
        return moment.strftime("%m-%d %H:%M") if narrow else moment.isoformat()

    variant = "kb-narrow" if narrow else "kb-wide"
    parts = [
        f'<svg class="kb-chart kb-timeline {variant}" role="img" aria-label="Incident timeline" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>Incident timeline</title>'
    ]
    for actor, row in rows.items():
        y = top + row * row_h + row_h / 2
        parts.append(
            f'<text x="4" y="{y + 4:.1f}" font-size="{font}">{actor}</text>'
            f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
    placed = [(name, moment) for name, moment in marks.items() if moment is not None]
    for index, (name, moment) in enumerate(placed):
        x = x_of(moment)
        label_y = top + row_h * 3 + 14 + (font + 2) * (index % 2)  # alternate rows: close marks stay readable
        anchor = "start" if x < left + 30 else "end" if x > width - 50 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{label_y - font:.0f}" stroke="#888" '
            f'stroke-dasharray="3,3"/>'
            f'<text x="{x:.1f}" y="{label_y}" font-size="{font}" text-anchor="{anchor}">{xml_escape(name)}</text>'
        )
    for moment, actor, event in events:
        x, y = x_of(moment), top + rows.get(actor, 0) * row_h + row_h / 2
        color = {"agent": "#c62828", "human": "#1565c0"}.get(actor, "#546e7a")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{color}"><title>{xml_escape(moment.isoformat())} '
            f"{xml_escape(actor)}: {xml_escape(event)}</title></circle>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="{font}">{xml_escape(when(start))}</text>'
        f'<text x="{width - 20}" y="{height - 6}" font-size="{font}" text-anchor="end">{xml_escape(when(end))}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)

"""Charts as inline SVG drawn on the server: no script and no chart library in the browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

COLOURS: dict[str, str] = {
    "sent": "#0b57a4", "no_objection": "#1d6b2f", "objection": "#a61b1b",
    "expired": "#8a5300", "superseded": "#6b7280",
}
BAR = "#0b57a4"


def hbars(items: Sequence[tuple[str, int]], label: str, width: int = 460) -> str:
    """Horizontal bars, one per (name, count), largest first as given."""
    if not items:
        return ""
    bar_h, gap, left = 20, 6, 170
    height = len(items) * (bar_h + gap) + 10
    most = max(n for _, n in items) or 1
    scale = (width - left - 50) / most
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" '
           'font-size="12" font-family="system-ui,sans-serif">']
    for i, (name, n) in enumerate(items):
        y = 5 + i * (bar_h + gap)
        short = name if len(name) <= 22 else name[:21] + "…"
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(short)}'
                   f'<title>{escape(name)}</title></text>')
        out.append(f'<rect x="{left}" y="{y}" width="{max(n * scale, 1):.1f}" '
                   f'height="{bar_h}" fill="{BAR}"><title>{escape(name)}: {n}</title></rect>')
        out.append(f'<text x="{left + n * scale + 5:.1f}" y="{y + 14}">{n}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked_months(months: Sequence[str], month_labels: Mapping[str, str],
                   counts: Mapping[str, Mapping[str, int]], series: Sequence[str],
                   series_labels: Mapping[str, str], label: str, width: int = 720) -> str:
    """Columns per month, stacked by series (a notification's status)."""
    if not months:
        return ""
    height, bottom, top, left = 260, 40, 10, 40
    plot_h = height - bottom - top
    most = max(sum(counts[m].values()) for m in months) or 1
    step = (width - left - 10) / len(months)
    col = min(step * 0.7, 48)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24}" '
           f'width="{width}" height="{height + 24}" role="img" aria-label="{escape(label)}" '
           'font-size="11" font-family="system-ui,sans-serif">']
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 5}" y2="{top + plot_h}" '
               'stroke="#4d5560"/>')
    out.append(f'<text x="{left - 5}" y="{top + 10}" text-anchor="end">{most}</text>')
    for i, m in enumerate(months):
        x = left + i * step + (step - col) / 2
        y = float(top + plot_h)
        for s in series:
            n = counts[m].get(s, 0)
            if not n:
                continue
            h = n / most * plot_h
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col:.1f}" height="{h:.1f}" '
                       f'fill="{COLOURS.get(s, BAR)}"><title>{escape(month_labels[m])}: '
                       f'{escape(series_labels.get(s, s))} {n}</title></rect>')
        out.append(f'<text x="{x + col / 2:.1f}" y="{top + plot_h + 14}" '
                   f'text-anchor="middle">{escape(month_labels[m])}</text>')
    lx = left
    for s in series:
        out.append(f'<rect x="{lx}" y="{height + 6}" width="12" height="12" '
                   f'fill="{COLOURS.get(s, BAR)}"/><text x="{lx + 16}" y="{height + 16}">'
                   f'{escape(series_labels.get(s, s))}</text>')
        lx += 16 + 8 * len(series_labels.get(s, s)) + 18
    out.append("</svg>")
    return "".join(out)

"""Server-rendered SVG plots for the dashboard: no JavaScript, every label escaped."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup

PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2"]

# Reveal-gap bins in milliseconds: what a reader perceives, from "smooth" to "frozen".
GAP_BINS_MS: tuple[float, ...] = (0, 17, 34, 50, 100, 250, 500, 1000, 2500)


def bin_labels(bins: Sequence[float] = GAP_BINS_MS) -> list[str]:
    labels = [f"{int(lo)}–{int(hi)}" for lo, hi in itertools.pairwise(bins)]
    return [*labels, f"≥{int(bins[-1])}"]


def histogram(values: Sequence[float], bins: Sequence[float] = GAP_BINS_MS) -> list[int]:
    counts = [0] * len(bins)
    for value in values:
        index = 0
        for i, edge in enumerate(bins):
            if value >= edge:
                index = i
        counts[index] += 1
    return counts


def gap_histogram_svg(series: dict[str, Sequence[float]], *, width: int = 640, height: int = 240,
                      bins: Sequence[float] = GAP_BINS_MS) -> Markup:
    """Share of reveal gaps per bin, one bar colour per arm (log-spaced bins, linear share)."""
    labels = bin_labels(bins)
    left, bottom, top = 48, 40, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    shares = {}
    for name, values in series.items():
        counts = histogram(values, bins)
        total = sum(counts) or 1
        shares[name] = [c / total for c in counts]
    peak = max((max(s) for s in shares.values() if s), default=0) or 1
    group_w = plot_w / len(labels)
    bar_w = max(2.0, (group_w - 6) / max(1, len(shares)))
    parts = [Markup('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
                    'aria-label="Reveal gap histogram per arm" class="streamui-plot">').format(width, height, width, height)]
    parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-opacity=".5"/>').format(
        left, top + plot_h, left + plot_w, top + plot_h))
    # The y axis: share of the arm's gaps, with ticks up to the tallest bar.
    parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-opacity=".5"/>').format(
        left, top, left, top + plot_h))
    for k in range(5):
        share = peak * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(Markup('<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="currentColor" stroke-opacity=".15"/>'
                            '<text x="{}" y="{:.1f}" font-size="9" text-anchor="end" fill="currentColor">{:.0%}</text>').format(
            left, y, left + plot_w, y, left - 4, y + 3, share))
    parts.append(Markup('<text x="10" y="{}" font-size="10" transform="rotate(-90 10 {})" text-anchor="middle" '
                        'fill="currentColor">share of gaps</text>').format(top + plot_h / 2, top + plot_h / 2))
    for i, label in enumerate(labels):
        x = left + i * group_w + group_w / 2
        parts.append(Markup('<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle" fill="currentColor">{}</text>').format(
            x, top + plot_h + 14, label))
    for a, (name, values) in enumerate(shares.items()):
        colour = PALETTE[a % len(PALETTE)]
        for i, share in enumerate(values):
            h = plot_h * share / peak
            x = left + i * group_w + 3 + a * bar_w
            parts.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                                '<title>{}: {:.1%} of gaps in {} ms</title></rect>').format(
                x, top + plot_h - h, bar_w - 1, h, colour, name, share, labels[i]))
        parts.append(Markup('<rect x="{}" y="6" width="10" height="10" fill="{}"/>'
                            '<text x="{}" y="15" font-size="11" fill="currentColor">{}</text>').format(
            left + a * 140, colour, left + a * 140 + 14, name))
    parts.append(Markup('<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="currentColor">gap between reveals (ms)</text>').format(
        left + plot_w / 2, height - 6))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def timeline_svg(arrivals: Sequence[Sequence[float]], reveals: Sequence[Sequence[float]], *,
                 width: int = 640, height: int = 260) -> Markup:
    """Characters received versus characters shown over time, for one stream (step lines)."""
    left, bottom, top, right = 50, 36, 20, 10
    plot_w, plot_h = width - left - right, height - bottom - top
    t_max = max([p[0] for p in arrivals] + [p[0] for p in reveals] + [1.0])
    c_max = max([p[1] for p in arrivals] + [p[1] for p in reveals] + [1.0])

    def path(points: Sequence[Sequence[float]]) -> str:
        d: list[str] = []
        last_y: float = top + plot_h
        for t, chars in points:
            x = left + plot_w * t / t_max
            y = top + plot_h - plot_h * chars / c_max
            d.append(f"{'M' if not d else 'L'}{x:.1f},{last_y:.1f} L{x:.1f},{y:.1f}")
            last_y = y
        return " ".join(d)

    parts = [Markup('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
                    'aria-label="Arrivals versus reveals over time" class="streamui-plot">').format(width, height, width, height),
             Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#ccc"/>').format(left, top, plot_w, plot_h),
             Markup('<path d="{}" fill="none" stroke="#9ca3af" stroke-width="1.5"/>').format(path(arrivals)),
             Markup('<path d="{}" fill="none" stroke="#2563eb" stroke-width="2"/>').format(path(reveals)),
             Markup('<text x="{}" y="14" font-size="11" fill="#6b7280">arrived</text>'
                    '<text x="{}" y="14" font-size="11" fill="#2563eb">shown</text>').format(left, left + 60),
             Markup('<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="currentColor">time since the prompt (ms), 0–{:.0f}</text>').format(
                 left + plot_w / 2, height - 8, t_max),
             Markup('<text x="12" y="{}" font-size="10" transform="rotate(-90 12 {})" text-anchor="middle" fill="currentColor">characters, 0–{:.0f}</text>').format(
                 top + plot_h / 2, top + plot_h / 2, c_max),
             Markup("</svg>")]
    return Markup("").join(parts)


__all__ = ["GAP_BINS_MS", "bin_labels", "gap_histogram_svg", "histogram", "timeline_svg"]

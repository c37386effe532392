"""Figures as static SVG, drawn with matplotlib's object API and its SVG canvas: no pyplot
state, no GUI backend, no display, no network; text stays text (searchable, and what the
browser test reads), and each element a reader looks for carries an id.

Ids are `<prefix>-threshold`, `<prefix>-threshold-label`, `<prefix>-pending-<n>`,
`<prefix>-firing-<n>`, `<prefix>-notification-<n>` and `<prefix>-checkpoint-<n>`, with
`<prefix>` = `timeline-<scenario id>`.
"""

from __future__ import annotations

import io
import re
from typing import Any

from obsgate.scenarios.timeline import AlertTimeline

STATE_COLOURS = {"pending": "#f0a020", "firing": "#d62728"}
STATUS_MARKERS = {"firing": ("v", "#d62728"), "resolved": ("^", "#2ca02c")}
RC = {
    "svg.fonttype": "none",  # text as <text>, not glyph paths
    "svg.hashsalt": "obs-gate",  # stable ids inside the SVG
    "font.size": 9,
    # A fixed title height: left to itself, matplotlib places each title above every tick
    # label of every axes under it, measuring them all, 40 % of an exact figure's drawing.
    "axes.titley": 1.0,
}


def timeline_prefix(scenario_id: str) -> str:
    return "timeline-" + re.sub(r"[^A-Za-z0-9_.-]", "_", scenario_id)


def _fmt(value: float) -> str:
    return f"{value:g}"


def svg_of(fig: Any) -> str:
    """A figure as an SVG document, with no date in it (two runs' figures compare equal)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    out = io.StringIO()
    FigureCanvasSVG(fig).print_svg(out, metadata={"Date": None})
    return out.getvalue()


def stacked_figure(
    width: float, rows: list[tuple[float, float]], left: float, right: float, bottom: float
) -> tuple[Any, list[Any]]:
    """A figure of axes stacked top to bottom, each row (height, space above it) in inches,
    placed by hand: matplotlib's constrained layout measures every tick label of every axes
    and takes most of a figure's drawing time."""
    from matplotlib.figure import Figure

    height = bottom + sum(h + gap for h, gap in rows)
    fig = Figure(figsize=(width, height))
    axes, top = [], height
    for h, gap in rows:
        top -= gap + h
        box = (left / width, top / height, (width - left - right) / width, h / height)
        axes.append(fig.add_axes(box))
    return fig, axes


def alert_timeline_svg(tl: AlertTimeline, outcome: str = "") -> str:
    """The scenario's alert timeline as an SVG document."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    prefix = timeline_prefix(tl.scenario_id)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(9, 3.6), layout="constrained")
        ax = fig.add_subplot()
        minutes = 60.0
        for n, series in enumerate(tl.values):
            if series.points:
                xs = [t / minutes for t, _ in series.points]
                ys = [v for _, v in series.points]
                line = ax.plot(xs, ys, lw=1.6, label=series.labels or "rule's value")[0]
                line.set_gid(f"{prefix}-value-{n}")
        if tl.threshold is not None:
            op, number = tl.threshold
            ax.axhline(number, color="#d62728", ls="--", lw=1.2, gid=f"{prefix}-threshold")
            ax.annotate(
                f"threshold {op} {_fmt(number)}",
                xy=(1.0, number),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 3),
                textcoords="offset points",
                ha="right",
                va="bottom",
                color="#d62728",
                gid=f"{prefix}-threshold-label",
            )
        seen_states: set[str] = set()
        counts: dict[str, int] = {}
        for span in tl.spans:
            n = counts[span.state] = counts.get(span.state, -1) + 1
            ax.axvspan(
                span.start / minutes,
                max(span.end, span.start + tl.duration / 400) / minutes,
                color=STATE_COLOURS.get(span.state, "#888"),
                alpha=0.22,
                lw=0,
                gid=f"{prefix}-{span.state}-{n}",
                label=None if span.state in seen_states else f"{span.state} (ALERTS)",
            )
            seen_states.add(span.state)
        top = blended_transform_factory(ax.transData, ax.transAxes)
        for n, cp in enumerate(tl.checkpoints):
            ax.axvline(cp.at / minutes, color="#555", ls=":", lw=1, gid=f"{prefix}-checkpoint-{n}")
            ax.text(
                cp.at / minutes,
                0.02,
                f" {cp.text}: {'firing' if cp.firing else 'quiet'}",
                transform=top,
                rotation=90,
                va="bottom",
                ha="right",
                fontsize=7,
                color="#555",
            )
        shown: set[str] = set()
        for n, arrival in enumerate(tl.arrivals):
            marker, colour = STATUS_MARKERS.get(arrival.status, ("o", "#555"))
            label = f"notification {arrival.status}"
            label += "" if arrival.own else " (names the alert, not the scenario)"
            ax.plot(
                [arrival.at / minutes],
                [0.97],
                marker=marker,
                color=colour,
                markerfacecolor=colour if arrival.own else "none",
                ms=8,
                ls="",
                transform=top,
                clip_on=False,
                gid=f"{prefix}-notification-{n}",
                label=None if label in shown else label,
            )
            shown.add(label)
        ax.set_xlim(0, max(tl.duration, *(a.at for a in tl.arrivals), 0) / minutes * 1.02 or 1)
        ax.set_xlabel(
            f"simulated minutes (the live run is {tl.factor:g} times faster than the wall clock)"
        )
        ax.set_ylabel("value")
        title = f"{tl.alert}: scenario {tl.scenario_id}"
        ax.set_title(f"{title} ({outcome})" if outcome else title, loc="left", fontsize=10)
        if not any(s.points for s in tl.values):
            ax.text(
                0.5,
                0.5,
                "Prometheus returned no value for the rule's expression in this scenario",
                transform=ax.transAxes,
                ha="center",
                color="#555",
            )
        for problem in tl.problems[:2]:
            fig.text(0.01, 0.01, problem[:140], fontsize=7, color="#a00")
        if ax.get_legend_handles_labels()[0]:
            fig.legend(loc="outside right upper", fontsize=7)
        ax.grid(alpha=0.25)
        return svg_of(fig)

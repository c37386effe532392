"""The load run's latency as a figure: client (Locust) and server (the gateway's histogram)
percentiles of one route over time on one plot, the latency SLOs' thresholds, and beside
it the client/server cross-check over the whole window: per percentile the histogram
bucket the server's value falls in, the range the check allows the client's, and both
values.

Ids, with `<prefix>` = `latency-<METHOD path>`: `<prefix>-client-p<q>` and
`<prefix>-server-p<q>` per line over time, `<prefix>-threshold-<n>` and
`<prefix>-threshold-label-<n>` per latency SLO, and per cross-checked percentile
`<prefix>-bucket-p<q>`, `<prefix>-allowed-p<q>`, `<prefix>-check-client-p<q>`,
`<prefix>-check-server-p<q>` and `<prefix>-check-label-p<q>` ("ok" or "DISAGREE").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from obsgate.load.crosscheck import PercentileCheck, Route, percentile_checks
from obsgate.load.history import (
    QUANTILES,
    MeasuredLoad,
    Series,
    client_history,
    server_history,
)
from obsgate.load.stack import PrometheusQueries
from obsgate.load.thresholds import Threshold
from obsgate.reports.exact_plot import FIRING, draw_notes
from obsgate.reports.plots import RC, svg_of

COLOURS = {0.5: "#1f77b4", 0.95: "#ff7f0e", 0.99: "#9467bd"}


def latency_prefix(method: str, path: str) -> str:
    return "latency-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{method} {path}").strip("_")


def _q(q: float) -> str:
    return f"p{q * 100:g}"


@dataclass(frozen=True, kw_only=True)
class LatencyPicture:
    method: str
    path: str
    t0: float  # epoch seconds: the scrape before the first request
    t1: float
    client: Series  # Locust's current percentiles (ms) over time
    server: Series  # histogram_quantile over a 10 s rate window (ms)
    thresholds: list[Threshold]  # the service's latency SLOs
    checks: list[PercentileCheck]  # the cross-check over the whole window
    notes: list[str] = field(default_factory=list)  # the other SLOs' verdicts, problems


def latency_picture(
    queries: PrometheusQueries, run: MeasuredLoad, route: Route, thresholds: list[Threshold]
) -> LatencyPicture:
    """The figure's data for one route of a load run: Locust's history, the server's
    histogram over the run's window, the cross-check as the test computes it, and the
    latency `thresholds`."""
    notes = [
        f"client (Locust, whole run) {'ok  ' if v['ok'] else 'FAIL'} {v['threshold']}: "
        f"{v['measured']}"
        for v in run.report.get("verdicts", [])
    ]
    try:
        checks = percentile_checks(queries, run.report, route, run.t0, run.t1)
    except AssertionError as exc:  # the test says the same; the figure shows what there is
        checks, notes = [], [*notes, f"cross-check: {exc}"]
    return LatencyPicture(
        method=route[0],
        path=route[1],
        t0=run.t0,
        t1=run.t1,
        client=client_history(run.history_csv, route),
        server=server_history(queries.prometheus, route, run.t0, run.t1),
        thresholds=[t for t in thresholds if t.is_latency],
        checks=checks,
        notes=notes,
    )


def _draw_over_time(ax: Any, prefix: str, pic: LatencyPicture) -> None:
    for q in QUANTILES:
        for side, series, style in (("client", pic.client, "-"), ("server", pic.server, "--")):
            points = series.get(q, [])
            ax.plot(
                [t - pic.t0 for t, _ in points],
                [v for _, v in points],
                ls=style,
                lw=1.6 if side == "client" else 1.3,
                marker="." if len(points) < 30 else None,
                color=COLOURS[q],
                label=f"{_q(q)} {side} ({'Locust' if side == 'client' else 'histogram'})",
                gid=f"{prefix}-{side}-{_q(q)}",
            )
    for n, t in enumerate(pic.thresholds):
        if t.bound_s is None:
            continue
        ms = t.bound_s * 1000
        ax.axhline(ms, color=FIRING, ls="--", lw=1.2, gid=f"{prefix}-threshold-{n}")
        ax.annotate(
            f"SLO {t.describe()}",
            xy=(1.0, ms),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            color=FIRING,
            fontsize=8,
            gid=f"{prefix}-threshold-label-{n}",
        )
    ax.set_yscale("log")
    ax.set_xlim(0, max(1.0, pic.t1 - pic.t0))
    ax.set_xlabel(
        "seconds since the load began (both sides: the last ~10 s, never before the load)"
    )
    ax.set_ylabel("latency (ms, log scale)")
    ax.grid(alpha=0.25, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3, frameon=False)


def _draw_crosscheck(ax: Any, prefix: str, pic: LatencyPicture) -> None:
    """Per percentile: the server's bucket (a wide bar), the allowed client range (a thin
    one), the server's value (x) and the client's (o)."""
    for n, check in enumerate(pic.checks):
        q, colour = _q(check.quantile), COLOURS.get(check.quantile, "#333")
        lo, hi = check.bucket_ms
        top = hi if math.isfinite(hi) else max(lo * 4, check.client_ms * 2, 1.0)
        ax.bar(
            n,
            top - lo,
            bottom=max(lo, 0.01),
            width=0.6,
            color=colour,
            alpha=0.18,
            gid=f"{prefix}-bucket-{q}",
        )
        low, high = check.bounds_ms
        ax.plot([n, n], [max(low, 0.01), high], color=colour, lw=3, gid=f"{prefix}-allowed-{q}")
        ax.plot(
            [n],
            [check.server_ms],
            marker="x",
            color="black",
            ms=8,
            ls="",
            gid=f"{prefix}-check-server-{q}",
        )
        ax.plot(
            [n],
            [check.client_ms],
            marker="o",
            color=colour,
            mec="black",
            ms=7,
            ls="",
            gid=f"{prefix}-check-client-{q}",
        )
        ax.annotate(
            "ok" if check.ok else "DISAGREE",
            (n, max(high, check.client_ms, check.server_ms, 0.01)),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            color="#222" if check.ok else FIRING,
            fontweight="normal" if check.ok else "bold",
            gid=f"{prefix}-check-label-{q}",
        )
    ax.set_xticks(range(len(pic.checks)), [_q(c.quantile) for c in pic.checks])
    ax.set_xlim(-0.6, max(len(pic.checks), 1) - 0.4)
    ax.set_title("cross-check, whole window", fontsize=8, loc="left")
    ax.set_xlabel("bar: server's bucket; line: allowed\nx: server, o: client", fontsize=7)
    ax.grid(alpha=0.25, axis="y", which="both")


def latency_svg(pic: LatencyPicture, outcome: str = "") -> str:
    """The route's latency under load as an SVG document."""
    import matplotlib
    from matplotlib.figure import Figure

    prefix = latency_prefix(pic.method, pic.path)
    notes = [(f"note-{n}", text, "#444") for n, text in enumerate(pic.notes)]
    with matplotlib.rc_context(RC):
        # Placed by hand (inches), not by constrained layout: see stacked_figure.
        width, height = 10.0, 4.9 + 0.16 * len(notes)
        fig = Figure(figsize=(width, height))
        bottom = (0.25 + 0.16 * len(notes) + 1.1) / height
        tall = 3.2 / height
        ax = fig.add_axes((0.9 / width, bottom, 6.2 / width, tall))
        side = fig.add_axes((7.5 / width, bottom, 2.2 / width, tall), sharey=ax)
        note_ax = fig.add_axes((0.9 / width, 0.1 / height, 8.8 / width, 0.16 * len(notes) / height))
        _draw_over_time(ax, prefix, pic)
        _draw_crosscheck(side, prefix, pic)
        side.tick_params(labelleft=False)
        title = f"load: {pic.method} {pic.path}, client and server latency"
        ax.set_title(f"{title} ({outcome})" if outcome else title, loc="left", fontsize=10)
        if notes:
            draw_notes(note_ax, prefix, notes)
        else:
            note_ax.set_axis_off()
        return svg_of(fig)

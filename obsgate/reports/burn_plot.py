"""SLO burn as a figure: for one SLO and burn case (suites/slo/test_slo_detection.py), per
severity, the error budget consumed against time, the moment the workbook expects the
burn-rate alert, when promtool's rule engine had it firing, and the test's checkpoints.

Where each part comes from (nothing is drawn that the run did not compute):
- budget consumed: the SLO's own error ratio over the severity's shortest alert window
  (`slo:sli_error:ratio_rate5m` for page), as promtool evaluated it from the served good
  and bad events at every step (the probe run, obsgate/slo/detection.py write_probe),
  summed over time, as a share of the period's budget; the dashed line is the burn the
  test serves (the case's error ratio from the burn's start);
- expected: the workbook's detection time and its tolerance (obsgate/slo/detection.py,
  `expected_checks`), and the checkpoints the test checks;
- firing: every step at which the probe run found the alert firing; the checkpoints'
  "promtool found" row is the verdict run's own output.

Ids, with `<prefix>` = `burn-<slo id>-<case id>-<severity>`: `<prefix>-consumed`,
`<prefix>-served`, `<prefix>-burn-start`, `<prefix>-expected` (the tolerance band) and
`<prefix>-expected-label`, `<prefix>-firing-<n>` per firing span, `<prefix>-fired` and
`<prefix>-fired-label` (the first firing moment, or the words "never fired"), and the
checkpoint lane's `<prefix>-checkpoint-<n>`, `-expected-<n>`, `-promtool-<n>`,
`-promtool-label-<n>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from obsgate.reports.exact_plot import FIRING, ExactCheckpoint, draw_checkpoint_lane, draw_notes
from obsgate.reports.plots import RC, STATE_COLOURS, stacked_figure, svg_of
from obsgate.scenarios.timeline import Span, spans_of
from obsgate.slo import rules
from obsgate.slo.budget import HOUR, error_budget, first_detection, period_seconds, prom_duration
from obsgate.slo.detection import (
    TIMELINES,
    BurnCase,
    DetectionRun,
    Timeline,
    expected_checks,
    probe_ratio,
    tolerance,
)
from obsgate.slo.spec import SLO
from obsgate.tools.promtool_failures import parse_failures

PROBE_TIMEOUT_S = 180.0


def burn_prefix(slo_id: str, case_id: str, severity: str) -> str:
    return "burn-" + re.sub(r"[^A-Za-z0-9_.-]", "_", f"{slo_id}-{case_id}-{severity}")


@dataclass(frozen=True, kw_only=True)
class BurnPanel:
    """One severity's timeline: seconds since the first sample; the burn starts at `start`."""

    severity: str
    alerts: tuple[str, ...]
    step: float
    start: float
    end: float
    ratio: str  # the recorded error ratio the consumption is summed from
    consumed: list[tuple[float, float]]  # (seconds, % of the period's budget)
    served: list[tuple[float, float]]
    firing: list[Span]
    expected: float | None  # the workbook's detection, seconds after the burn starts
    tolerance: float
    checkpoints: list[ExactCheckpoint]  # `at`: seconds after the burn starts
    problems: list[str] = field(default_factory=list)

    @property
    def fired(self) -> float | None:
        """The first moment the probe found the alert firing, in seconds after the burn
        started (negative: it fired on the clean traffic before); None if it never fired."""
        return self.firing[0].start - self.start if self.firing else None


@dataclass(frozen=True, kw_only=True)
class BurnPicture:
    slo_id: str
    case_id: str
    objective: float
    period_days: float
    error_ratio: float
    panels: list[BurnPanel]


def _checkpoints(
    slo: SLO, case: BurnCase, timeline: Timeline, run: DetectionRun, problems: list[str]
) -> list[ExactCheckpoint]:
    """The test's checkpoints, with what its own promtool run found there."""
    expected = expected_checks(slo, case, timeline)
    failures, judged = parse_failures(""), False
    try:
        result = run.checks[timeline.severity].result(PROBE_TIMEOUT_S)
        failures = parse_failures(result.output)
        judged = result.ok or bool(failures.alerts)
    except Exception as exc:
        problems.append(f"the verdict run: {exc}")
    out = []
    for at, firing in expected.items():
        text = signed(at)
        failed = failures.alert_at(slo.page.name, timeline.longest + at)
        if not judged:
            out.append(ExactCheckpoint(at, text, firing, None))
        elif failed is None:
            out.append(ExactCheckpoint(at, text, firing, firing))
        else:
            found = bool(failed.got)
            note = "other labels or annotations" if found and firing else ""
            out.append(ExactCheckpoint(at, text, firing, found, note))
    return out


def _probe_output(run: DetectionRun, severity: str, problems: list[str]) -> str:
    probe = run.probes.get(severity)
    if probe is None:
        problems.append("no probe run: nothing to draw over time")
        return ""
    try:
        return probe.result(PROBE_TIMEOUT_S).output
    except Exception as exc:
        problems.append(f"the probe run: {exc}")
        return ""


def burn_panel(slo: SLO, case: BurnCase, timeline: Timeline, run: DetectionRun) -> BurnPanel:
    """One severity's panel from the verdict run and the probe run's outputs."""
    problems: list[str] = []
    start, end, step = timeline.longest, 2 * timeline.longest, timeline.step
    budget, period = error_budget(slo.objective), period_seconds(slo.period_days)
    share = 100 * step / (budget * period)  # % of the budget one step at ratio 1 spends
    failures = parse_failures(_probe_output(run, timeline.severity, problems))
    ratio_expr = probe_ratio(timeline)
    ratios = sorted((f.at, f.got[0][1]) for f in failures.exprs if f.expr == ratio_expr and f.got)
    errors = {f.error for f in failures.exprs if f.error}
    problems += [f"promtool: {e}" for e in sorted(errors)[:2]]
    consumed, total = [], 0.0
    for at, value in ratios:
        total += value * share
        consumed.append((at, total))
    served_total = case.error_ratio(slo) * share * (end - start) / step
    alerts = tuple(
        r["alert"]
        for r in rules.alert_rules(slo)
        if r["labels"][rules.SEVERITY_LABEL] == timeline.severity
    )
    firing_at = [f.at for f in failures.alerts if f.alert in alerts and f.got]
    ratio = case.error_ratio(slo)
    detect = first_detection(timeline.severity, ratio, slo.objective, period)
    return BurnPanel(
        severity=timeline.severity,
        alerts=alerts,
        step=step,
        start=start,
        end=end,
        ratio=ratio_expr,
        consumed=consumed,
        served=[(0.0, 0.0), (start, 0.0), (end, served_total)],
        firing=spans_of(firing_at, "firing", step),
        expected=detect,
        tolerance=tolerance(timeline, detect) if detect is not None else 0.0,
        checkpoints=_checkpoints(slo, case, timeline, run, problems),
        problems=problems,
    )


def burn_picture(slo: SLO, case: BurnCase, run: DetectionRun) -> BurnPicture:
    """The figure's data for one SLO and burn case, waiting for the probe runs if need be."""
    return BurnPicture(
        slo_id=slo.id,
        case_id=case.id,
        objective=slo.objective,
        period_days=slo.period_days,
        error_ratio=case.error_ratio(slo),
        panels=[burn_panel(slo, case, t, run) for t in TIMELINES if t.severity in run.files],
    )


def _hours(seconds: float) -> float:
    return seconds / HOUR


def signed(seconds: float) -> str:
    """Seconds after the burn's start as `+2h24m`, or `-1h` before it."""
    return ("-" if seconds < 0 else "+") + prom_duration(round(abs(seconds)))


def _draw_panel(ax: Any, prefix: str, panel: BurnPanel, period_days: float) -> None:
    x0 = panel.start
    ax.plot(
        [_hours(t - x0) for t, _ in panel.consumed],
        [v for _, v in panel.consumed],
        color="#1f77b4",
        lw=1.8,
        label=f"consumed: {panel.ratio} summed over time",
        gid=f"{prefix}-consumed",
    )
    ax.plot(
        [_hours(t - x0) for t, _ in panel.served],
        [v for _, v in panel.served],
        color="#777",
        ls="--",
        lw=1.2,
        label="the burn the test serves",
        gid=f"{prefix}-served",
    )
    ax.axvline(0, color="#333", ls="--", lw=1, gid=f"{prefix}-burn-start")
    for n, span in enumerate(panel.firing):
        ax.axvspan(
            _hours(span.start - x0),
            _hours(max(span.end, span.start + panel.step / 2) - x0),
            color=STATE_COLOURS["firing"],
            alpha=0.2,
            lw=0,
            gid=f"{prefix}-firing-{n}",
            label=None if n else "firing (promtool)",
        )
    top = ax.get_xaxis_transform()
    lo_x, hi_x = _hours(-panel.start), _hours(panel.end - panel.start)

    def beside(x: float) -> dict[str, Any]:
        """Text beside a vertical line, on the side with room."""
        right = (x - lo_x) / (hi_x - lo_x) > 0.6
        return {"ha": "right" if right else "left", "transform": top}

    if panel.expected is not None:
        low, high = panel.expected - panel.tolerance, panel.expected + panel.tolerance
        ax.axvspan(
            _hours(low),
            _hours(high),
            color="#f0a020",
            alpha=0.25,
            lw=0,
            gid=f"{prefix}-expected",
            label="expected (workbook, with tolerance)",
        )
        x = _hours(panel.expected)
        ax.text(
            x,
            0.95,
            f" expected at {signed(panel.expected)} (workbook) ",
            va="top",
            fontsize=7,
            color="#a06000",
            gid=f"{prefix}-expected-label",
            **beside(x),
        )
    else:
        ax.text(
            0.01,
            0.95,
            f"workbook: this burn never fires the {panel.severity} alert",
            transform=ax.transAxes,
            va="top",
            fontsize=7,
            color="#a06000",
            gid=f"{prefix}-expected-label",
        )
    fired = panel.fired
    if fired is not None:
        x = _hours(fired)
        ax.axvline(x, color=FIRING, lw=1.5, gid=f"{prefix}-fired")
        ax.text(
            x,
            0.84,
            f" fired at {signed(fired)} (promtool) ",
            va="top",
            fontsize=7,
            color=FIRING,
            fontweight="bold",
            gid=f"{prefix}-fired-label",
            **beside(x),
        )
    else:
        ax.text(
            0.01,
            0.84,
            f"the {panel.severity} alert never fired (promtool)",
            va="top",
            transform=ax.transAxes,
            fontsize=7,
            color=FIRING,
            fontweight="bold",
            gid=f"{prefix}-fired-label",
        )
    ax.set_xlim(_hours(-panel.start), _hours(panel.end - panel.start))
    ax.set_ylabel(f"% of the {period_days:g}-day budget")
    ax.set_xlabel(
        f"hours since the burn began ({panel.severity}: one sample every "
        f"{prom_duration(panel.step)}; clean traffic before 0)"
    )
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False)


def burn_svg(pic: BurnPicture, outcome: str = "") -> str:
    """The SLO's burn case as an SVG document: per severity, a checkpoint lane and a plot."""
    import matplotlib

    notes = []
    for panel in pic.panels:
        notes += [
            (f"{panel.severity}-problem-{n}", f"{panel.severity}: {p}", FIRING)
            for n, p in enumerate(panel.problems)
        ]
    notes.append(
        (
            "note",
            "consumed: from promtool's evaluation of the SLO's rules at every "
            "step; fired: the probe run's steps with the alert firing; the checkpoints' "
            "verdict: the test's own promtool run",
            "#444",
        )
    )
    with matplotlib.rc_context(RC):
        rows = [(0.8, 0.75 if n == 0 else 1.35) for n in range(len(pic.panels))]
        rows = [r for lane in rows for r in (lane, (2.4, 0.08))] + [(0.16 * len(notes), 1.35)]
        fig, axes = stacked_figure(10, rows, 1.5, 1.0, 0.1)
        *axes, note_ax = axes
        for n, panel in enumerate(pic.panels):
            lane, ax = axes[2 * n], axes[2 * n + 1]
            lane.sharex(ax)
            lane.tick_params(labelbottom=False)
            prefix = burn_prefix(pic.slo_id, pic.case_id, panel.severity)
            _draw_panel(ax, prefix, panel, pic.period_days)
            draw_checkpoint_lane(lane, prefix, panel.checkpoints, HOUR, "promtool found")
            lane.set_title(
                f"{panel.severity} alert {'/'.join(panel.alerts) or '(none)'}",
                loc="left",
                fontsize=9,
            )
        title = (
            f"SLO {pic.slo_id} ({pic.objective:g} % over {pic.period_days:g} d): burn case "
            f"{pic.case_id}, error ratio {pic.error_ratio:.4g} from the burn's start"
        )
        fig.suptitle(f"{title} ({outcome})" if outcome else title, x=0.01, ha="left", fontsize=10)
        draw_notes(note_ax, burn_prefix(pic.slo_id, pic.case_id, "all"), notes)
        return svg_of(fig)

"""The exact layer's scenario as a figure: the input series promtool was given, over
simulated time, and each checkpoint with what the scenario expects there (firing or quiet)
and what promtool's rule engine found.

promtool prints only the checks that failed: a checkpoint it does not name held, so its
state there is the expected one; one it names got the alerts it lists (none: quiet).

Ids, with `<prefix>` = `exact-<scenario id>`: `<prefix>-series-<n>` per input series,
`<prefix>-checkpoint-<n>`, `<prefix>-expected-<n>` and `<prefix>-expected-label-<n>` (what
the scenario expects), `<prefix>-promtool-<n>` and `<prefix>-promtool-label-<n>` (what
promtool found), per checkpoint in time order.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from obsgate.config.rules import AlertRule
from obsgate.errors import ConfigError
from obsgate.promql import threshold_of_alert_expr
from obsgate.reports.plots import RC, stacked_figure, svg_of
from obsgate.scenarios.exact import ExactResult
from obsgate.scenarios.model import Checkpoint, Scenario, Series
from obsgate.slo.budget import prom_duration
from obsgate.tools.promtool_failures import AlertFailure, parse_failures

FIRING, QUIET = "#d62728", "#2ca02c"
MINUTE = 60.0
MAX_PANELS = 4
MAX_LEGEND = 10
_RULE_ERROR = re.compile(r"^\s*rule: \S+, time: [^,]*, err: .*$", re.M)


def exact_prefix(scenario_id: str) -> str:
    return "exact-" + re.sub(r"[^A-Za-z0-9_.-]", "_", scenario_id)


@dataclass(frozen=True)
class ExactCheckpoint:
    at: float  # simulated seconds
    text: str  # as the scenario writes it: "8m"
    expected: bool  # firing expected
    found: bool | None  # firing as promtool found it; None: promtool judged no checkpoint
    note: str = ""  # what promtool found, where it disagreed

    @property
    def agreed(self) -> bool | None:
        return None if self.found is None else self.found == self.expected and not self.note

    @property
    def found_text(self) -> str:
        """What promtool found, and how it differs from the expectation."""
        if self.found is None:
            return "not judged"
        word = "firing" if self.found else "quiet"
        if self.agreed:
            return word
        return f"{word}, {self.note}" if self.found == self.expected else word.upper()


@dataclass(frozen=True)
class SeriesLine:
    label: str  # the labels that tell it apart from the scenario's other series
    group: str  # the panel it is drawn in
    points: list[tuple[float, float]]  # (simulated seconds, value); NaN where absent


@dataclass(frozen=True, kw_only=True)
class ExactPicture:
    scenario_id: str
    alert: str
    intent: str
    series: list[SeriesLine]
    checkpoints: list[ExactCheckpoint]
    rules: list[str] = field(default_factory=list)  # the alert's rules, one line each
    problems: list[str] = field(default_factory=list)  # what promtool said besides checks


def _differing(series: tuple[Series, ...]) -> set[str]:
    names = {k for s in series for k in s.labels}
    return {k for k in names if len({s.labels.get(k) for s in series}) > 1}


def _series_lines(scenario: Scenario) -> list[SeriesLine]:
    """One line per input series; panels by metric and labels except `le` (a histogram's
    buckets share one), or by metric where that would make too many panels."""
    differ = _differing(scenario.series)

    def group_key(s: Series, keep_labels: bool) -> str:
        if not keep_labels:
            return s.name
        shown = {k: v for k, v in sorted(s.labels.items()) if k in differ and k != "le"}
        inner = ", ".join(f"{k}={v}" for k, v in shown.items())
        return f"{s.name}{{{inner}}}" if shown else s.name

    keep = len({group_key(s, True) for s in scenario.series}) <= MAX_PANELS
    lines = []
    for s in scenario.series:
        group = group_key(s, keep)
        own = {k: v for k, v in sorted(s.labels.items()) if k in differ}
        own = {k: v for k, v in own.items() if f"{k}={v}" not in group}
        label = ", ".join(f"{k}={v}" for k, v in own.items())
        points = [
            (n * scenario.interval_seconds, math.nan if v is None else v)
            for n, v in enumerate(s.values)
        ]
        lines.append(SeriesLine(label, group, points))
    return lines


def rule_lines(rules: list[AlertRule], alert: str) -> list[str]:
    """The alert's rules, each as one line that starts with its threshold, so a mutated
    threshold reads under the figure."""
    lines = []
    for rule in rules:
        if rule.name != alert:
            continue
        try:
            threshold = threshold_of_alert_expr(rule.expr)
        except ConfigError:
            threshold = None
        head = f"threshold {threshold[0]} {threshold[1]:g}, " if threshold else ""
        duration = f"for {prom_duration(rule.for_seconds)}, " if rule.for_seconds else ""
        lines.append(
            f"rule {rule.file.name}:{rule.line}: {head}{duration}{' '.join(rule.expr.split())}"
        )
    return lines


def _difference(expected: Checkpoint, failed: AlertFailure) -> str:
    """The labels and annotations promtool got that the checkpoint does not expect."""
    want_labels = {k: v for a in expected.firing for k, v in a.labels.items()}
    want_notes = {k: v for a in expected.firing for k, v in a.annotations.items()}
    found: list[str] = []
    for labels, notes in zip(failed.got, failed.annotations, strict=False):
        for want, got in ((want_labels, labels), (want_notes, notes)):
            found += [
                f"{k}={v!r} (expected {want[k]!r})" if k in want else f"{k}={v!r} (unexpected)"
                for k, v in got.items()
                if k != "alertname" and want.get(k) != v
            ]
    return "; ".join(dict.fromkeys(found)) or "a different set of alerts"


def exact_picture(
    scenario: Scenario, result: ExactResult, rules: list[AlertRule] | None = None
) -> ExactPicture:
    """The scenario's series and checkpoints, with promtool's findings from its output."""
    failures = parse_failures(result.tool_output)
    judged = result.ok or bool(failures.alerts)
    checkpoints: list[ExactCheckpoint] = []
    differences: list[str] = []
    for cp in scenario.expect:
        expected = bool(cp.firing)
        failed = failures.alert_at(scenario.alert, cp.at_seconds)
        if not judged:
            checkpoints.append(ExactCheckpoint(cp.at_seconds, cp.at_text, expected, None))
        elif failed is None:
            checkpoints.append(ExactCheckpoint(cp.at_seconds, cp.at_text, expected, expected))
        else:
            found = bool(failed.got)
            note = "other labels or annotations" if found and expected else ""
            checkpoints.append(ExactCheckpoint(cp.at_seconds, cp.at_text, expected, found, note))
            if note:
                differences.append(f"at {cp.at_text} promtool got {_difference(cp, failed)}")
    problems = [m.group(0).strip() for m in _RULE_ERROR.finditer(result.tool_output)][:3]
    problems += differences[:3]
    if not judged and not problems:
        problems = [line for line in result.tool_output.splitlines() if line.strip()][:2]
    return ExactPicture(
        scenario_id=scenario.id,
        alert=scenario.alert,
        intent=scenario.intent,
        series=_series_lines(scenario),
        checkpoints=sorted(checkpoints, key=lambda c: c.at),
        rules=rule_lines(rules or [], scenario.alert),
        problems=problems,
    )


def _state(firing: bool) -> tuple[str, str, str]:
    """(marker, colour, word) of a state."""
    return ("v", FIRING, "firing") if firing else ("o", QUIET, "quiet")


def draw_checkpoint_lane(
    lane: Any, prefix: str, checkpoints: list[ExactCheckpoint], scale: float, found_by: str
) -> None:
    """Two rows over time: what the test expects at each checkpoint, and what promtool found
    there (a disagreement outlined and in red). `scale`: seconds per x unit."""
    xs = [cp.at / scale for cp in checkpoints]
    span = (max(xs) - min(xs)) if len(xs) > 1 else 1.0
    for n, cp in enumerate(checkpoints):
        x = xs[n]
        # Labels to the right, to the left when the next checkpoint is close, and none in
        # the middle of a cluster (its markers still say it).
        after = n + 1 < len(xs) and xs[n + 1] - x < 0.12 * span
        before = n > 0 and x - xs[n - 1] < 0.12 * span
        side = {"xytext": (-6, 0), "ha": "right"} if after else {"xytext": (6, 0)}
        lane.axvline(x, color="#555", ls=":", lw=1, gid=f"{prefix}-checkpoint-{n}")
        marker, colour, word = _state(cp.expected)
        lane.plot([x], [1], marker=marker, color=colour, ms=9, ls="", gid=f"{prefix}-expected-{n}")
        label = dict(textcoords="offset points", va="center", fontsize=7, **side)
        if after and before:
            label["alpha"] = 0.0
        lane.annotate(f"{cp.text}: {word}", (x, 1), gid=f"{prefix}-expected-label-{n}", **label)
        agreed = cp.agreed is not False
        if cp.found is not None:
            marker, colour, _ = _state(cp.found)
            lane.plot(
                [x],
                [0],
                marker=marker,
                color=colour,
                mec=colour if agreed else "black",
                mew=1 if agreed else 2,
                ms=9 if agreed else 10,
                ls="",
                gid=f"{prefix}-promtool-{n}",
            )
        lane.annotate(
            cp.found_text,
            (x, 0),
            color=("#222" if cp.found is not None else "#777") if agreed else FIRING,
            fontweight="normal" if agreed else "bold",
            gid=f"{prefix}-promtool-label-{n}",
            **label,
        )
    lane.set_ylim(-0.7, 1.7)
    lane.set_yticks([1, 0], ["test expects", f"{found_by}\n(upper case: differs)"])
    lane.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        lane.spines[side].set_visible(False)


def draw_notes(ax: Any, prefix: str, notes: list[tuple[str, str, str]]) -> None:
    """Lines of text under a figure, each (id suffix, text, colour)."""
    ax.set_axis_off()
    for n, (gid, text, colour) in enumerate(notes):
        ax.text(0, 1 - n / len(notes), text, transform=ax.transAxes, va="top", fontsize=7,
                color=colour, gid=f"{prefix}-{gid}")  # fmt: skip


def _draw_series(ax: Any, prefix: str, lines: list[tuple[int, SeriesLine]], group: str) -> None:
    for n, line in lines:
        ax.plot(
            [t / MINUTE for t, _ in line.points],
            [v for _, v in line.points],
            marker="." if len(line.points) <= 40 else None,
            ms=3,
            lw=1.4,
            label=textwrap.shorten(line.label, 50, placeholder="...") if line.label else None,
            gid=f"{prefix}-series-{n}",
        )
    ax.set_title(group, loc="left", fontsize=8, color="#333")
    ax.grid(alpha=0.25)
    if any(line.label for _, line in lines):
        handles, labels = ax.get_legend_handles_labels()
        extra = len(handles) - MAX_LEGEND
        if extra > 0:
            handles, labels = handles[:MAX_LEGEND], labels[:MAX_LEGEND]
            labels[-1] += f" (+{extra} more)"
        ax.legend(handles, labels, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def exact_svg(pic: ExactPicture, outcome: str = "") -> str:
    """The scenario as an SVG document."""
    import matplotlib

    prefix = exact_prefix(pic.scenario_id)
    groups = list(dict.fromkeys(line.group for line in pic.series))
    times = [c.at for c in pic.checkpoints] + [t for s in pic.series for t, _ in s.points]
    notes = [("intent", textwrap.shorten(f"intent: {pic.intent}", 150), "#444")]
    notes += [(f"rule-{n}", textwrap.shorten(r, 150), "#444") for n, r in enumerate(pic.rules)]
    notes += [(f"problem-{n}", textwrap.shorten(f"promtool: {p}", 150), FIRING)
              for n, p in enumerate(pic.problems)]  # fmt: skip
    legends = any(line.label for line in pic.series)
    with matplotlib.rc_context(RC):
        rows = [(0.8, 0.4)] + [(1.35, 0.3)] * len(groups) + [(0.16 * len(notes), 0.6)]
        fig, axes = stacked_figure(10, rows, 1.5, 3.0 if legends else 0.3, 0.1)
        *axes, note_ax = axes
        lane, panels = axes[0], axes[1:]
        for ax in panels:
            ax.sharex(lane)
        for ax in axes[:-1]:
            ax.tick_params(labelbottom=False)
        numbered = list(enumerate(pic.series))
        for group, ax in zip(groups, panels, strict=True):
            _draw_series(ax, prefix, [(n, s) for n, s in numbered if s.group == group], group)
            for cp in pic.checkpoints:
                ax.axvline(cp.at / MINUTE, color="#555", ls=":", lw=1)
        draw_checkpoint_lane(lane, prefix, pic.checkpoints, MINUTE, "promtool found")
        lane.set_xlim(0, max([*times, 60]) / MINUTE * 1.08 + 0.5)
        axes[-1].set_xlabel("simulated minutes (promtool's clock: the first sample is at 0)")
        title = f"{pic.alert}: scenario {pic.scenario_id} (exact layer, promtool)"
        lane.set_title(f"{title} ({outcome})" if outcome else title, loc="left", fontsize=10, pad=8)
        draw_notes(note_ax, prefix, notes)
        return svg_of(fig)

"""The figures: static SVG whose elements a reader (and the browser test) can find by id,
with their labels as text, and nothing loaded from elsewhere: the alert timeline, and the
routing tree with one case's path."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from obsgate.reports.plots import alert_timeline_svg, timeline_prefix
from obsgate.reports.route_plot import MISSED, WRONG, RoutedCase, route_prefix, route_tree_svg
from obsgate.scenarios.route_tree import route_tree
from obsgate.scenarios.timeline import (
    AlertTimeline,
    Arrival,
    Checkpoint,
    Span,
    ValueSeries,
    spans_of,
)

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


def a_timeline() -> AlertTimeline:
    """A scenario as the live layer records one: 6% errors from minute 0 to 10 against a
    5% threshold, pending for 5 minutes, firing, resolved; a notification each way."""
    return AlertTimeline(
        scenario_id="high-error-rate-fires",
        alert="HighErrorRate",
        factor=240,
        duration=900,
        value_query="sum(rate(errors[1s])) / sum(rate(requests[1s]))",
        threshold=(">", 0.05),
        values=[ValueSeries("", [(t * 15.0, 0.06 if t < 40 else 0.0) for t in range(60)])],
        spans=[Span("pending", 120, 420), Span("firing", 435, 650)],
        checkpoints=[Checkpoint(240, "4m", False), Checkpoint(480, "8m", True)],
        arrivals=[Arrival(470, "pagerduty-critical", "pagerduty", "firing"),
                  Arrival(700, "pagerduty-critical", "pagerduty", "resolved", own=False)],
    )  # fmt: skip


def test_timeline_svg_names_its_parts(tmp_path: Path) -> None:
    svg = alert_timeline_svg(a_timeline(), "failed")
    (tmp_path / "t.svg").write_text(svg)
    root = ET.parse(tmp_path / "t.svg").getroot()
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    prefix = timeline_prefix("high-error-rate-fires")
    for part in ("threshold", "threshold-label", "pending-0", "firing-0", "checkpoint-1"):
        assert f"{prefix}-{part}" in ids, part
    assert {f"{prefix}-notification-0", f"{prefix}-notification-1"} <= ids
    label = next(el for el in root.iter() if el.get("id") == f"{prefix}-threshold-label")
    assert "threshold > 0.05" in "".join(label.itertext())
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "HighErrorRate: scenario high-error-rate-fires (failed)" in text
    assert "names the alert, not the scenario" in text  # the hollow marker's legend
    refs = [el.get(XLINK) or el.get("href") for el in root.iter()]
    assert all(ref.startswith("#") for ref in refs if ref), "only references inside the SVG"


def test_a_timeline_without_values_says_so() -> None:
    timeline = a_timeline()
    timeline.values.clear()
    assert "Prometheus returned no value" in alert_timeline_svg(timeline)


def test_spans_join_consecutive_points_and_split_at_gaps() -> None:
    times = [0, 10, 20, 30, 100, 110]
    assert spans_of(times, "firing", 10) == [Span("firing", 0, 30), Span("firing", 100, 110)]
    assert spans_of([], "pending", 10) == []


TREE = {
    "route": {
        "receiver": "default",
        "routes": [
            {"match": {"severity": "critical"}, "receiver": "pager", "continue": True},
            {
                "match": {"team": "platform"},
                "receiver": "slack-platform",
                "routes": [{"match": {"severity": "critical"}, "receiver": "pager-platform"}],
            },
            {"match": {"team": "security"}, "receiver": "slack-security"},
        ],
    }
}


def test_route_tree_svg_highlights_the_path_and_marks_the_difference(tmp_path: Path) -> None:
    """A critical platform alert: the tree sends it to pager and pager-platform (continue,
    then the nested route); the case expected slack-platform instead of pager-platform."""
    routed = RoutedCase(
        "critical-platform",
        {"alertname": "X", "severity": "critical", "team": "platform"},
        expected=("pager", "slack-platform"),
        delivered=("pager",),
    )
    (tmp_path / "r.svg").write_text(route_tree_svg(route_tree(TREE, "am.yaml"), routed, "failed"))
    root = ET.parse(tmp_path / "r.svg").getroot()
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    prefix = route_prefix("critical-platform")
    assert {f"{prefix}-route-{n}" for n in range(5)} <= ids  # every route of the tree
    assert {f"{prefix}-path-0", f"{prefix}-path-1", f"{prefix}-path-2"} <= ids
    assert f"{prefix}-path-3" not in ids  # the security branch is not on the path
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    legend = "".join(by_id[f"{prefix}-legend"].itertext())
    assert "the tree sends them to: pager, pager-platform" in legend
    assert "expected: pager, slack-platform" in legend
    assert "notifications arrived at: pager" in legend
    box = {n: ET.tostring(by_id[f"{prefix}-route-{n}"], encoding="unicode") for n in range(5)}
    assert MISSED in box[2] and "slack-platform" in box[2]  # expected, not reached
    assert WRONG in box[3] and "pager-platform" in box[3]  # reached, not expected

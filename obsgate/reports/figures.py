"""Each test's figures, drawn in the process that ran it (an xdist worker or the lone
process) right after its call, while the servers still answer:

- a test that replays a live scenario: its alert timeline, always (reports/timelines/);
- a routing case that failed or is a finding: the routing tree with its path (reports/routes/);
- an exact-layer scenario: its input series and checkpoints against promtool's findings,
  always (reports/exact/);
- an SLO burn case of the detection test: budget consumed over time, and when each
  burn-rate alert was expected and fired, always (reports/slo-burn/);
- the load gate's client/server cross-check: both sides' latency percentiles over the
  load run, the check's buckets and the latency SLOs, always (reports/latency/).

Each figure is a file under the reports dir, named on the test's report (the run's owner
puts it on the landing page), and inline in the test's row of report.html unless it passed.
Drawing never fails a test: an error is one warning naming the file.
"""

from __future__ import annotations

import pickle
import re
import time
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import pytest

from obsgate.config import ObsConfig
from obsgate.config.rules import AlertRule
from obsgate.options import FIGURE_SECONDS_ATTR, config_dir, figures, reports_dir
from obsgate.reports.drawing import (
    Drawer,
    Render,
    cached_path,
    cached_svg,
    figure_key,
    keep_svg,
    write_svg,
)
from obsgate.reports.landing import BURN_DIR, EXACT_DIR, LATENCY_DIR, ROUTES_DIR, TIMELINES_DIR
from obsgate.reports.record import FIGURES_ATTR
from obsgate.scenarios.routing import RouteCase, live_arrivals, slack_channels
from obsgate.slo.detection import BurnCase

FIGURE_DIRS = (TIMELINES_DIR, ROUTES_DIR, EXACT_DIR, BURN_DIR, LATENCY_DIR)
DRAWER = pytest.StashKey[Drawer]()
Figure = tuple[Render, Any] | None  # what draws it, and its data; None: nothing to draw
# Figures whose data a run repeats (promtool's results, the config): kept in the cache. A
# live timeline or a load run is measured anew each time, and never drawn twice.
_REPEATABLE = (EXACT_DIR, BURN_DIR, ROUTES_DIR)


def _outcome(report: pytest.TestReport) -> str:
    return "xfailed" if hasattr(report, "wasxfail") else report.outcome


def _file_name(item: pytest.Item) -> str:
    """One file per test: the alerts and routing suites both replay a scenario, and each
    figure carries its own test's outcome."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name).strip("-") + ".svg"


def attach_figures(item: pytest.Item, report: pytest.TestReport) -> None:
    """`--figures off`: a run read only for its verdicts (the gate's own child runs in its
    tests); `failed`: only where a reader has to look (a large config's run)."""
    wanted = figures(item.config)
    if wanted == "off" or (wanted == "failed" and _outcome(report) == "passed"):
        return
    params = getattr(getattr(item, "callspec", None), "params", {})
    funcargs = getattr(item, "funcargs", {})
    if params.get("scenario") is not None and funcargs.get("live_alert_runs") is not None:
        _attach(item, report, TIMELINES_DIR, lambda: _timeline(params, funcargs))
    if params.get("scenario") is not None and funcargs.get("exact_results") is not None:
        _attach(item, report, EXACT_DIR, lambda: _exact(item, params, funcargs))
    case = params.get("case")
    if isinstance(case, BurnCase) and funcargs.get("detection_runs") is not None:
        _attach(item, report, BURN_DIR, lambda: _burn(case, funcargs))
    if funcargs.get("healthy_run") is not None and {"method", "path"} <= params.keys():
        _attach(item, report, LATENCY_DIR, lambda: _latency(item, params, funcargs))
    if isinstance(case, RouteCase) and _outcome(report) != "passed":
        _attach(item, report, ROUTES_DIR, lambda: _route_tree(item, case, funcargs))


def _attach(
    item: pytest.Item,
    report: pytest.TestReport,
    folder: str,
    figure: Callable[[], tuple[Render, Any] | None],
) -> None:
    """Gather the figure's data now, while the servers answer; draw it now if it goes inline
    (a test that did not pass), else in the drawing process (obsgate/reports/drawing.py)."""
    path = reports_dir(item.config) / folder / _file_name(item)
    outcome = _outcome(report)
    started = time.perf_counter()
    try:
        found = figure()
        if found is None:
            return
        render, picture = found
        try:
            key: str | None = figure_key(render, picture, outcome)
        except (pickle.PicklingError, TypeError, AttributeError):
            key = None  # data only this process can hold: drawn here, not kept
        keep = cached_path(key) if key and folder in _REPEATABLE else None
        svg = cached_svg(key) if key and keep else None
        if svg is not None:
            write_svg(path, svg)
        elif outcome == "passed" and key:
            drawer(item.config).submit(render, picture, outcome, path, keep)
        else:
            svg = render(picture, outcome)
            write_svg(path, svg)
            if keep:
                keep_svg(keep, svg)
    except Exception as exc:
        item.warn(pytest.PytestWarning(f"obs-gate: could not write {path}: {exc}"))
        return
    finally:  # the run's owner says how much of the alerts suite was drawing
        spent = getattr(report, FIGURE_SECONDS_ATTR, 0.0) + time.perf_counter() - started
        setattr(report, FIGURE_SECONDS_ATTR, spent)
    drawn = getattr(report, FIGURES_ATTR, None) or []
    setattr(report, FIGURES_ATTR, [*drawn, f"{folder}/{path.name}"])
    if outcome != "passed":
        from pytest_html import extras

        inline = svg[svg.find("<svg") :]
        report.extras = [*getattr(report, "extras", []), extras.html(f"<div>{inline}</div>")]


def drawer(config: pytest.Config) -> Drawer:
    """This process's drawing process, started with its first figure."""
    if DRAWER not in config.stash:
        config.stash[DRAWER] = Drawer()
    return config.stash[DRAWER]


def _timeline(params: dict[str, Any], funcargs: dict[str, Any]) -> Figure:
    from obsgate.reports.plots import alert_timeline_svg
    from obsgate.scenarios.timeline import alert_timeline

    scenario = params["scenario"]
    timeline = alert_timeline(funcargs["live_alert_runs"].of(scenario), scenario)
    return None if timeline is None else (alert_timeline_svg, timeline)


def _exact(item: pytest.Item, params: dict[str, Any], funcargs: dict[str, Any]) -> Figure:
    from obsgate.reports.exact_plot import exact_picture, exact_svg

    scenario = params["scenario"]
    result = funcargs["exact_results"].get(scenario.id)
    if result is None:  # the test already says it was not run
        return None
    rules = _alert_rules(config_dir(item.config))
    return exact_svg, exact_picture(scenario, result, rules)


def _burn(case: BurnCase, funcargs: dict[str, Any]) -> Figure:
    """The SLO's burn under this case, where the test ran promtool for it."""
    from obsgate.reports.burn_plot import burn_picture, burn_svg

    slo = funcargs.get("slo")
    run = funcargs["detection_runs"].get((getattr(slo, "id", None), case.id))
    if run is None:  # no alert to fire, or no intent: the test says which
        return None
    return burn_svg, burn_picture(slo, case, run)


def _latency(item: pytest.Item, params: dict[str, Any], funcargs: dict[str, Any]) -> Figure:
    """Client and server latency of the cross-checked route over the healthy load run."""
    from obsgate.load.history import MeasuredLoad, history_path
    from obsgate.load.stack import GATEWAY, PrometheusQueries
    from obsgate.load.thresholds import slo_thresholds
    from obsgate.reports.load_plot import latency_picture, latency_svg

    run, stack = funcargs["healthy_run"], funcargs["load_stack"]
    files = run.result.files
    measured = MeasuredLoad(
        report=run.result.report,
        history_csv=Path(files.get("history") or history_path(files["csv"])),
        t0=run.t0,
        t1=run.t1,
    )
    picture = latency_picture(
        PrometheusQueries(stack.prometheus),
        measured,
        (params["method"], params["path"]),
        slo_thresholds(ObsConfig(config_dir(item.config)), GATEWAY),
    )
    return latency_svg, picture


@lru_cache(maxsize=4)
def _alert_rules(directory: Path) -> list[AlertRule]:
    return ObsConfig(directory).alert_rules()


@lru_cache(maxsize=4)
def _alertmanager_config(directory: Path) -> dict[str, Any]:
    return ObsConfig(directory).alertmanager()


def _route_tree(item: pytest.Item, case: RouteCase, funcargs: dict[str, Any]) -> Figure:
    """The tree from the config under test; for the live check, also where notifications
    naming the case's alert really arrived."""
    from obsgate.reports.route_plot import RoutedCase, route_tree_svg
    from obsgate.scenarios.route_tree import route_tree

    directory = config_dir(item.config)
    cfg = _alertmanager_config(directory)
    delivered = None
    sink = funcargs.get("capture_sink")
    if sink is not None and case.alert and funcargs.get("live_alert_runs") is not None:
        delivered = tuple(live_arrivals(case.alert, sink.notifications(), slack_channels(cfg)))
    routed = RoutedCase(case.id, dict(case.labels), tuple(case.receivers), delivered)
    root = route_tree(cfg, str(directory / "alertmanager"))
    return partial(route_tree_svg, root), routed

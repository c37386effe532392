"""Universal checks of any config's dashboards, no servers: unique uids, panels that do not
overlap, every metric a panel reads produced by something in the config, every dashboard
link of an alert or receiver naming a dashboard of the config, panels that mirror an alert
showing the alert's own quantity, unit and firing threshold, and a window a panel's title
names being the one it reads over."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from obsgate import promql
from obsgate.config import ObsConfig
from obsgate.config.files import parse_duration
from obsgate.dashboards import (
    Mirror,
    Panel,
    alert_threshold,
    load_dashboards,
    overlapping,
    panels,
    produced_metrics,
    promql_of,
)
from obsgate.dashboards.links import dashboard_uids, grafana_hosts, receiver_links, rule_links
from obsgate.findings import judge, universal_finding

pytestmark = [pytest.mark.dashboards]


def test_no_dashboard_uid_is_duplicated(obs_config: ObsConfig) -> None:
    files = [(p.name, doc.get("uid")) for p, doc in load_dashboards(obs_config)]
    uids = Counter(str(doc_uid) for _, doc_uid in files)
    offenders = [f"{name}: no uid" for name, doc_uid in files if doc_uid in (None, "")]
    offenders += [f"uid {u} used {n} times" for u, n in sorted(uids.items()) if n > 1]
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "dashboard-uids-unique"),
        observed=offenders,
        failure=f"dashboards without a unique uid: {offenders} (files and uids: {files})",
    )


def test_panels_do_not_overlap(obs_config: ObsConfig) -> None:
    found = panels(obs_config)
    offenders = [f"{p.id}: no gridPos" for p in found if p.grid is None]
    offenders += [f"{a.id} {a.grid} and {b.title} {b.grid}" for a, b in overlapping(found)]
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "dashboard-grid-no-overlap"),
        observed=offenders,
        failure="panels overlap (x, y, w, h) or have no gridPos:\n" + "\n".join(offenders),
    )


@pytest.mark.requires("app_settings")
def test_every_panel_metric_is_produced(obs_config: ObsConfig) -> None:
    """A metric that neither the app, the rules nor the scrape config produces has no data."""
    produced = produced_metrics(obs_config)
    missing: dict[str, list[str]] = {}
    for panel in panels(obs_config):
        for expr in panel.exprs:
            for sel in promql.selectors(expr, f"{panel.file}: {panel.title}"):
                if sel.metric and sel.metric not in produced:
                    missing.setdefault(sel.metric, []).append(panel.id)
    judge(
        holds=not missing,
        finding=universal_finding(obs_config, "dashboard-metrics-produced"),
        observed=[f"{panel}: {metric}" for metric, ids in missing.items() for panel in ids],
        failure=f"panels read metrics nothing in the config produces: {missing}",
    )


@pytest.mark.requires("rules")
def test_every_dashboard_link_names_a_dashboard_of_the_config(obs_config: ObsConfig) -> None:
    """An alert's dashboard link (an annotation, or a receiver's literal URL) whose uid no
    dashboard of the config has opens "Dashboard not found" for whoever is paged."""
    rules = obs_config.alert_rules()
    links = rule_links(rules)
    if obs_config.has("alertmanager"):
        source = obs_config.alertmanager_source().describe()
        links += receiver_links(obs_config.alertmanager(), grafana_hosts(rules), source)
    uids = dashboard_uids(d.doc for d in obs_config.dashboards())
    broken = [link for link in links if link.uid not in uids]
    judge(
        holds=not broken,
        finding=universal_finding(obs_config, "dashboard-links-resolve"),
        observed=[link.evidence for link in broken],
        failure=f"dashboard links naming no dashboard of the config (uids {sorted(uids)}):\n"
        + "\n".join(f"{link.place}: {link.evidence}: {link.url}" for link in broken),
    )


def mirror_of(config: ObsConfig, mirror: Mirror) -> tuple[Panel, str]:
    """The mirroring panel, and the alert rule's expression."""
    found = [
        p for p in panels(config) if (p.dashboard, p.title) == (mirror.dashboard, mirror.panel)
    ]
    rules = [r for r in config.alert_rules() if r.name == mirror.alert]
    assert len(found) == 1, f"no single panel {mirror.panel!r} in dashboard {mirror.dashboard}"
    assert len(rules) == 1, f"no single alert rule {mirror.alert}"
    assert len(found[0].exprs) == 1, f"{found[0].id} has {len(found[0].exprs)} targets, not 1"
    return found[0], rules[0].expr


@pytest.mark.requires("scenarios/dashboards/mirrors.yaml", "rules")
def test_mirrored_panel_reads_what_its_rule_reads(obs_config: ObsConfig, mirror: Mirror) -> None:
    panel, expr = mirror_of(obs_config, mirror)
    shown = {s.metric for s in promql.selectors(panel.exprs[0])}
    fired = {s.metric for s in promql.selectors(expr)}
    assert shown == fired, (
        f"{panel.id} reads {sorted(shown)}, but {mirror.alert}, which it mirrors, reads "
        f"{sorted(fired)}: renamed in one and not the other?"
    )


@pytest.mark.requires("scenarios/dashboards/mirrors.yaml", "rules")
def test_mirrored_panel_unit_and_red_threshold(obs_config: ObsConfig, mirror: Mirror) -> None:
    """The panel turns red exactly where its alert fires, in the intended unit."""
    panel, expr = mirror_of(obs_config, mirror)
    compared = alert_threshold(expr, f"alert {mirror.alert}")
    assert compared and compared[1] in (">", ">="), f"{mirror.alert} is not `value > threshold`"
    threshold = compared[2] * mirror.scale
    offenders = []
    if panel.unit != mirror.unit:
        offenders.append(f"{panel.id}: unit {panel.unit!r}, intended {mirror.unit!r}")
    if panel.red_threshold() != pytest.approx(threshold):
        offenders.append(
            f"{panel.id}: red at {panel.red_threshold()} {panel.unit}, {mirror.alert} fires "
            f"above {compared[2]} (x{mirror.scale:g} = {threshold:g} {panel.unit})"
        )
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, f"dashboard-mirrors-{mirror.alert.lower()}"),
        observed=offenders,
        failure="\n".join(offenders),
    )


# A window in a panel's title, as dashboards write it: "Total API Calls (24h)".
_TITLE_WINDOW = re.compile(r"\((\d+[smhdwy])\)")
_RANGE = re.compile(r"\[(\d+[smhdwy])(?::[^\]]*)?\]")


def test_a_panel_titled_with_a_window_reads_over_that_window(obs_config: ObsConfig) -> None:
    """ "Total API Calls (24h)" promises the last 24 hours: each range its queries read over
    is that window. A [1m] there would show the last minute under a 24-hour title."""
    offenders = []
    for panel in panels(obs_config):
        titled = _TITLE_WINDOW.search(panel.title)
        if titled is None:
            continue
        window = parse_duration(titled.group(1))
        for expr in panel.exprs:  # a Grafana variable's or no range: the title may hold
            ranges = _RANGE.findall(expr)
            if any(parse_duration(r) != window for r in ranges):
                offenders.append(f"{panel.id}: reads over {ranges}: {expr}")
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "dashboard-title-window"),
        observed=offenders,
        failure="panels whose title names a window read over another:\n" + "\n".join(offenders),
    )


def test_every_panel_quantile_keeps_the_le_label(obs_config: ObsConfig) -> None:
    """histogram_quantile reads the `le` buckets: an aggregation before it without `le` in
    its `by` leaves the panel empty, whatever the data."""
    offenders = [
        f"{panel.id}: {call}"
        for panel in panels(obs_config)
        for expr in panel.exprs
        for call in promql.quantiles_without_le(promql_of(expr), panel.id)
    ]
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "dashboard-quantile-le"),
        observed=offenders,
        failure="histogram_quantile over buckets without `le`:\n" + "\n".join(offenders),
    )

"""The labels a config's scrape jobs attach, and the labels its alert rules select on that
nothing attaches: an alert that filters by such a label matches nothing in production."""

from __future__ import annotations

import re
from typing import Any

from obsgate.config import AlertRule, ObsConfig
from obsgate.promql import grouping_labels, selectors


def rule_id(rule: AlertRule) -> str:
    return f"{rule.name} ({rule.file.name}:{rule.line})"


def attached_labels(scrape_config: dict[str, Any]) -> set[str]:
    """Labels a scrape job puts on every series it scrapes: job, instance, and every
    explicit relabel target. `labelmap` is not counted: it copies whatever Kubernetes
    labels a pod happens to have, which no rule can rely on."""
    labels = {"job", "instance"}
    for rc in scrape_config.get("relabel_configs") or []:
        target = rc.get("target_label")
        if rc.get("action", "replace") in ("replace", "lowercase", "uppercase") and target:
            labels.add(target)
    return {label for label in labels if not label.startswith("__")}


def unattached_labels(config: ObsConfig) -> tuple[dict[str, set[str]], dict[str, str]]:
    """The labels each scrape job attaches, and every `alert: metric label` a rule filters or
    groups an app metric by that neither the app (its labelNames) nor any scrape job attaches
    (with why, for the failure)."""
    metrics = config.app_settings("metrics")["metrics"]
    by_job = {j["job_name"]: attached_labels(j) for j in config.prometheus()["scrape_configs"]}
    from_scrape = set().union(*by_job.values())
    offenders: dict[str, str] = {}
    for rule in config.alert_rules():
        for sel in selectors(rule.expr, rule_id(rule)):
            base = re.sub(r"_(bucket|count|sum)$", "", sel.metric or "")
            if sel.metric != "up" and base not in metrics:
                continue  # exporters' metrics (cAdvisor, kube-state-metrics) bring their own
            own = set(metrics.get(base, {}).get("labelNames", []))
            if metrics.get(base, {}).get("type") == "histogram":
                own.add("le")
            used = {name for name, _, _ in sel.matchers} | grouping_labels(rule.expr)
            for label in sorted(used - own - from_scrape - {"__name__"}):
                offenders[f"{rule.name}: {sel.metric} {label}"] = (
                    f"{rule_id(rule)}: {sel.metric} by/with label {label!r}, which neither "
                    f"the app's labelNames {sorted(own)} nor any scrape job attaches"
                )
    return by_job, offenders

"""What a config's scrape jobs do with the targets they find, beyond the labels they attach:
a relabel rule whose result Prometheus throws away, and an app scraped through a Service.

Prometheus drops every label that starts with `__` once relabelling ends, except those it
builds the scrape from (`__address__`, `__scheme__`, `__metrics_path__`, `__param_*`, the
scrape interval and timeout). A rule that writes any other `__` label (a `__meta_*` one,
say) and that no later rule of the job reads has no effect at all.

Kubernetes discovery's `service` role gives one target per Service port, at the Service's
DNS name: each scrape reaches whichever pod kube-proxy picks, so with more than one replica
a series holds the pods' samples in turn (their counters interleave, which rate() reads as
resets) and `up` says only that some pod answered. The role is for probing a Service through
an exporter (`__param_target`), not for scraping the pods behind it.
"""

from __future__ import annotations

from typing import Any

from obsgate.relabel.simulate import Simulation

KEPT_SPECIAL = frozenset(
    {"__address__", "__scheme__", "__metrics_path__", "__scrape_interval__", "__scrape_timeout__"}
)
WRITING_ACTIONS = frozenset({"replace", "hashmod", "lowercase", "uppercase"})


def _kept(label: str) -> bool:
    return not label.startswith("__") or label in KEPT_SPECIAL or label.startswith("__param_")


def dropped_writes(prometheus: dict[str, Any]) -> list[str]:
    """`<job> relabel_configs[i]: writes <label>` for every rule whose written label
    Prometheus drops after relabelling and no later rule of its job reads."""
    out = []
    for job in prometheus.get("scrape_configs") or []:
        rules = [r for r in job.get("relabel_configs") or [] if isinstance(r, dict)]
        for index, rule in enumerate(rules):
            target = str(rule.get("target_label") or "")
            action = str(rule.get("action") or "replace").lower()
            if action not in WRITING_ACTIONS or not target or "$" in target or _kept(target):
                continue
            if any(target in (later.get("source_labels") or []) for later in rules[index + 1 :]):
                continue
            out.append(f"{job.get('job_name')} relabel_configs[{index}]: writes {target}")
    return out


def service_address_scrapes(sim: Simulation) -> list[str]:
    """`<job>: <target> at <address>` for each kept target of a service under test that the
    `service` role found and that is scraped at the Service's own address (no exporter)."""
    return sorted(
        f"{s.job}: {s.target.name} at {s.labels.get('__address__')}"
        for s in sim.kept()
        if s.target.role == "service"
        and s.target.service is not None
        and not any(k.startswith("__param_") for k in s.labels)
        and s.labels.get("__address__") == s.target.labels.get("__address__")
    )

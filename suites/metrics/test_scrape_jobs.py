"""Universal checks of the config's scrape jobs: every relabel rule has an effect, and the
app's pods are each scraped as themselves, not through a Service (obsgate/relabel/jobs.py
says why each matters)."""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.relabel.jobs import dropped_writes, service_address_scrapes
from obsgate.relabel.simulate import simulate

pytestmark = [pytest.mark.metrics]


@pytest.mark.parametrize(
    ("rules", "dropped"),
    [
        ([{"source_labels": ["a"], "target_label": "__meta_x"}],
         ["j relabel_configs[0]: writes __meta_x"]),
        ([{"source_labels": ["a"], "target_label": "__tmp_port"},
          {"source_labels": ["__address__", "__tmp_port"], "target_label": "__address__"}], []),
        ([{"source_labels": ["a"], "target_label": "__address__"}], []),
        ([{"source_labels": ["a"], "target_label": "__param_target"}], []),
        ([{"source_labels": ["a"], "target_label": "__metrics_path__"}], []),
        ([{"source_labels": ["a"], "target_label": "namespace"}], []),
        ([{"source_labels": ["a"], "regex": "(.+)", "target_label": "__meta_$1"}], []),
        ([{"source_labels": ["a"], "action": "keep", "regex": "true"}], []),
        ([{"source_labels": ["a"], "action": "hashmod", "modulus": 4, "target_label": "__tmp_h"}],
         ["j relabel_configs[0]: writes __tmp_h"]),
    ],
)  # fmt: skip
def test_dropped_writes_knows_a_rule_without_effect(rules: list[dict], dropped: list[str]) -> None:
    assert dropped_writes({"scrape_configs": [{"job_name": "j", "relabel_configs": rules}]}) == (
        dropped
    )


@pytest.mark.requires("prometheus")
def test_every_relabel_rule_writes_a_label_prometheus_keeps_or_a_later_rule_reads(
    obs_config: ObsConfig,
) -> None:
    """A rule that writes a `__meta_*` (or other dropped) label nothing reads does nothing:
    whatever it was written for (a port annotation, a path) never takes effect."""
    dropped = dropped_writes(obs_config.prometheus())
    judge(
        holds=not dropped,
        finding=universal_finding(obs_config, "relabel-writes-dropped-label"),
        observed=dropped,
        failure=f"{obs_config.prometheus_file()}: relabel rules whose label Prometheus drops "
        "after relabelling, read by no later rule:\n" + "\n".join(dropped),
    )


@pytest.mark.needs("obs-relabel")
@pytest.mark.requires("prometheus", "scenarios/scrape")
def test_each_pod_of_the_app_is_scraped_as_itself(obs_config: ObsConfig) -> None:
    """A job that scrapes the app at its Service's address reads one pod per scrape, chosen
    by kube-proxy: with replicas, one series mixes the pods' counters and `up` hides a dead
    pod. Scrape the pods (the `pod` or `endpoints` role)."""
    through_service = service_address_scrapes(simulate(obs_config))
    judge(
        holds=not through_service,
        finding=universal_finding(obs_config, "scrape-through-service-address"),
        observed=through_service,
        failure="scrape jobs that reach the app through a Service address, one pod a scrape:\n"
        + "\n".join(through_service),
    )

"""The config's scrape jobs run on representative discovered targets: the labels each target
gets after relabel_configs (or that it is dropped), and the app's series after the target's
labels join them and metric_relabel_configs run. The relabelling is Prometheus' own
(obs-relabel, sim/main.go); this module feeds it and reads its answer.

The targets are intent, in `scenarios/scrape/targets.yaml`: the label sets Kubernetes
discovery gives a deployment's objects, which the config alone cannot say. A job gets the
targets of the roles (and namespaces) its `kubernetes_sd_configs` discover; a job's
`static_configs` are targets of their own; other discovery is not simulated, and said so.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError, GateError
from obsgate.relabel.build import relabel_binary

TARGETS = "scenarios/scrape/targets.yaml"
ROLES = ("pod", "service", "endpoints", "endpointslice", "node", "ingress")
Labels = dict[str, str]


@dataclass(frozen=True, kw_only=True)
class DiscoveredTarget:
    """One target as service discovery hands it to a job: its `__meta_*` labels and address."""

    name: str
    role: str
    labels: Labels
    service: str | None = None  # the service under test it stands for: it serves the app's series


@dataclass(frozen=True, kw_only=True)
class Scrape:
    """One job's view of one target: kept or dropped, the labels it gets, and its series."""

    job: str
    target: DiscoveredTarget
    kept: bool
    error: str = ""
    labels: Labels = field(default_factory=dict)  # after relabelling, `__` labels included
    target_labels: Labels = field(default_factory=dict)  # what its series get
    up: Labels = field(default_factory=dict)
    series: tuple[Labels | None, ...] = ()  # one per app series given; None: dropped


@dataclass(frozen=True, kw_only=True)
class Simulation:
    scrapes: tuple[Scrape, ...]
    jobs: tuple[str, ...]
    not_simulated: tuple[str, ...] = ()  # "job: why" for each job no target reached

    def kept(self, service: str | None = None) -> list[Scrape]:
        return [
            s for s in self.scrapes if s.kept and (service is None or s.target.service == service)
        ]

    def series(self, metric: str) -> list[Labels]:
        """Every series named `metric` as stored: `up` of every kept target, or the app's."""
        if metric == "up":
            return [s.up for s in self.kept()]
        return [x for s in self.kept() for x in s.series if x and x.get("__name__") == metric]

    def attached_by_job(self) -> dict[str, set[str]]:
        """The labels each job's kept targets put on their series."""
        out: dict[str, set[str]] = {job: set() for job in self.jobs}
        for s in self.kept():
            out[s.job] |= set(s.target_labels)
        return out


def load_targets(config: ObsConfig) -> list[DiscoveredTarget]:
    path = config.path(TARGETS)
    doc = load_yaml(path)
    items = doc.get("targets") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: give `targets:`, a list of discovered targets")
    out = []
    for i, raw in enumerate(items):
        where = f"{path}: targets[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("labels"), dict):
            raise ConfigError(f"{where}: give name, role and labels (a mapping)")
        role = raw.get("role")
        if role not in (*ROLES, "static"):
            raise ConfigError(f"{where}: role {role!r} is not one of {list(ROLES)}")
        labels = {str(k): str(v) for k, v in raw["labels"].items()}
        if "__address__" not in labels:
            raise ConfigError(f"{where}: labels need __address__, as discovery always sets it")
        out.append(
            DiscoveredTarget(
                name=str(raw.get("name") or f"targets[{i}]"),
                role=role,
                labels=labels,
                service=raw.get("service"),
            )
        )
    return out


def _discovers(job: dict[str, Any], target: DiscoveredTarget) -> bool:
    """Whether the job's Kubernetes discovery hands it this target (role and namespace)."""
    for sd in job.get("kubernetes_sd_configs") or []:
        if sd.get("role") != target.role:
            continue
        names = (sd.get("namespaces") or {}).get("names") or []
        namespace = target.labels.get("__meta_kubernetes_namespace")
        if not names or target.role == "node" or namespace in names:
            return True
    return False


def _static_targets(job: dict[str, Any]) -> list[DiscoveredTarget]:
    out = []
    for group in job.get("static_configs") or []:
        for address in group.get("targets") or []:
            labels = {str(k): str(v) for k, v in (group.get("labels") or {}).items()}
            out.append(
                DiscoveredTarget(
                    name=f"static {address}",
                    role="static",
                    labels={"__address__": str(address), **labels},
                )
            )
    return out


def app_series(config: ObsConfig) -> list[Labels]:
    """One series of every metric the app's instrumentation defines, each of its labelNames
    set; a histogram as its _bucket (with le), _sum and _count series."""
    out = []
    for name, spec in sorted(config.app_settings("metrics")["metrics"].items()):
        own = {label: "example" for label in spec.get("labelNames") or []}
        if spec.get("type") == "histogram":
            out.append({"__name__": f"{name}_bucket", **own, "le": "+Inf"})
            out += [{"__name__": f"{name}_{part}", **own} for part in ("sum", "count")]
        else:
            out.append({"__name__": name, **own})
    return out


def run_relabel(config_file: Path, scrapes: list[dict[str, Any]]) -> dict[str, Any]:
    """obs-relabel's answer for `scrapes` ({job, target, labels, series}) under the config."""
    binary = relabel_binary()
    request = json.dumps({"config": str(config_file), "scrapes": scrapes})
    try:
        out = subprocess.run(
            [str(binary)], input=request, capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        raise GateError(f"{binary} did not answer in 60 s") from None
    if out.returncode == 2:
        raise ConfigError(out.stderr.strip())
    if out.returncode != 0:
        raise GateError(f"{binary} failed (exit {out.returncode}): {out.stderr.strip()[:500]}")
    return json.loads(out.stdout)


def simulate(config: ObsConfig) -> Simulation:
    """The config's scrape jobs on its discovered targets."""
    config_file = config.prometheus_file()
    targets_file = config.path(TARGETS)
    jobs = config.prometheus().get("scrape_configs") or []
    targets = load_targets(config)
    series = app_series(config)
    requests: list[dict[str, Any]] = []
    reached: list[tuple[str, DiscoveredTarget]] = []
    not_simulated = []
    for job in jobs:
        name = str(job.get("job_name"))
        mine = [t for t in targets if _discovers(job, t)] + _static_targets(job)
        if not mine:
            kinds = sorted(set(job) & {k for k in job if k.endswith("_sd_configs")})
            not_simulated.append(
                f"{name}: no target in {targets_file.name} of the roles it discovers"
                if job.get("kubernetes_sd_configs")
                else f"{name}: discovery {kinds or 'none'} is not simulated"
            )
        for target in mine:
            reached.append((name, target))
            requests.append(
                {
                    "job": name,
                    "target": target.name,
                    "labels": target.labels,
                    "series": series if target.service else [],
                }
            )
    answer = run_relabel(config_file, requests)
    scrapes = tuple(
        Scrape(
            job=job,
            target=target,
            kept=raw["kept"],
            error=raw.get("error") or "",
            labels=raw.get("labels") or {},
            target_labels=raw.get("target_labels") or {},
            up=raw.get("up") or {},
            series=tuple(raw.get("series") or ()),
        )
        for (job, target), raw in zip(reached, answer.get("scrapes") or [], strict=True)
    )
    return Simulation(
        scrapes=scrapes,
        jobs=tuple(str(j.get("job_name")) for j in jobs),
        not_simulated=tuple(not_simulated),
    )


def stored_as(config: ObsConfig, scrape: Scrape, series: list[Labels]) -> list[Labels | None]:
    """`series` (an exposition's, e.g. the running app's) as `scrape`'s job stores them from
    its target: the target's labels joined, metric_relabel_configs run; None: dropped."""
    answer = run_relabel(
        config.prometheus_file(),
        [{"job": scrape.job, "target": scrape.target.name, "labels": scrape.target.labels,
          "series": series}],
    )  # fmt: skip
    return list(answer["scrapes"][0].get("series") or [])

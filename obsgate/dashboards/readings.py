"""What each panel shows, asked of promtool: intent (`scenarios/dashboards/readings.yaml`) gives
a small world of series per dashboard, in promtool's notation, and what each panel's targets
read from it at one time. promtool evaluates every target query on that world; a panel that
reads another value, another label set or nothing is wrong for a reason a reviewer can see
(a matcher dropped, a `by` label lost, a metric renamed, a window too short to hold two
samples).

    readings:
      - dashboard: <uid>
        interval: 1m                  # one sample per series per interval
        at: 10m                       # when every panel is read
        series:                       # promtool input_series
          - {series: 'metric{l="v"}', values: '0+60x15'}
        panels:
          <panel title>:              # one entry per target of the panel, in order
            - 150                     # a single sample without labels
            - [{labels: {service: api-gateway}, value: 100}, ...]

promtool prints what a query returned only when a test fails, so each target is tested
against "nothing" and read from the failure, as the SLO suite's exact SLI check does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError
from obsgate.tools import ToolResult
from obsgate.tools.promtool_failures import parse_failures
from obsgate.tools.promtool_probe import no_rules, probe_document

READINGS = "scenarios/dashboards/readings.yaml"

Sample = tuple[tuple[tuple[str, str], ...], float]  # (sorted labels, value)


@dataclass(frozen=True)
class World:
    """One dashboard's series and what each of its panels' targets read at `at`."""

    dashboard: str
    interval: str
    at: str
    series: tuple[dict[str, str], ...]
    panels: dict[str, tuple[tuple[Sample, ...], ...]]  # title -> per target, its samples
    file: Path


def _samples(raw: Any, where: str) -> tuple[Sample, ...]:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return (((), float(raw)),)
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: give a number or a list of {{labels, value}}")
    out = []
    for item in raw:
        if not isinstance(item, dict) or "value" not in item:
            raise ConfigError(f"{where}: each sample needs `value` (and `labels`)")
        labels = tuple(sorted((str(k), str(v)) for k, v in (item.get("labels") or {}).items()))
        out.append((labels, float(item["value"])))
    return tuple(sorted(out))


def load_worlds(config: ObsConfig) -> list[World]:
    """The readings intent of the config; [] without one."""
    path = config.locate(READINGS)
    if not path.exists():
        return []
    worlds = []
    for i, w in enumerate((load_yaml(path) or {}).get("readings") or []):
        where = f"{path}: readings[{i}]"
        try:
            series = tuple({"series": str(s["series"]), "values": str(s["values"])}
                           for s in w["series"])  # fmt: skip
            panels = {
                str(title): tuple(
                    _samples(t, f"{where}: {title}[{k}]") for k, t in enumerate(targets)
                )
                for title, targets in w["panels"].items()
            }
            worlds.append(World(str(w["dashboard"]), str(w.get("interval", "1m")),
                                str(w["at"]), series, panels, path))  # fmt: skip
        except (KeyError, TypeError, AttributeError):
            raise ConfigError(
                f"{where}: give dashboard, at, series (series, values) and panels "
                "(title: a reading per target)"
            ) from None
    return worlds


def write_test(world: World, exprs: list[str], workdir: Path) -> Path:
    """A promtool test file: the world's series, each query read once at `at`."""
    reads = [(expr, world.at) for expr in dict.fromkeys(exprs)]
    doc = probe_document([no_rules(workdir)], world.interval, list(world.series), reads)
    path = workdir / f"readings-{world.dashboard}.test.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=400))
    return path


def read(result: ToolResult) -> dict[str, tuple[Sample, ...]]:
    """What each query returned, by query; a query that returned nothing is absent."""
    return {
        f.expr: tuple(sorted((tuple(sorted(labels.items())), value) for labels, value in f.got))
        for f in parse_failures(result.output).exprs
    }


def differences(want: tuple[Sample, ...], got: tuple[Sample, ...]) -> list[str]:
    """How a target's reading differs from the intent's, label set by label set."""
    wanted, seen = dict(want), dict(got)
    out = []
    for labels in sorted(set(wanted) | set(seen)):
        shown = "{" + ", ".join(f"{k}={v}" for k, v in labels) + "}"
        if labels not in seen:
            out.append(f"{shown}: intended {wanted[labels]:g}, not in the reading")
        elif labels not in wanted:
            out.append(f"{shown}: reads {seen[labels]:g}, which the intent does not have")
        elif not math.isclose(wanted[labels], seen[labels], rel_tol=1e-9, abs_tol=1e-12):
            out.append(f"{shown}: reads {seen[labels]:g}, intended {wanted[labels]:g}")
    return out

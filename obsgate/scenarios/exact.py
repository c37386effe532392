"""The exact layer: each scenario becomes a `promtool test rules` file.

promtool runs the real rule engine over simulated time, so durations, thresholds and rendered
annotations are checked exactly, in seconds, without waiting for `for:` to elapse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml

from obsgate.scenarios.model import Scenario, canonical_alert
from obsgate.tools.promtool import test_rules as promtool_test_rules

T = TypeVar("T")


@dataclass(frozen=True)
class ExactResult:
    """What promtool said about one scenario, with the test file kept for reproducing it."""

    scenario: Scenario
    ok: bool
    tool_output: str
    test_file: Path


def _interval_text(seconds: float) -> str:
    """promtool wants a duration string; whole seconds keep it readable in the test file."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{int(seconds * 1000)}ms"


def promtool_test_file(
    scenario: Scenario, rule_files: list[Path], evaluation_interval: str = "15s"
) -> dict[str, Any]:
    """The promtool test document for `scenario`: one test, one alert check per checkpoint."""
    alert_tests = [
        {
            "eval_time": cp.at_text,
            "alertname": scenario.alert,
            "exp_alerts": [
                {"exp_labels": dict(a.labels), "exp_annotations": dict(a.annotations)}
                for a in cp.firing
            ],
        }
        for cp in scenario.expect
    ]
    return {
        "rule_files": [str(Path(f).resolve()) for f in rule_files],
        "evaluation_interval": evaluation_interval,
        "tests": [
            {
                "name": scenario.id,
                "interval": _interval_text(scenario.interval_seconds),
                "input_series": [
                    {"series": s.selector, "values": s.values_text} for s in scenario.series
                ],
                "alert_rule_test": alert_tests,
            }
        ],
    }


def rule_groups(rule_files: list[Path]) -> list[dict[str, Any]]:
    """Every rule group of `rule_files`, as written, read once for all of a run's scenarios."""
    groups: list[dict[str, Any]] = []
    for path in rule_files:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        groups.extend(doc.get("groups") or [])
    return groups


def rules_for(alert: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The rules a scenario of `alert` needs, in their groups as written (interval, labels,
    limit and every other group setting kept): that alert, every recording rule (an alert may
    read one), and any alert that reads `ALERTS` or `ALERTS_FOR_STATE` (an alert of alerts).
    Other alerts are evaluated by their own scenarios: leaving them out makes each promtool
    run cost the same whatever the config's size, and keeps another rule's evaluation error
    out of this scenario's verdict (the live layer judges only the scenario's alert too)."""
    kept_groups = []
    for group in groups:
        kept = [
            rule
            for rule in group.get("rules") or []
            if "record" in rule or rule.get("alert") == alert or "ALERTS" in str(rule.get("expr"))
        ]
        if kept:
            kept_groups.append({**group, "rules": kept})
    return {"groups": kept_groups}


def run_exact(
    scenario: Scenario,
    rule_files: list[Path],
    workdir: Path,
    groups: list[dict[str, Any]] | None = None,
) -> ExactResult:
    """Write the scenario's rules and test file into `workdir` and let promtool judge it
    (`groups`: the rule files already read, by run_all)."""
    workdir.mkdir(parents=True, exist_ok=True)
    test_file = workdir / f"{scenario.id}.test.yaml"
    own_rules = workdir / f"{scenario.id}.rules.yaml"
    needed = rules_for(scenario.alert, rule_groups(rule_files) if groups is None else groups)
    own_rules.write_text(yaml.safe_dump(needed, sort_keys=False, allow_unicode=True))
    doc = promtool_test_file(scenario, [own_rules])
    test_file.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    # Niced: the exact layer runs beside the live layer, whose servers keep real time.
    result = promtool_test_rules(test_file, nice=10)
    return ExactResult(scenario, result.ok, result.output, test_file)


def run_concurrently(jobs: dict[str, Callable[[], T]], max_workers: int = 4) -> dict[str, T]:
    """Run promtool jobs at once; each is its own process, so threads suffice.
    Interrupted (Ctrl-C, SIGTERM), nothing more is started: queued runs are cancelled and
    only those already running finish, each within a second or so."""
    pool = ThreadPoolExecutor(max_workers=max_workers)
    try:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        return {key: f.result() for key, f in futures.items()}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def run_all(
    scenarios: list[Scenario], rule_files: list[Path], workdir: Path, max_workers: int = 4
) -> dict[str, ExactResult]:
    """Run every scenario's promtool test at once (run_concurrently)."""
    groups = rule_groups(rule_files)
    jobs = {s.id: partial(run_exact, s, rule_files, workdir, groups) for s in scenarios}
    return run_concurrently(jobs, max_workers)


_LABEL_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
_RULE_ERROR = re.compile(r"^\s*rule: (?P<rule>\S+), time: [^,]*, err: (?P<err>.*)$")


def _pairs(text: str) -> dict[str, str]:
    """promtool's `{a="x", b="y"}` (Go-quoted values) as a dict."""
    return {k: json.loads(f'"{v}"') for k, v in _LABEL_PAIR.findall(text)}


def promtool_got(tool_output: str) -> frozenset[str]:
    """What promtool reports instead of the intent: each alert of its `got:[...]` blocks
    (labels and annotations, `canonical_alert`) and each rule error as `error: RULE: TEXT`."""
    got: set[str] = set()
    in_got = False
    labels: dict[str, str] | None = None
    for line in tool_output.splitlines():
        text = line.strip()
        if error := _RULE_ERROR.match(line):
            got.add(f"error: {error['rule']}: {error['err'].strip()}")
        elif text.startswith("got:["):
            in_got = True
        elif text.startswith(("exp:[", "alertname:", "name:")):
            in_got = False
        elif in_got and text.startswith("Labels:{"):
            labels = _pairs(text)
        elif in_got and text.startswith("Annotations:{") and labels is not None:
            got.add(canonical_alert(labels, _pairs(text)))
            labels = None
    return frozenset(got)

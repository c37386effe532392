"""An N-fold copy of a config, to measure how the alerts suite scales with its size.

    python -m tools.nfold make N DEST [--config DIR]
    python -m tools.nfold compare JUNIT

`make` copies DIR (default: the seed's config) to DEST and adds N-1 copies of every alert
rule (each group again as `<group>-copy<k>`, each alert renamed `<Alert>Copy<k>`) and of
every alert scenario (renamed the same way, id `<id>-copy<k>`). Each copy reads metrics of
its own (`copy<k>_<metric>`, in its rules and its scenarios' series; `up` stays `up`), as the
alerts of a large real config read different series; with the same thresholds each copy must
give exactly its original's verdict. `--shared-series` keeps the original metric names: then
every series feeds N alerts, and one firing scenario fires N alerts, so the servers' work
grows with N squared. Findings follow: a pinned alert or rule error is its copy's, and a
universal finding's evidence item about an alert (`<Alert>: ...`) holds for each copy too,
unless it names a metric the copies renamed.

`compare` reads the JUnit XML of `pytest -k alerts --obs-config DEST` and names every copied
scenario test whose outcome differs from its original's: with the exact layer's verdicts
fixed by promtool, a difference is the live layer judging differently under load, a
spurious result. Exit 1 if any differs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from obsgate.promql import selectors
from tools.flake_check import outcomes

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "mindweave"
_COPY = re.compile(r"^(?P<test>.*\[)(?P<id>.+)-copy\d+(?P<rest>\])$")


def _renamed(name: str, k: int) -> str:
    return f"{name}Copy{k}"


SHARED = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})  # series Prometheus itself writes


class MetricRenamer:
    """Copy k's names for the metrics of the alert rules: `copy<k>_<metric>`, in an
    expression, a series selector or a finding's text. Word boundaries that also exclude
    `:` and quotes: a label value or a longer metric name is never touched. Recorded series
    keep their names: recording rules are not copied, so a copy reads the original's."""

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        exprs = [str(rule["expr"]) for rule in rules]
        names = {sel.metric for expr in exprs for sel in selectors(expr) if sel.metric}
        recorded = {str(rule["record"]) for rule in rules if "record" in rule}
        self.names = sorted(names - SHARED - recorded, key=len, reverse=True)
        self.pattern = re.compile(
            r"(?<![\w:\"])(" + "|".join(map(re.escape, self.names)) + r")(?![\w:\"])"
        )

    def __call__(self, text: str, k: int) -> str:
        if not self.names:
            return text
        return self.pattern.sub(lambda m: f"copy{k}_{m[1]}", text)


def _rule_docs(dest: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, yaml.safe_load(path.read_text()))
        for path in sorted((dest / "prometheus" / "rules").rglob("*.y*ml"))
    ]


def make(n: int, dest: Path, config: Path, *, shared_series: bool = False) -> tuple[int, int]:
    """Write the N-fold copy; return how many alert rules and alert scenarios it has."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(config, dest)
    docs = _rule_docs(dest)
    rules = [r for _, d in docs for g in d["groups"] for r in g["rules"]]
    renamer = MetricRenamer([] if shared_series else rules)
    alerts = 0
    for path, doc in docs:
        groups = doc["groups"]
        copies = []
        for k in range(2, n + 1):
            for group in groups:
                rules = [
                    {
                        **rule,
                        "alert": _renamed(rule["alert"], k),
                        "expr": renamer(str(rule["expr"]), k),
                    }
                    for rule in group["rules"]
                    if "alert" in rule
                ]
                if rules:
                    copies.append({**group, "name": f"{group['name']}-copy{k}", "rules": rules})
        doc["groups"] = groups + copies
        alerts += sum(1 for g in doc["groups"] for r in g["rules"] if "alert" in r)
        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    scenarios = 0
    for path in sorted((dest / "scenarios" / "alerts").glob("*.yaml")):
        doc: dict[str, Any] = yaml.safe_load(path.read_text())
        originals = doc["scenarios"]
        doc["scenarios"] = originals + [
            _pinned_for(
                {
                    **sc,
                    "id": f"{sc['id']}-copy{k}",
                    "alert": _renamed(sc["alert"], k),
                    "series": [
                        {**series, "series": renamer(str(series["series"]), k)}
                        for series in sc.get("series") or []
                    ],
                },
                sc["alert"],
            )
            for k in range(2, n + 1)
            for sc in originals
        ]
        scenarios += len(doc["scenarios"])
        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    _copy_findings(dest / "findings.yaml", n, renamer)
    return alerts, scenarios


def _pinned_for(scenario: dict[str, Any], original: str) -> dict[str, Any]:
    """The scenario with its exact pins naming its own alert (the original's, or its copy's)
    in each pinned alert and rule error."""
    shows = scenario.get("finding_shows") or {}
    exact = shows.get("exact")
    if not isinstance(exact, dict):
        return scenario

    own = scenario["alert"]

    def pins(got: list[Any]) -> list[Any]:  # `got: [{labels: {alertname: ...}, ...}]`
        return [
            {**item, "labels": {**item["labels"], "alertname": own}}
            if isinstance(item, dict) and (item.get("labels") or {}).get("alertname") == original
            else item
            for item in got
        ]

    def errors(found: list[Any]) -> list[Any]:  # `errors: ["Rule: text"]`
        prefix = f"{original}: "
        return [
            f"{own}: {item.removeprefix(prefix)}"
            if isinstance(item, str) and item.startswith(prefix)
            else item
            for item in found
        ]

    def pin(block: Any) -> Any:
        if not isinstance(block, dict):
            return block
        out = dict(block)
        if "got" in out:
            out["got"] = pins(out["got"])
        if "errors" in out:
            out["errors"] = errors(out["errors"])
        return out

    if "got" in exact or "errors" in exact:  # one pin for both version lines
        new_exact = pin(exact)
    else:  # a pin per line: {current: {why, got}, debian: {why, got}}
        new_exact = {line: pin(block) for line, block in exact.items()}
    return {**scenario, "finding_shows": {**shows, "exact": new_exact}}


def _copy_findings(path: Path, n: int, renamer: MetricRenamer) -> None:
    """Each universal evidence item about an alert (`<Alert>: ...`) again for each copy, and
    each scenario finding's category under its copies' ids."""
    if not path.is_file():
        return
    doc = yaml.safe_load(path.read_text()) or {}
    for finding in (doc.get("universal") or {}).values():
        evidence = finding.get("evidence")
        if not isinstance(evidence, list):
            continue
        copies = []
        for item in evidence:
            alert = re.match(r"^([A-Z][A-Za-z0-9]*): ", str(item))
            if alert:
                rest = str(item)[len(alert[1]) :]
                # An item naming a metric the copies renamed is not theirs: the check knows
                # which scrape job exports the original, and nothing exports the copy's.
                if renamer(rest, 2) == rest:
                    copies += [f"{_renamed(alert[1], k)}{rest}" for k in range(2, n + 1)]
        finding["evidence"] = evidence + copies
    scenario_findings = doc.get("findings") or {}
    for sid, tags in list(scenario_findings.items()):
        for k in range(2, n + 1):
            scenario_findings.setdefault(f"{sid}-copy{k}", tags)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))


def compare(junit: Path) -> list[str]:
    """Each copied scenario test whose outcome differs from its original's."""
    seen = outcomes(junit)
    differ = []
    for test, outcome in sorted(seen.items()):
        match = _COPY.match(test)
        if not match:
            continue
        original = f"{match['test']}{match['id']}{match['rest']}"
        if seen.get(original) != outcome:
            differ.append(f"{test}: {outcome}, its original {seen.get(original)}")
    return differ


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.nfold", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("make")
    made.add_argument("n", type=int)
    made.add_argument("dest", type=Path)
    made.add_argument("--config", type=Path, default=SEED)
    made.add_argument(
        "--shared-series",
        action="store_true",
        help="the copies read the original metrics: every series feeds N alerts",
    )
    compared = sub.add_parser("compare")
    compared.add_argument("junit", type=Path)
    args = parser.parse_args(argv)
    if args.command == "make":
        if args.n < 1:
            parser.error("N must be at least 1")
        alerts, scenarios = make(args.n, args.dest, args.config, shared_series=args.shared_series)
        print(f"nfold: {args.dest}: {alerts} alert rules, {scenarios} alert scenarios")
        return 0
    differ = compare(args.junit)
    for line in differ:
        print(f"nfold: DIFFERS {line}")
    print(f"nfold: {len(differ)} copied scenario tests differ from their originals")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

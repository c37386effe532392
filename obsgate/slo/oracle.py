"""Holding the gate's generated rules against the real Sloth's, rule by rule.

Rules are matched by group, rule name and the label that tells same-named rules apart
(`sloth_window` for SLI ratios, `sloth_severity` for alerts). Names are mapped explicitly
(NAME_MAP); what only Sloth generates is listed with the reason (SLOTH_ONLY). Expressions
are compared as PromQL (parsed and printed by a real parser), their structure exactly and
their numbers to 1e-9 relative: Sloth writes budgets as (100 - objective) / 100, float
noise and all (0.0009999999999999432 for 99.9).
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from obsgate.config import load_yaml_documents
from obsgate.slo.spec import SLO
from obsgate.tools import sloth

# Our rule name -> Sloth's. Identity today: the generator follows Sloth's conventions
# (pkg/common/conventions/slo.go in v0.16.0) so that dashboards built on Sloth keep working.
NAME_MAP: dict[str, str] = {}
SLOTH_ONLY = {"sloth_slo_info": "metadata (Sloth's version, mode and spec), no math"}
_NUMBER = re.compile(r"(?<![\w:.])\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_THRESHOLD = re.compile(r"(slo:sli_error:ratio_rate\w+)\{[^}]*\} > \(([\d.e+-]+) \* ([\d.e+-]+)\)")


def single_slo_spec(slo: SLO, workdir: Path) -> Path:
    """The SLO's own spec document with only this SLO, so Sloth judges each SLO apart
    (it refuses a whole file for one bad SLO)."""
    for doc in load_yaml_documents(slo.file):
        spec = doc.get("spec", doc) if isinstance(doc, dict) else {}
        if spec.get("service") != slo.service:
            continue
        mine = [s for s in spec.get("slos") or [] if str(s.get("name")) == slo.name]
        if mine:
            spec["slos"] = mine
            path = workdir / f"{slo.id}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
            return path
    raise AssertionError(f"{slo.where}: not found again in its file")


def sloth_groups(slo: SLO) -> tuple[list[dict[str, Any]], sloth.SlothRefused | None]:
    """Sloth's rule groups for the SLO alone, or no groups and Sloth's refusal; a missing
    or hung sloth is the GateError itself, not a refusal."""
    with tempfile.TemporaryDirectory(prefix="slo-spec-") as tmp:
        try:
            return sloth.generate(single_slo_spec(slo, Path(tmp))), None
        except sloth.SlothRefused as exc:
            return [], exc


def _key(rule: dict[str, Any]) -> tuple[str, str]:
    labels = rule.get("labels") or {}
    name = rule.get("record") or rule.get("alert") or ""
    return NAME_MAP.get(name, name), labels.get("sloth_window") or labels.get("sloth_severity", "")


def _canonical(expr: str) -> tuple[str, list[float]]:
    text = str(promql_parser.parse(expr))
    return _NUMBER.sub("N", text), [float(n) for n in _NUMBER.findall(text)]


def compare_expr(ours: str, theirs: str) -> str | None:
    """None if the two are the same PromQL up to float noise, else what differs."""
    (shape_a, nums_a), (shape_b, nums_b) = _canonical(ours), _canonical(theirs)
    if shape_a != shape_b:
        return f"expression differs:\n  ours:  {shape_a}\n  sloth: {shape_b}"
    for a, b in zip(nums_a, nums_b, strict=True):
        if not math.isclose(a, b, rel_tol=1e-9):
            return f"number {a!r} where Sloth has {b!r}:\n  ours:  {ours}\n  sloth: {theirs}"
    return None


def compare(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[str]:
    """Every difference between two rule group lists, one line each (empty: they agree)."""
    problems = []
    ours_by = {g["name"]: {_key(r): r for r in g["rules"]} for g in ours}
    theirs_by = {g["name"]: {_key(r): r for r in g["rules"]} for g in theirs}
    for group in sorted(set(ours_by) | set(theirs_by)):
        a, b = ours_by.get(group, {}), theirs_by.get(group, {})
        for key in sorted(set(a) | set(b)):
            where = f"{group}: {key[0]} {key[1]}".rstrip()
            if key not in a:
                if key[0] not in SLOTH_ONLY:
                    problems.append(f"{where}: only Sloth generates it")
                continue
            if key not in b:
                problems.append(f"{where}: Sloth does not generate it")
                continue
            for part in ("labels", "annotations"):
                if (a[key].get(part) or {}) != (b[key].get(part) or {}):
                    problems.append(f"{where}: {part} {a[key].get(part)} != {b[key].get(part)}")
            diff = compare_expr(str(a[key]["expr"]), str(b[key]["expr"]))
            if diff:
                problems.append(f"{where}: {diff}")
    return problems


def alert_thresholds(expr: str) -> set[tuple[str, float, float]]:
    """(window, burn factor, budget) of each `ratio > (factor * budget)` in an alert expr."""
    text = str(promql_parser.parse(expr))
    return {
        (m.group(1).removeprefix("slo:sli_error:ratio_rate"), float(m.group(2)), float(m.group(3)))
        for m in _THRESHOLD.finditer(text)
    }

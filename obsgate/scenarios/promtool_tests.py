"""Users' own promtool test files (the manifest's `promtool_tests:`), run against the config's
own rules.

A team that keeps mixin-style unit tests beside its rules should not rewrite them as gate
scenarios: each test case (one entry of `tests:`) runs as its own `promtool test rules` file
in the exact layer, its `rule_files` resolved to the config's rule files (the materialized
copy where the rules are PrometheusRule CRDs), and promtool's verdict is shown with the
user's file names. A case that is plain enough (alert checks over plain series) is also
replayed live through the scenario model.
"""

from __future__ import annotations

import fnmatch
import glob as globlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from obsgate.config import ObsConfig, parse_duration
from obsgate.config.files import Located, located_documents
from obsgate.errors import ConfigError
from obsgate.scenarios.exact import run_concurrently
from obsgate.scenarios.model import Scenario, expand_values, scenario_from_mapping
from obsgate.tools.promtool import test_rules as promtool_test_rules

PART = "promtool_tests"
_MAGIC = re.compile(r"[*?[]")
LABEL_WIDTH = 40


@dataclass(frozen=True)
class PromtoolCase:
    """One entry of a user's `tests:` list, as a promtool test document of its own."""

    file: Path  # the user's test file
    rel: str  # that file relative to the config dir, for ids
    index: int  # its place in `tests:`
    line: int  # its line in the user's file
    label: str  # its name, else its first alertname or expr
    rule_files: tuple[Path, ...]  # the config's rule files it runs against
    document: dict[str, Any] = field(hash=False, compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.rel}#{self.index}-{self.label}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line} (tests[{self.index}])"

    @property
    def test(self) -> dict[str, Any]:
        return self.document["tests"][0]


@dataclass(frozen=True)
class CaseResult:
    """promtool's verdict on one case, its output naming the user's files."""

    case: PromtoolCase
    ok: bool
    output: str
    test_file: Path  # the file promtool ran, kept for reproducing it


def load_cases(config: ObsConfig) -> list[PromtoolCase]:
    """Every case of every promtool test file the config names; [] without `promtool_tests`."""
    files = config.files(PART)
    if not files:
        return []
    sources = config.rule_sources()
    if not sources:
        config.rule_files()  # names what is missing
    plain: dict[Path, list[Path]] = {}
    for s in sources:
        plain.setdefault(s.origin.resolve(), []).append(s.path)
    return [c for f in files for c in _cases_of(config, f, plain)]


def _cases_of(config: ObsConfig, path: Path, plain: dict[Path, list[Path]]) -> list[PromtoolCase]:
    docs = located_documents(path)
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        at = docs[1] if len(docs) > 1 else docs[0] if docs else None
        what = "a promtool test file is one mapping: rule_files, evaluation_interval, tests"
        if at is None:
            raise ConfigError(f"{path}:1: empty file ({what})")
        raise at.error("not a promtool test file", what)
    doc = docs[0]
    rule_entries = doc.child("rule_files")
    if rule_entries is None or not isinstance(rule_entries.data, list) or not rule_entries.data:
        at = rule_entries or doc
        raise at.error("no `rule_files:` list", "name the rule files the tests load")
    rule_files = _resolve_rule_files(config, path, rule_entries, plain)
    tests = doc.child("tests")
    if tests is None or not isinstance(tests.data, list):
        raise (tests or doc).error("no `tests:` list", "a promtool test file has `tests: [...]`")
    rel = _relative(path, config.root)
    common = {k: v for k, v in doc.data.items() if k not in ("rule_files", "tests")}
    out = []
    for index, test in enumerate(tests.items()):
        if not isinstance(test.data, dict):
            raise test.error(f"tests[{index}] is not a mapping", "each test is `- interval: ...`")
        document = {
            "rule_files": [str(p) for p in rule_files],
            **common,
            "tests": [test.data],
        }
        out.append(
            PromtoolCase(path, rel, index, test.line, _label(test.data), rule_files, document)
        )
    return out


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _label(test: dict[str, Any]) -> str:
    """What a case is about, short enough for a test id."""
    if test.get("name"):
        text = str(test["name"])
    else:
        alerts = [a.get("alertname") for a in _entries(test, "alert_rule_test")]
        exprs = [e.get("expr") for e in _entries(test, "promql_expr_test")]
        text = str(next((x for x in [*alerts, *exprs] if x), "no-checks"))
    text = " ".join(text.split())
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 3] + "..."


def _entries(test: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The mappings of a list in a test case (promtool itself reports any malformed one)."""
    value = test.get(key)
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _resolve_rule_files(
    config: ObsConfig, test_file: Path, entries: Located, plain: dict[Path, list[Path]]
) -> tuple[Path, ...]:
    """The config's plain rule files for each `rule_files` entry: the file it names, resolved
    from the test file's folder as promtool does, when that is one of the config's rule
    files; else the config's rule file of that name (a mixin's tests name the generated
    file, the config deploys it elsewhere, often wrapped in a PrometheusRule)."""
    out: list[Path] = []
    for entry in entries.items():
        name = entry.data
        if not isinstance(name, str) or not name.strip():
            raise entry.error("a `rule_files` entry is not a file name", "give a path or glob")
        found = _named(test_file.parent, name, plain)
        if not found:
            have = ", ".join(_relative(p, config.root) for p in plain) or "none"
            raise entry.error(
                f"rule_files entry {name!r} is none of the config's rule files ({have})",
                "name one of them, relative to the test file, or add the file to `rules:` "
                "in obs-gate.yaml",
            )
        for origin in found:
            out.extend(p for p in plain[origin] if p not in out)
    return tuple(out)


def _named(folder: Path, name: str, plain: dict[Path, list[Path]]) -> list[Path]:
    """The config's rule files (by the user's path) that a `rule_files` entry names."""
    pattern = Path(name) if Path(name).is_absolute() else folder / name
    if _MAGIC.search(name):
        on_disk = [Path(p).resolve() for p in globlib.glob(str(pattern), recursive=True)]
    else:
        on_disk = [pattern.resolve()] if pattern.is_file() else []
    if on_disk and all(p in plain for p in on_disk):
        return sorted(on_disk)
    base = Path(name).name
    return sorted(p for p in plain if fnmatch.fnmatchcase(p.name, base))


# -- running ------------------------------------------------------------------------------


def case_file_name(case: PromtoolCase) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", case.rel) + f".{case.index}.test.yaml"


def run_case(case: PromtoolCase, workdir: Path, origin_text: Callable[[str], str]) -> CaseResult:
    """Write the case's own test file into `workdir` and let promtool judge it; its output
    names the user's test file and rule files, not the gate's copies."""
    workdir.mkdir(parents=True, exist_ok=True)
    test_file = workdir / case_file_name(case)
    test_file.write_text(yaml.safe_dump(case.document, sort_keys=False, allow_unicode=True))
    result = promtool_test_rules(test_file, nice=10)
    output = result.output.replace(str(test_file), case.where)
    return CaseResult(case, result.ok, origin_text(output), test_file)


def run_cases(
    cases: list[PromtoolCase], config: ObsConfig, workdir: Path, max_workers: int = 4
) -> dict[str, CaseResult]:
    """Every case at once, one promtool process each."""
    jobs = {c.id: partial(run_case, c, workdir, config.origin_text) for c in cases}
    return run_concurrently(jobs, max_workers)


# -- the live layer -------------------------------------------------------------------------


def live_scenarios(case: PromtoolCase, config: ObsConfig) -> tuple[list[Scenario], str]:
    """The case as live scenarios (one per alert it checks), or why it cannot be replayed."""
    reason = next(_not_live(case, config), "")
    if reason:
        return [], reason
    test = case.test
    interval = test.get("interval") or case.document.get("evaluation_interval") or "1m"
    names = dict.fromkeys(str(a.get("alertname")) for a in test["alert_rule_test"])
    series = test.get("input_series") or []
    try:
        return [_scenario(case, name, interval, series, n) for n, name in enumerate(names)], ""
    except ConfigError as exc:
        return [], f"the scenario model refuses it: {exc}"


def _not_live(case: PromtoolCase, config: ObsConfig) -> Iterator[str]:
    """Why the live layer cannot replay a case: it serves plain series to a Prometheus that
    loads all of the config's rules and judges alerts, so expression checks, promtool's
    external labels, a partial rule set and histogram samples stay in the exact layer."""
    test = case.test
    if test.get("promql_expr_test"):
        yield "it checks PromQL expressions, which only the exact layer evaluates"
    checks = test.get("alert_rule_test")
    if not checks:
        yield "it checks no alert"
    if not isinstance(checks, list) or len(_entries(test, "alert_rule_test")) != len(checks):
        yield "its alert_rule_test is malformed (the exact layer shows promtool's error)"
    if not isinstance(test.get("input_series") or [], list):
        yield "its input_series is not a list"
    if test.get("external_labels") or test.get("external_url"):
        yield "its external labels or URL are promtool's, not the live Prometheus'"
    for s in test.get("input_series") or []:
        if not isinstance(s, dict):
            yield "an input series is not a mapping"
            continue
        try:
            values = expand_values(str(s.get("values", "")), case.where)
        except ConfigError:
            yield f"series {s.get('series')!r} uses notation the live layer cannot serve"
            continue
        is_up = str(s.get("series", "")).split("{")[0].strip() == "up"
        if is_up and not set(values) <= {0.0, 1.0, None}:
            yield "its `up` series takes values other than 0 and 1 (live, up is a scrape)"
    loaded = {config.origin_of(p).resolve() for p in case.rule_files}
    for check in _entries(test, "alert_rule_test"):
        name = str(check.get("alertname"))
        if len(_entries(check, "exp_alerts")) != len(check.get("exp_alerts") or []):
            yield f"its exp_alerts of {name} are malformed (the exact layer shows promtool's)"
        if any(r.name == name and r.file.resolve() not in loaded for r in config.alert_rules()):
            yield f"{name} is also defined in rule files the case does not load"


def _scenario(
    case: PromtoolCase,
    alert: str,
    interval: Any,
    series: list[dict[str, Any]],
    n: int,
) -> Scenario:
    checks = [a for a in case.test["alert_rule_test"] if str(a.get("alertname")) == alert]
    checks.sort(key=lambda a: parse_duration(str(a.get("eval_time", "0s")), case.where))
    slug = re.sub(r"[^a-z0-9]+", "-", f"{case.rel}-{case.index}-{alert}".lower()).strip("-")
    raw = {
        "id": f"promtool-{slug}",
        "alert": alert,
        "intent": f"{case.where}: {case.label}",
        "interval": str(interval),
        "series": [{"series": s["series"], "values": str(s["values"])} for s in series],
        "expect": [
            {
                "at": str(a.get("eval_time", "0s")),
                "firing": [
                    {"labels": e.get("exp_labels") or {}, "annotations": e.get("exp_annotations")}
                    for e in a.get("exp_alerts") or []
                ],
            }
            for a in checks
        ],
        "layers": ["live"],
    }
    return scenario_from_mapping(raw, case.file, case.index * 100 + n)

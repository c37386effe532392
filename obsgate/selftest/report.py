"""`reports/self-test.md` and `reports/self-test.html`: the kill rate per file and per
operator, and every survivor as a one-line diff: each is a scenario the config lacks."""

from __future__ import annotations

import html
import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from obsgate.selftest.runner import GateRun, Outcome

DECIDED = ("killed", "survived")


@dataclass(frozen=True)
class Rate:
    killed: int
    survived: int
    equivalent: int
    not_run: int

    @property
    def rate(self) -> float | None:
        """Killed over killed + survived; equivalent mutants count in neither."""
        decided = self.killed + self.survived
        return self.killed / decided if decided else None

    def text(self) -> str:
        return "n/a" if self.rate is None else f"{100 * self.rate:.1f} %"


def rate_of(outcomes: Iterable[Outcome]) -> Rate:
    c = Counter(o.status for o in outcomes)
    return Rate(c["killed"], c["survived"], c["equivalent"], c["not run"] + c["error"])


def _table(outcomes: Sequence[Outcome], key: str) -> list[tuple[str, Rate]]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(getattr(o.mutant, key), []).append(o)
    return [(k, rate_of(v)) for k, v in sorted(groups.items())]


def _where(o: Outcome) -> str:
    return f"{o.mutant.file}:{o.mutant.line}"


@dataclass(frozen=True)
class SelfTestRun:
    """What one self-test did: the config, the baseline run, each mutant's outcome."""

    config: Path
    baseline: GateRun
    outcomes: Sequence[Outcome]
    seconds: float
    interrupted: bool = False
    previous: Previous | None = None


@dataclass(frozen=True)
class Previous:
    """The kill rate the last self-test of the same config reported (from its JSON): after a
    scaffold, or new scenarios, the report shows both figures."""

    kill_rate: float | None
    mutants: int
    finished: str

    def text(self) -> str:
        rate = "n/a" if self.kill_rate is None else f"{100 * self.kill_rate:.1f} %"
        return f"{rate} ({self.mutants} mutants, {self.finished})"


def previous_run(reports_dir: Path, config: Path) -> Previous | None:
    """The last report's figures in `reports_dir`, if it was of `config` and finished."""
    path = reports_dir / "self-test.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("config") != str(config) or doc.get("interrupted"):
        return None
    return Previous(doc.get("kill_rate"), len(doc.get("mutants") or []), doc.get("finished", "?"))


def markdown(run: SelfTestRun) -> str:
    outcomes, baseline = run.outcomes, run.baseline
    total = rate_of(outcomes)
    ran = [o for o in outcomes if o.status in DECIDED]
    per = sum(o.seconds for o in ran) / len(ran) if ran else 0.0
    out = [
        "# Self-test: would the gate catch a broken config?",
        "",
        f"Config: `{run.config}`. {len(outcomes)} one-line mutants; kill rate **{total.text()}** "
        f"({total.killed} killed, {total.survived} survived, {total.equivalent} equivalent, "
        f"{total.not_run} not run). Wall time {run.seconds:.0f} s, {per:.1f} s per mutant run.",
        "",
    ]
    if run.previous is not None:
        out += [f"Before: kill rate {run.previous.text()}; now **{total.text()}**.", ""]
    if run.interrupted:
        out += ["**Interrupted:** this report holds the mutants that finished.", ""]
    b = baseline.counts
    out.append(
        f"Baseline (unmutated, non-live): {b.get('passed', 0)} passed, "
        f"{b.get('skipped', 0)} xfailed or skipped, {b.get('failed', 0)} failed."
    )
    if baseline.failed:
        out.append("**The baseline is not green**; its failures are not counted as kills:")
        out += [f"- `{t}`" for t in sorted(baseline.failed)]
    out += ["", "A mutant is killed when a test fails that passes (or strictly xfails) on the "
            "unmutated config. A survivor is a scenario the config is missing.", ""]  # fmt: skip
    for title, key in (("file", "file"), ("operator", "operator")):
        out += [f"## Kill rate per {title}", "",
                f"| {title} | killed | survived | equivalent | kill rate |",
                "|---|---|---|---|---|"]  # fmt: skip
        for name, r in _table(outcomes, key):
            out.append(f"| `{name}` | {r.killed} | {r.survived} | {r.equivalent} | {r.text()} |")
        out.append("")
    survivors = [o for o in outcomes if o.status == "survived"]
    out += [f"## Survivors ({len(survivors)})", ""]
    for o in survivors:
        m = o.mutant
        out += [f"- `{_where(o)}` {m.operator} ({m.subject}): {m.description}; "
                f"suites run: {', '.join(o.suites)}", "  ```diff", f"  - {m.old.strip()}",
                f"  + {m.new.strip()}", "  ```"]  # fmt: skip
    equivalent = [o for o in outcomes if o.status == "equivalent"]
    if equivalent:
        out += ["", f"## Equivalent ({len(equivalent)})", ""]
        out += [f"- `{_where(o)}` {o.mutant.description}: {o.note}" for o in equivalent]
    killed = [o for o in outcomes if o.status == "killed"]
    out += ["", f"## Killed ({len(killed)})", ""]
    for o in killed:
        by = ", ".join(f"`{t.split('::')[-1]}`" for t in o.killed_by[:3]) or o.note
        more = f" and {len(o.killed_by) - 3} more" if len(o.killed_by) > 3 else ""
        out.append(f"- `{_where(o)}` {o.mutant.description}: {by}{more}")
    return "\n".join(out) + "\n"


def html_page(
    outcomes: Sequence[Outcome], markdown_text: str, previous: Previous | None = None
) -> str:
    """A small page: the totals, then every survivor as a diff (the Markdown holds the rest)."""
    total = rate_of(outcomes)
    before = f"<p>Before: kill rate {html.escape(previous.text())}.</p>" if previous else ""
    rows = "".join(
        f"<tr><td><code>{html.escape(_where(o))}</code></td><td>{o.mutant.operator}</td>"
        f"<td>{html.escape(o.mutant.subject)}</td><td><pre>- {html.escape(o.mutant.old.strip())}"
        f"\n+ {html.escape(o.mutant.new.strip())}</pre></td><td>{', '.join(o.suites)}</td></tr>"
        for o in outcomes
        if o.status == "survived"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>obs-gate self-test</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;"
        "padding:4px;vertical-align:top}table{border-collapse:collapse}pre{margin:0}</style>"
        f"</head><body><h1>Self-test: kill rate {total.text()}</h1>{before}"
        f"<p>{total.killed} killed, {total.survived} survived, {total.equivalent} equivalent, "
        f"{total.not_run} not run. Details: <a href='self-test.md'>self-test.md</a>.</p>"
        "<h2>Survivors: scenarios the config is missing</h2><table><tr><th>where</th>"
        f"<th>operator</th><th>subject</th><th>diff</th><th>suites run</th></tr>{rows}</table>"
        "</body></html>\n"
    )


def as_json(run: SelfTestRun) -> str:
    """Every outcome as data, for CI and for the gate's own tests."""
    rows = [
        {"file": o.mutant.file, "line": o.mutant.line, "operator": o.mutant.operator,
         "subject": o.mutant.subject, "description": o.mutant.description,
         "old": o.mutant.old, "new": o.mutant.new, "status": o.status,
         "suites": list(o.suites), "seconds": round(o.seconds, 1),
         "killed_by": o.killed_by, "note": o.note}
        for o in run.outcomes
    ]  # fmt: skip
    rate = rate_of(run.outcomes).rate
    return json.dumps({"config": str(run.config), "kill_rate": rate,
                       "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                       "baseline_failed": sorted(run.baseline.failed),
                       "interrupted": run.interrupted, "mutants": rows}, indent=1)  # fmt: skip


def write(reports_dir: Path, run: SelfTestRun) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(run)
    md = reports_dir / "self-test.md"
    md.write_text(text, encoding="utf-8")
    page = html_page(run.outcomes, text, run.previous)
    (reports_dir / "self-test.html").write_text(page, encoding="utf-8")
    (reports_dir / "self-test.json").write_text(as_json(run), encoding="utf-8")
    return md

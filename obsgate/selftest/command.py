"""`obs-gate self-test [DIR]`: mutants of DIR, the gate on each, and the report.

Exit codes: 0 done (and the kill rate meets --min-kill-rate), 1 below it, 2 interrupted
(the partial report is written), 4 the config does not load or the gate cannot run on it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

import yaml

from obsgate import options
from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.selftest import report
from obsgate.selftest.mutants import OPERATORS, Mutant, generate
from obsgate.selftest.runner import PART_SUITES, Interrupted, Outcome, Runner


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="obs-gate self-test", description=__doc__)
    p.add_argument(
        "dir",
        nargs="?",
        default=str(options.DEFAULT_CONFIG_DIR),
        help="the config dir (default: the seed's config)",
    )
    p.add_argument(
        "--operators",
        default="",
        help=f"comma-separated operators (default all: {', '.join(OPERATORS)})",
    )
    p.add_argument(
        "--parts",
        default=",".join(PART_SUITES),
        help=f"comma-separated parts to mutate (default all: {', '.join(PART_SUITES)})",
    )
    p.add_argument(
        "--match",
        action="append",
        default=[],
        help="only mutants whose subject, file:line or description has this (given more than "
        "once: any of them)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=0,
        help="at most N mutants, spread over the operators (default: all)",
    )
    p.add_argument("--workers", type=int, default=2, help="gate runs at once (default 2)")
    p.add_argument(
        "--min-kill-rate",
        type=float,
        default=0.0,
        help="exit 1 below this kill rate in percent (default 0: report only)",
    )
    p.add_argument(
        "--reports-dir",
        default=options.DEFAULT_REPORTS_DIR,
        help="where self-test.md and self-test.html go (default ./reports)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="run surviving rule mutants again with their alert's live scenarios (slower)",
    )
    p.add_argument("--list", action="store_true", help="print the mutants and exit")
    return p


def spread(mutants: list[Mutant], limit: int) -> list[Mutant]:
    """At most `limit` mutants, taken round-robin over the operators (file order within one),
    so a small sample still exercises every kind of change."""
    if limit <= 0 or limit >= len(mutants):
        return mutants
    by_op: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_op.setdefault(m.operator, []).append(m)
    picked: list[Mutant] = []
    while len(picked) < limit:
        for queue in by_op.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return sorted(picked, key=mutants.index)


def _fail(message: str) -> int:
    print(f"obs-gate self-test: {message}", file=sys.stderr)
    return 4


def _select(args: argparse.Namespace, mutants: list[Mutant]) -> list[Mutant] | str:
    operators = [o.strip() for o in args.operators.split(",") if o.strip()]
    unknown = sorted(set(operators) - set(OPERATORS))
    if unknown:
        return f"unknown operator(s) {', '.join(unknown)} (use {', '.join(OPERATORS)})"
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if set(parts) - set(PART_SUITES):
        return f"--parts takes {', '.join(PART_SUITES)}, not {args.parts!r}"
    chosen = [
        m for m in mutants
        if (not operators or m.operator in operators) and m.part in parts
        and (not args.match or any(x in f"{m.subject} {m.file}:{m.line} {m.description}"
                                   for x in args.match))
    ]  # fmt: skip
    return spread(chosen, args.limit)


def _raise_interrupt(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def self_test(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    root = Path(args.dir)
    from obsgate.preflight import check_config

    try:
        config = ObsConfig(root)
        check_config(config, 1.0)
        if config.has("slos"):
            from obsgate.slo.spec import config_slos

            config_slos(config)
        mutants = generate(config)
    except GateError as exc:
        return _fail(f"{exc} (the config must load before it is mutated)")
    except yaml.YAMLError as exc:
        return _fail(f"{root}: {str(exc).splitlines()[0]} (fix the YAML)")
    chosen = _select(args, mutants)
    if isinstance(chosen, str):
        return _fail(chosen)
    if args.list:
        for m in chosen:
            flag = f"  [equivalent: {m.equivalent}]" if m.equivalent else ""
            print(f"{m.file}:{m.line} {m.operator} ({m.subject}): {m.description}{flag}")
        return 0
    if not chosen:
        return _fail(f"no mutant of {root} matches the options given")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # pytest --self-test set its own
    ids = {layer: _scenario_ids(config, layer) for layer in ("exact", "live")}
    return _run(config.root, chosen, args, ids)


def _scenario_ids(config: ObsConfig, layer: str) -> dict[str, list[str]]:
    """Each alert's scenario ids in `layer` (the test ids of that layer)."""
    from obsgate.scenarios.model import load_scenarios

    directory = config.scenarios_dir / "alerts"
    ids: dict[str, list[str]] = {}
    for scenario in load_scenarios(directory) if directory.is_dir() else []:
        if layer in scenario.layers:
            ids.setdefault(scenario.alert, []).append(scenario.id)
    return ids


def _run(root: Path, mutants: list[Mutant], args: argparse.Namespace,
         scenario_ids: dict[str, dict[str, list[str]]]) -> int:  # fmt: skip
    runner = Runner(root, workers=args.workers, scenario_ids=scenario_ids["exact"],
                    live_ids=scenario_ids["live"] if args.live else None)  # fmt: skip
    started = time.monotonic()
    reports_dir = Path(args.reports_dir)
    previous = report.previous_run(reports_dir, root)  # read before this run replaces it
    parts = sorted({m.part for m in mutants})
    interrupted = False
    try:
        suites = ", ".join(sorted({s for p in parts for s in PART_SUITES[p]}))
        print(
            f"self-test: baseline run of {suites} on {root}, then {len(mutants)} mutants, "
            f"{runner.workers} at a time",
            flush=True,
        )
        baseline = runner.baseline(parts)
        if baseline.returncode not in (0, 1):
            return _fail(f"the gate does not run on the unmutated config: {baseline.last_line}")
        if baseline.failed and not baseline.counts.get("passed"):
            # Nothing passed (a tool or server the run lacks, or a config the gate fails
            # throughout): every mutant would "survive" against such a baseline.
            log = runner.tmp / "baseline" / "output.log"
            lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
            errors = [x for x in lines if x.startswith("E ")][:5] or lines[-5:]
            return _fail(
                f"every test of the unmutated config's run failed ({len(baseline.failed)}), so "
                "no mutant can be judged; its first errors:\n" + "\n".join(errors)
            )
        done = [0]

        def progress(o: Outcome) -> None:
            done[0] += 1
            step = f"{done[0]}/{len(mutants)}" if done[0] <= len(mutants) else "live"
            print(
                f"[{step}] {o.status:10} {o.mutant.file}:{o.mutant.line} "
                f"{o.mutant.description} ({o.seconds:.0f} s)",
                flush=True,
            )

        try:
            outcomes = runner.run_all(mutants, baseline, progress)
            if args.live:
                try:
                    runner.rerun_live(outcomes, progress)
                except KeyboardInterrupt:
                    runner.stop_all()
                interrupted = runner.stopping.is_set()
        except Interrupted as stop:
            outcomes, interrupted = stop.outcomes, True
        run = report.SelfTestRun(
            root, baseline, outcomes, time.monotonic() - started, interrupted, previous
        )
        md = report.write(reports_dir, run)
    except KeyboardInterrupt:
        runner.stop_all()
        print(
            "obs-gate self-test: interrupted before the baseline finished; no report",
            file=sys.stderr,
        )
        return 2
    finally:
        runner.cleanup()
    rate = report.rate_of(outcomes)
    print(
        f"self-test: kill rate {rate.text()} ({rate.killed} killed, {rate.survived} survived, "
        f"{rate.equivalent} equivalent, {rate.not_run} not run); report {md}"
    )
    if interrupted:
        return 2
    if args.min_kill_rate > 0 and (rate.rate is None or 100 * rate.rate < args.min_kill_rate):
        print(f"self-test: kill rate below --min-kill-rate {args.min_kill_rate:g} %")
        return 1
    return 0

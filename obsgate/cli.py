"""`obs-gate`: the gate's suites on a team's config, from wherever it is installed.

    obs-gate run [DIR] [pytest args...]   the suites on DIR (default: the seed's config)
    obs-gate doctor                       which servers and tools are here, and their versions
    obs-gate self-test [DIR] [options]    how many one-line mutants of DIR the gate catches
    obs-gate scaffold [DIR]               scenario stubs for DIR's alert rules without any

`run` is pytest with `--obs-config DIR` and the gate's suites as the test paths; every
pytest option works after DIR (`-k alerts`, `-n 2`, `--stack process`, `-m load`).
`self-test` writes reports/self-test.md, .html and .json (docs/self-test.md); `self-test --help`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from obsgate import options
from obsgate.errors import GateError
from obsgate.tools import gobuild

USAGE = __doc__.split("\n\n")[1]


def run(argv: list[str]) -> int:
    """pytest on the gate's suites, in place of this process (so pytest imports the gate
    itself, and Ctrl-C reaches it directly); the exit code is pytest's: 0 green, 1 red,
    2 interrupted, 4 a usage error, 5 nothing selected."""
    config_dir: str | None = None
    if argv and not argv[0].startswith("-"):
        config_dir, argv = argv[0], argv[1:]
        if not Path(config_dir).is_dir():
            print(f"obs-gate run: {config_dir}: no such directory (the config dir to test)",
                  file=sys.stderr)  # fmt: skip
            return 4
    suites, loadtests = options.suite_paths()
    selected = [a for a in argv if not a.startswith("-") and Path(a.split("::")[0]).exists()]
    args = ["-p", "no:locust", "--dist", "loadgroup", "--rootdir", str(suites.parent), *argv]
    if config_dir is not None:
        args += ["--obs-config", str(Path(config_dir).resolve())]
    if not selected:
        args += [str(suites), str(loadtests)]
    python = sys.executable
    os.execv(python, [python, "-m", "pytest", *args])
    return 0  # not reached: execv replaces this process


def doctor(server_versions: str | None = None) -> int:
    """One line per server and tool: its version, or that it is missing and how to install
    it; Prometheus, promtool, Alertmanager and amtool on both --server-versions lines, the
    chosen one marked; then where the suites and the default config are. Exit 1 when
    anything the chosen line or the other servers need is missing."""
    if server_versions:
        os.environ[options.SERVER_VERSIONS_ENV] = server_versions
    from obsgate.stack.versions import (
        NOT_INSTALLED,
        WRONG_BINARY,
        binary_versions,
        line_versions,
    )
    from obsgate.tools.versions_line import BINARIES, chosen_line, describe_line

    chosen = chosen_line()
    versions = binary_versions()  # the chosen line's and the other servers'
    for line in options.SERVER_VERSIONS:
        mark = "chosen" if line == chosen else f"with --server-versions {line}"
        print(f"{describe_line(line)}: {mark}")
        for name, version in line_versions(line).items():
            print(f"  {name:13} {version}")
    for name, version in versions.items():
        if name not in BINARIES:
            print(f"{name:15} {version}")
    go_ready = True
    for name, program in go_programs().items():
        ready, line = gobuild.status(program)
        go_ready &= ready
        print(f"{name:15} {line}")
    try:
        print(f"{'suites':15} {options.suite_paths()[0]}")
    except FileNotFoundError as exc:
        print(f"{'suites':15} missing: {exc}")
        return 1
    print(f"{'default config':15} {options.DEFAULT_CONFIG_DIR}")
    lacking = suites_lacking()
    print("what each suite needs and lacks here:")
    for suite, missing in lacking.items():
        fix = f": scripts/install-backends {' '.join(missing)}" if missing else ""
        print(f"  {suite:13} {'lacks ' + ', '.join(missing) if missing else 'ready'}{fix}")
    broken = (NOT_INSTALLED, WRONG_BINARY)
    return 1 if any(v.startswith(broken) for v in versions.values()) or not go_ready else 0


def go_programs() -> dict[str, gobuild.GoProgram]:
    """The gate's own Go programs (the preflight builds them with the machine's `go`)."""
    from obsgate.relabel import build as relabel
    from obsgate.tools import gotemplate

    return {"gotemplate-check": gotemplate.program(), "obs-relabel": relabel.program()}


def suites_lacking() -> dict[str, list[str]]:
    """Each suite and the install steps it needs that this machine lacks, from the plan
    `pytest --obs-install-plan` makes for every suite (the same as `scripts/gate` uses)."""
    import subprocess
    import tempfile

    from obsgate.preflight import step_installed

    with tempfile.TemporaryDirectory(prefix="obs-gate-doctor-") as tmp:
        plan_file = Path(tmp) / "plan"
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *map(str, options.suite_paths()), "-q", "-n", "0",
             "-p", "no:cacheprovider", "-p", "no:locust", f"--reports-dir={tmp}",
             f"--obs-install-plan={plan_file}"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not plan_file.is_file():
            lines = (proc.stdout + proc.stderr).strip().splitlines()
            return {"(plan)": [lines[-1] if lines else f"pytest exited {proc.returncode}"]}
        plan = [line.split(" ", 1) for line in plan_file.read_text().splitlines()]
    lacking: dict[str, list[str]] = {}
    for step, suites in plan:
        missing = not step_installed(step)
        for suite in suites.split(","):
            lacking.setdefault(suite, [])
            if missing:
                lacking[suite].append(step)
    return dict(sorted(lacking.items()))


def doctor_command(rest: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="obs-gate doctor", description=doctor.__doc__)
    parser.add_argument(
        "--server-versions",
        choices=options.SERVER_VERSIONS,
        default=os.environ.get(options.SERVER_VERSIONS_ENV) or None,
        help=f"the line to check (env {options.SERVER_VERSIONS_ENV}; default "
        f"{options.DEFAULT_SERVER_VERSIONS})",
    )
    try:
        return doctor(parser.parse_args(rest).server_versions)
    except GateError as exc:  # OBS_SERVER_VERSIONS=abc: argparse leaves defaults alone
        print(f"obs-gate doctor: {exc}", file=sys.stderr)
        return 2


def self_test_command(rest: list[str]) -> int:
    from obsgate.selftest.command import self_test

    return self_test(rest)


def scaffold_command(rest: list[str]) -> int:
    from obsgate.selftest.scaffold import main as scaffold

    return scaffold(rest)


COMMANDS = {
    "run": run,
    "doctor": doctor_command,
    "self-test": self_test_command,
    "scaffold": scaffold_command,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage:\n{USAGE}")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"obs-gate: unknown command {command!r}\nusage:\n{USAGE}", file=sys.stderr)
        return 2
    return COMMANDS[command](rest)


if __name__ == "__main__":
    raise SystemExit(main())

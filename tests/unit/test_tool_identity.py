"""A tool is proven before its verdicts count: a wrong binary stops the run in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from obsgate.errors import ToolMissing
from obsgate.relabel.build import prometheus_module_version
from obsgate.stack.alertmanager import alertmanager_binary
from obsgate.stack.prometheus import prometheus_binary
from obsgate.tools import find_binary
from obsgate.tools.identity import proven
from tests.gate_subprocess import clean_env, run_gate


def fake(tmp_path: Path, name: str, version_line: str, exit_code: int = 0) -> str:
    """A script that claims to be `name` and answers every command with `exit_code`."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho '{version_line}'\nexit {exit_code}\n")
    path.chmod(0o755)
    return str(path)


def test_the_real_tools_are_proven() -> None:
    for name, package in (("promtool", "prometheus"), ("amtool", "prometheus-alertmanager")):
        binary = find_binary(name, name.upper(), package)
        assert proven(name, binary, "") == binary


def test_a_binary_that_is_not_the_tool_is_named_with_its_variable() -> None:
    with pytest.raises(ToolMissing) as caught:
        proven("promtool", "/bin/true", "PROMTOOL")
    message = str(caught.value)
    assert message.startswith("PROMTOOL=/bin/true is not promtool"), message
    assert "unset it" in message and "\n" not in message


@pytest.mark.parametrize(
    ("name", "exit_code", "wrong"),
    [
        ("promtool", 0, "a rule test that must fail passed"),
        ("promtool", 1, "a rule test that must pass failed"),
        ("amtool", 0, "a config with an undefined receiver was accepted"),
        ("amtool", 1, "a valid config was refused"),
    ],
)
def test_a_tool_that_answers_wrongly_is_refused(
    tmp_path: Path, name: str, exit_code: int, wrong: str
) -> None:
    """It prints the right --version but gives a fixed answer to everything."""
    binary = fake(tmp_path, name, f"{name}, version 9.9.9 (branch: fake)", exit_code)
    if exit_code:  # --version itself must still succeed: answer 0 to it, `exit_code` else
        Path(binary).write_text(
            f'#!/bin/sh\nif [ "$1" = --version ]; then echo "{name}, version 9.9.9"; exit 0; fi\n'
            f"exit {exit_code}\n"
        )
    with pytest.raises(ToolMissing, match=wrong):
        proven(name, binary, "")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_wrong_promtool_stops_the_gate_before_any_test(workers: list[str]) -> None:
    """Under xdist too: one line from the controller, not an error per test per worker."""
    run = run_gate("-k", "alerts", *workers, env=clean_env(PROMTOOL="/bin/true"), suite="suites")
    assert run.returncode == 4, run.describe()
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.describe()
    assert errors[0].startswith(
        "ERROR: PROMTOOL=/bin/true is not promtool: `--version` printed 'true "
    ), errors  # what /bin/true prints for --version differs between coreutils releases
    assert errors[0].endswith("(set PROMTOOL to the path of promtool, or unset it)"), errors
    assert "Traceback" not in run.output and " passed" not in run.output, run.describe()


def test_an_unbuilt_alertmanager_stops_a_prometheus_test_before_it_runs(tmp_path: Path) -> None:
    """The live SLI test needs only Prometheus, which alerts to the run's Alertmanager: with
    Alertmanager's build missing from the cache, preflight says so in one line, instead of
    a thread traceback and an error per test."""
    real = prometheus_binary()  # the current line's build, in the shared cache
    cache = tmp_path / "cache" / "backends" / Path(real).parent.name
    cache.mkdir(parents=True)
    for file in Path(real).parent.iterdir():
        (cache / file.name).symlink_to(file)
    run = run_gate(
        "-k", "slo and live", env=clean_env(OBS_GATE_CACHE=str(tmp_path / "cache")),
        suite="suites/slo",
    )  # fmt: skip
    assert run.returncode == 4, run.describe()
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.describe()
    assert re.fullmatch(
        r"ERROR: alertmanager [0-9.]+ not built: run scripts/install-backends "
        r"\(or --server-versions debian\)",
        errors[0],
    ), run.describe()
    assert "Traceback" not in run.output and " passed" not in run.output, run.describe()


def test_a_missing_go_stops_a_test_that_needs_the_relabelling_program(tmp_path: Path) -> None:
    """The scrape-label test needs obs-relabel, which the preflight builds with `go`: with no
    build cached and no go, one line naming the variable and what it was for."""
    cache = tmp_path / "cache" / "backends"
    cache.mkdir(parents=True)
    for server in (prometheus_binary(), alertmanager_binary()):
        (cache / Path(server).parent.name).symlink_to(Path(server).parent)
    run = run_gate(
        "-k", "sli_queries_select_on_labels",
        env=clean_env(OBS_GATE_CACHE=str(tmp_path / "cache"), OBS_GATE_GO="/nonexistent/go"),
        suite="suites/slo",
    )  # fmt: skip
    assert run.returncode == 4, run.describe()
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert errors == [
        "ERROR: OBS_GATE_GO=/nonexistent/go is not an executable (fix or unset OBS_GATE_GO): "
        "the relabelling simulation builds Prometheus' relabel code "
        f"(github.com/prometheus/prometheus@{prometheus_module_version()}) with it"
    ], run.describe()
    assert "Traceback" not in run.output and " passed" not in run.output, run.describe()

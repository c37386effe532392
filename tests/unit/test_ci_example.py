"""The CI example for users (.github/workflows/observability-gate.yml) cannot run here: no
hosted runner, no registry. So it is linted (actionlint: syntax, expressions, the inputs of
the actions it knows, and shellcheck on every run: block), a broken copy proves the lint
can fail, and its steps are held to what the repo runs: the images, the gate, the reports.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import obsgate.tools
from obsgate import options
from obsgate.errors import ToolMissing
from obsgate.stack import containers, image_list
from obsgate.tools import CACHE_BIN, REPO_ROOT, ToolResult, find_binary, run_tool

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "observability-gate.yml"
INSTALL_HINT = (
    "run scripts/install-backends (it builds actionlint with Go at ACTIONLINT_VERSION of "
    "scripts/install/versions.env), or set ACTIONLINT"
)


def actionlint_binary() -> str:
    """$ACTIONLINT, PATH or the cache; actionlint has no Debian package, so say how it is built."""
    try:
        return find_binary("actionlint", "ACTIONLINT", "actionlint")
    except ToolMissing:
        if os.environ.get("ACTIONLINT"):
            raise
        raise ToolMissing(
            f"actionlint not found on PATH or in {CACHE_BIN}: {INSTALL_HINT}"
        ) from None


@pytest.fixture
def lint() -> Callable[[Path], ToolResult]:
    """actionlint with shellcheck named, not looked up: without it actionlint would skip
    the run: blocks silently. Either missing fails the test in one line (no skip)."""
    try:
        actionlint = actionlint_binary()
        shellcheck = find_binary("shellcheck", "SHELLCHECK", "shellcheck")
    except ToolMissing as exc:
        missing = str(exc)  # failed outside the handler: one line, no chained traceback
    else:
        missing = None
    if missing:
        pytest.fail(missing, pytrace=False)

    def run(workflow: Path) -> ToolResult:
        return run_tool([actionlint, "-no-color", f"-shellcheck={shellcheck}", str(workflow)])

    return run


def workflow_steps() -> list[dict[str, Any]]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["gate"]["steps"]


def step_running(command: str) -> dict[str, Any]:
    for step in workflow_steps():
        if command in step.get("run", ""):
            return step
    raise AssertionError(f"{WORKFLOW.name}: no step runs {command!r}")


def step_using(action: str) -> dict[str, Any]:
    for step in workflow_steps():
        if step.get("uses", "").startswith(f"{action}@"):
            return step
    raise AssertionError(f"{WORKFLOW.name}: no step uses {action}")


def test_the_ci_example_passes_actionlint_and_shellcheck(lint) -> None:
    result = lint(WORKFLOW)
    assert result.ok, f"actionlint finds fault with the CI example:\n{result.describe()}"


# (what breaks, a line that has `old`, `old` -> `new` on that line, actionlint's rule)
BREAKAGES = {
    "unknown key": ("timeout-minutes:", "timeout-minute:", "[syntax-check]"),
    "undefined function": ("hashFiles(", "hashFile(", "[expression]"),
    "unknown action input": ("name: observability-gate-reports", "nme: x", "[action]"),
    "unquoted shell variable": ("run: scripts/gate", "run: scripts/gate $ARGS", "[shellcheck]"),
}


@pytest.mark.parametrize(("old", "new", "rule"), BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_broken_line_fails_the_lint_naming_that_line(
    lint, tmp_path: Path, old: str, new: str, rule: str
) -> None:
    lines = WORKFLOW.read_text().splitlines(keepends=True)
    index = next((i for i, line in enumerate(lines) if old in line), None)
    assert index is not None, f"{WORKFLOW.name} has no line with {old!r}: update BREAKAGES"
    lines[index] = lines[index].replace(old, new, 1)
    broken = tmp_path / ".github" / "workflows" / WORKFLOW.name
    broken.parent.mkdir(parents=True)
    broken.write_text("".join(lines))

    result = lint(broken)

    assert not result.ok, f"line {index + 1} broken ({new!r}) and actionlint passed it"
    where = f"workflows/{broken.name}:{index + 1}:"  # actionlint may print it relative to cwd
    assert where in result.output and rule in result.output, (
        f"expected a {rule} error at {broken.name}:{index + 1}\n{result.describe()}"
    )


def test_missing_actionlint_is_one_line_naming_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ACTIONLINT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(obsgate.tools, "CACHE_BIN", tmp_path)
    with pytest.raises(ToolMissing, match="run scripts/install-backends") as caught:
        actionlint_binary()
    assert "\n" not in str(caught.value)


def test_the_example_pulls_the_images_the_containers_backend_runs() -> None:
    """Pulled by the repo's own list, not a copy of it in the workflow that could drift."""
    pull = step_running("docker pull")["run"]
    assert "python -m obsgate.stack.image_list" in pull, pull
    defaults = [default for _, default in containers.IMAGES.values()]
    hard_coded = [image for image in defaults if image in WORKFLOW.read_text()]
    assert not hard_coded, f"{WORKFLOW.name} names images itself: {hard_coded}"

    clean_env = {k: v for k, v in os.environ.items() if not k.endswith("_IMAGE")}
    listed = subprocess.run(
        [sys.executable, "-m", "obsgate.stack.image_list"],
        cwd=REPO_ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == defaults


def test_an_image_override_is_what_gets_pulled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_REDIS_IMAGE", "registry.example/redis:7.0-ours")
    assert "registry.example/redis:7.0-ours" in image_list.images()
    assert "redis:7.0" not in image_list.images()


def test_the_example_runs_the_whole_gate_on_containers_and_keeps_its_reports() -> None:
    gate = step_running("scripts/gate")
    assert shlex.split(gate["run"]) == [
        "scripts/gate", "--stack", "containers", "suites", "loadtests"
    ], gate["run"]  # fmt: skip
    junit = f"{options.DEFAULT_REPORTS_DIR}/{options.JUNIT_REPORT}"  # the plugin's default
    assert step_using("mikepenz/action-junit-report")["with"]["report_paths"] == junit
    reports = step_using("actions/upload-artifact")["with"]["path"].rstrip("/")
    assert reports == options.DEFAULT_REPORTS_DIR

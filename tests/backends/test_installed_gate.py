"""The gate installed as a team installs it: `pip install <the gate>` into a virtualenv of
their own, then run from their repository, which has no copy of the suites.

Both ways in are exercised, on a copy of the seed config kept the way a team keeps it
(`./observability` beside their code): `pytest --obs-config observability` (the space
form) and `obs-gate run observability`. Each must run the installed suites on that config:
green as shipped, red naming the scenario when one threshold is broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.gate_subprocess import REPO_ROOT, RULES, clean_env, copy_config, edit

EXACT_ALERTS = ("-k", "alerts and exact", "-q", "-p", "no:cacheprovider")
PIP_TIMEOUT = 600  # a cold pip cache downloads every dependency
NOT_SHIPPED = (".git", ".venv", ".tox", "build", "*.egg-info", "__pycache__", ".cache")
# Generated at the top of the checkout only (obsgate/reports is the package that writes them).
TOP_LEVEL_NOT_SHIPPED = ("reports", "node_modules")


def not_shipped(directory: str, names: list[str]) -> set[str]:
    ignored = set(shutil.ignore_patterns(*NOT_SHIPPED)(directory, names))
    if Path(directory) == REPO_ROOT:
        ignored |= set(TOP_LEVEL_NOT_SHIPPED) & set(names)
    return ignored


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv outside the checkout with the gate pip-installed (not editable), from a
    copy of the checkout without build leftovers, so the wheel holds what the tree holds."""
    source = tmp_path_factory.mktemp("gate-source") / "gate"
    shutil.copytree(REPO_ROOT, source, ignore=not_shipped)
    env_dir = tmp_path_factory.mktemp("team-venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    for args in (["--upgrade", "pip"], [str(source)]):
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *args],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT,
            check=False,
            cwd=env_dir,
        )
        assert done.returncode == 0, f"pip install {args}: {done.stdout}{done.stderr}"
    return env_dir


@pytest.fixture
def team_repo(tmp_path: Path) -> Path:
    """A team's repository: their config in ./observability, nothing of the gate."""
    copy_config(tmp_path / "observability")
    return tmp_path


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env.pop("PYTHONPATH", None)
    env["PATH"] = os.pathsep.join([str(Path(cmd[0]).parent), env.get("PATH", "")])
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def gate_command(installed: Path, entry: str) -> list[str]:
    """The alerts suite's exact layer on ./observability, through `entry`."""
    if entry == "pytest":
        return [str(installed / "bin" / "pytest"), "--obs-config", "observability", *EXACT_ALERTS]
    return [str(installed / "bin" / "obs-gate"), "run", "observability", *EXACT_ALERTS]


def junit_files(junit: Path) -> set[str]:
    root = ET.parse(junit).getroot()
    return {case.get("classname", "") for case in root.iter("testcase")}


def test_installed_gate_is_outside_the_checkout(installed: Path) -> None:
    where = "import obsgate; print(obsgate.__file__)"
    probe = run([str(installed / "bin" / "python"), "-c", where], cwd=installed)
    assert probe.returncode == 0, probe.stderr
    assert str(REPO_ROOT) not in probe.stdout and "site-packages" in probe.stdout, probe.stdout


@pytest.mark.parametrize("entry", ["pytest", "obs-gate"])
def test_the_installed_suites_run_on_the_teams_config(
    installed: Path, team_repo: Path, entry: str
) -> None:
    """Green on the config as shipped, reports in the team's ./reports."""
    cmd = gate_command(installed, entry)
    done = run(cmd, team_repo)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "xfailed" in done.stdout, done.stdout[-2000:]
    classes = junit_files(team_repo / "reports" / "junit.xml")
    assert any("test_alerts_exact" in c for c in classes), classes
    findings = (team_repo / "reports" / "findings.md").read_text()
    assert findings.startswith(f"# Findings in {team_repo / 'observability'}\n"), findings[:300]


@pytest.mark.parametrize("entry", ["pytest", "obs-gate"])
def test_a_broken_threshold_turns_the_installed_gate_red(
    installed: Path, team_repo: Path, entry: str
) -> None:
    edit(team_repo / "observability" / RULES, "> 0.05", "> 0.07")
    cmd = gate_command(installed, entry)
    done = run(cmd, team_repo)
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    assert "FAILED" in done.stdout and "high-error-rate-fires" in done.stdout, done.stdout[-3000:]


def test_a_missing_config_dir_is_one_line(installed: Path, tmp_path: Path) -> None:
    done = run([str(installed / "bin" / "obs-gate"), "run", "nowhere", "-q"], tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0 and "nowhere" in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr

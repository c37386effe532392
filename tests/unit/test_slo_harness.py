"""The SLO harness itself: bad input in one line, the oracle comparison able to fail, the
Sloth install script idempotent and clear without Go, the duration names Sloth uses."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import obsgate.tools
from obsgate.config import ObsConfig
from obsgate.errors import ConfigError, ToolMissing
from obsgate.slo import oracle, rules
from obsgate.slo.budget import prom_duration
from obsgate.slo.policy import load_policy
from obsgate.slo.spec import config_slos, load_slos
from obsgate.tools import CACHE_BIN, sloth
from tests.gate_subprocess import REPO_ROOT, SEED_CONFIG

SLOS = Path("slo") / "mindweave-slos.yaml"


def test_slo_without_objective_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    text = (
        (SEED_CONFIG / SLOS)
        .read_text()
        .replace('objective: 99.0\n      description: "API', 'description: "API')
    )
    path.write_text(text)
    with pytest.raises(
        ConfigError, match=r"slos.yaml:36: SLO latency: 'objective' must be a number"
    ):
        load_slos(path)


def test_policy_lines_are_lines_of_the_configmap() -> None:
    policy = load_policy(SEED_CONFIG / "slo" / "error-budget-policy.yaml")
    lines = (SEED_CONFIG / "slo" / "error-budget-policy.yaml").read_text().splitlines()
    for entry in policy.services.values():
        assert lines[entry.line - 1].strip() == f"{entry.service}:"
    assert lines[policy.escalation_line - 1].strip() == "escalation:"


def test_missing_sloth_names_the_install_command(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SLOTH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(obsgate.tools, "CACHE_BIN", tmp_path / "bin")
    with pytest.raises(ToolMissing, match="run scripts/install-backends"):
        sloth.binary()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(300, "5m"), (1800, "30m"), (3600, "1h"), (86400, "1d"), (3 * 86400, "3d"),
     (30 * 86400, "30d"), (28 * 86400, "4w"), (14 * 86400, "2w"), (90, "1m30s")],
)  # fmt: skip
def test_durations_are_named_as_prometheus_names_them(seconds: int, text: str) -> None:
    assert prom_duration(seconds) == text


def test_oracle_catches_a_changed_factor() -> None:
    """The comparison can fail: one burn factor off in our rules is a named difference."""
    slo = next(s for s in config_slos(ObsConfig(SEED_CONFIG)) if s.id.endswith("availability"))
    theirs, refusal = oracle.sloth_groups(slo)
    assert not refusal and oracle.compare(rules.rule_groups([slo])["groups"], theirs) == []
    ours = rules.rule_groups([slo])["groups"]
    page = next(
        r for g in ours for r in g["rules"] if r.get("labels", {}).get("sloth_severity") == "page"
    )
    page["expr"] = page["expr"].replace("(14.4 *", "(14.5 *", 1)
    problems = oracle.compare(ours, theirs)
    assert len(problems) == 1 and "14.5" in problems[0] and "14.4" in problems[0], problems


def _bash(script: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [shutil.which("bash") or "/bin/bash", str(script)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=60)


def _script_copy(tmp_path: Path) -> Path:
    install = tmp_path / "scripts" / "install"
    install.mkdir(parents=True)
    for name in ("sloth.sh", "versions.env"):
        shutil.copy(REPO_ROOT / "scripts" / "install" / name, install / name)
    return install / "sloth.sh"


def test_sloth_install_is_idempotent() -> None:
    """A second run builds nothing and says so (the first ran in scripts/install-backends)."""
    script = REPO_ROOT / "scripts" / "install" / "sloth.sh"
    if not (CACHE_BIN / "sloth").exists():
        pytest.fail("sloth is not installed: run scripts/install-backends")
    out = _bash(script)
    assert out.returncode == 0 and "nothing built" in out.stdout, out.stdout + out.stderr


def test_sloth_install_without_go_says_what_to_do(tmp_path: Path) -> None:
    """On a PATH with the script's tools but no Go: one line, what to install, exit 1."""
    script = _script_copy(tmp_path)
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("dirname", "cat", "mkdir", "date", "nice", "cut"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    out = _bash(script, env={"PATH": str(tools), "HOME": str(tmp_path)})
    assert out.returncode == 1, out.stdout + out.stderr
    assert "needs Go" in out.stderr and "scripts/install-backends" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr

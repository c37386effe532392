"""The N-fold benchmark config: copies that must judge exactly as their originals."""

from __future__ import annotations

from pathlib import Path

from obsgate.config import ObsConfig
from obsgate.scenarios.model import load_scenarios
from tools.nfold import compare, make


def test_three_fold_triples_rules_and_scenarios(tmp_path: Path) -> None:
    one = make(1, tmp_path / "one", Path("fixtures/config/mindweave"))
    three = make(3, tmp_path / "three", Path("fixtures/config/mindweave"))
    assert three == (3 * one[0], 3 * one[1])
    config = ObsConfig(tmp_path / "three")
    names = [r.name for r in config.alert_rules()]
    assert len(names) == len(set(names)) == three[0]  # every copy its own name
    scenarios = load_scenarios(tmp_path / "three" / "scenarios" / "alerts")
    assert {s.alert for s in scenarios} <= set(names)


def junit(path: Path, cases: dict[str, str]) -> Path:
    body = "".join(
        f'<testcase classname="suites.alerts.test_alerts_live" name="{name}">'
        + ('<failure message="x"/>' if outcome == "failed" else "")
        + "</testcase>"
        for name, outcome in cases.items()
    )
    path.write_text(f"<testsuites><testsuite>{body}</testsuite></testsuites>")
    return path


def test_compare_names_a_copy_judged_differently(tmp_path: Path) -> None:
    same = junit(tmp_path / "a.xml", {"t[x]": "passed", "t[x-copy2]": "passed"})
    assert compare(same) == []
    differs = junit(tmp_path / "b.xml", {"t[x]": "passed", "t[x-copy2]": "failed"})
    assert compare(differs) == [
        "suites.alerts.test_alerts_live::t[x-copy2]: failed, its original passed"
    ]

"""Bad input gets one clear line and a failing exit: never a traceback, never a silent pass.

A user who points the gate at their own config, or mistypes an option, must learn what to fix
from one line; a gate that passes because promtool was missing would bless anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gate_subprocess import RULES, GateRun, clean_env, copy_config, edit, run_gate

NOT_LIVE = ("-k", "not live")
SLOS = Path("slo") / "mindweave-slos.yaml"


def line_with(run: GateRun, *needles: str) -> str:
    """The one output line that holds every needle (the user's one clear line)."""
    lines = [line for line in run.output.splitlines() if all(n in line for n in needles)]
    assert lines, f"no line with all of {needles}\n{run.describe()}"
    return lines[0]


def assert_failed_cleanly(run: GateRun) -> None:
    assert run.returncode not in (0, 5), run.describe()  # 5: nothing ran, also not a pass
    assert "Traceback" not in run.output, run.describe()


def test_rule_file_yaml_error_names_file_and_line(tmp_path: Path) -> None:
    """A typo in the rules must point at its line, not at the gate's own code."""
    config = copy_config(tmp_path / "config")
    rules = config / RULES
    anchor = "> 0.05\n        for: 5m\n"  # HighErrorRate's `for:` line
    line = rules.read_text().split(anchor)[0].count("\n") + 2
    edit(rules, anchor, anchor.replace("for: 5m", "for: 5m: x"))
    run = run_gate("--obs-config", str(config), *NOT_LIVE)
    assert_failed_cleanly(run)
    # As a usage error before collection or as each test's ConfigError: either way, one line.
    line_with(run, f"mindweave-alerts.yaml:{line}:", "fix the YAML syntax")


def test_malformed_slo_file_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    edit(config / SLOS, "objective: 99.9\n", "objective: [99.9\n")
    run = run_gate(f"--obs-config={config}", "--stack=process", "-k", "budget", suite="suites/slo")
    assert run.returncode not in (0, 5), run.describe()
    assert "Traceback" not in run.output, run.describe()
    assert "mindweave-slos.yaml:" in run.output and "fix the YAML syntax" in run.output, (
        run.describe()
    )


def test_a_typo_in_a_relabel_rule_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    """Prometheus' own relabel types read the scrape config: a mistyped key inside a rule is
    what Prometheus would refuse, said once with the file and the line."""
    config = copy_config(tmp_path / "config")
    prometheus_yaml = config / "prometheus" / "prometheus.yaml"
    anchor = "target_label: kubernetes_namespace"
    line = prometheus_yaml.read_text().split(anchor)[0].count("\n") + 1
    edit(prometheus_yaml, anchor, "target_lable: kubernetes_namespace")
    run = run_gate(f"--obs-config={config}", "-k", "scrape_config_attaches")
    assert_failed_cleanly(run)
    line_with(run, "prometheus.yaml:", f"line {line}: field target_lable not found")


def test_unknown_stack_names_the_allowed_values() -> None:
    run = run_gate("--stack", "nonsense", *NOT_LIVE)
    assert_failed_cleanly(run)
    line_with(run, "nonsense", "auto", "process", "containers", "external")


def test_missing_config_dir_is_named() -> None:
    run = run_gate("--obs-config", "/nonexistent", *NOT_LIVE)
    assert_failed_cleanly(run)
    line_with(run, "/nonexistent", "no such directory")


def test_missing_promtool_names_the_variable() -> None:
    """PROMTOOL pointing nowhere is the user's setting to fix, so the message names it."""
    run = run_gate("-k", "exact", env=clean_env(PROMTOOL="/nonexistent/promtool"))
    assert_failed_cleanly(run)
    line_with(run, "ERROR: PROMTOOL=/nonexistent/promtool", "unset PROMTOOL")
    assert run.returncode == 4 and " passed" not in run.output, run.describe()  # before any test


def test_missing_promtool_is_not_a_pass_for_finding_scenarios() -> None:
    """A finding's strict xfail expects the intent to fail, not the tool to be absent."""
    run = run_gate(
        "-k", "exact and budget-threshold-fires", env=clean_env(PROMTOOL="/nonexistent/promtool")
    )
    assert run.returncode != 0, run.describe()


def _bad_values_run(tmp_path: Path) -> GateRun:
    config = copy_config(tmp_path / "config")
    edit(
        config / "scenarios" / "alerts" / "availability.yaml",
        "values: '1x4 0x5 1x5'",
        "values: '1x4 0+x5 1x5'",
    )
    return run_gate("--obs-config", str(config), *NOT_LIVE)


def test_bad_scenario_values_name_file_and_scenario(tmp_path: Path) -> None:
    """A scenario typo must name the scenario, since many share one file."""
    run = _bad_values_run(tmp_path)
    assert_failed_cleanly(run)
    line_with(run, "availability.yaml", "'service-down-fires'", "'0+x5'")


def test_bad_scenario_values_show_no_stack_frames(tmp_path: Path) -> None:
    """The docstring promises 'a bad file stops the run in one line'."""
    run = _bad_values_run(tmp_path)
    assert "obsgate/scenarios/params.py:" not in run.output, run.describe()


def test_containers_backend_without_a_daemon_names_start_dockerd() -> None:
    """With no Docker engine, a test that needs a server fails saying how to start one."""
    run = run_gate(
        "--stack",
        "containers",
        "-k",
        "semantics",
        suite="suites/inhibition",
        env=clean_env(DOCKER_HOST="unix:///nonexistent/docker.sock"),
    )
    assert_failed_cleanly(run)
    line_with(run, "--stack containers", "no Docker daemon answers", "scripts/start-dockerd")


BAD_VALUES = [
    (("--time-scale", "nan"), {}, "--time-scale"),
    (("--time-scale", "inf"), {}, "--time-scale"),
    (("--time-scale", "abc"), {}, "--time-scale"),
    (("--time-scale", "0.5"), {}, "--time-scale"),
    (("--fast-lane", "0"), {}, "--fast-lane"),
    (("--fast-lane", "fast"), {}, "--fast-lane"),
    (("--load-time-scale", "nan"), {}, "--load-time-scale"),
    (("--load-users", "2.5"), {}, "--load-users"),
    (("--load-run-time", "inf"), {}, "--load-run-time"),
    ((), {"OBS_TIME_SCALE": "abc"}, "OBS_TIME_SCALE"),
    ((), {"OBS_TIME_SCALE": "nan"}, "OBS_TIME_SCALE"),
    ((), {"OBS_TIME_SCALE": "inf"}, "OBS_TIME_SCALE"),
    ((), {"OBS_FAST_LANE": "nan"}, "OBS_FAST_LANE"),
    ((), {"OBS_STACK": "bogus"}, "OBS_STACK"),
    (("--figures", "some"), {}, "--figures"),
    ((), {"OBS_GATE_FIGURES": "sometimes"}, "OBS_GATE_FIGURES"),
]


@pytest.mark.parametrize(
    ("args", "env", "named"), BAD_VALUES, ids=[f"{a}{e}" for a, e, _ in BAD_VALUES]
)
def test_a_bad_value_is_one_usage_line_naming_it(
    args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    run = run_gate(*args, *NOT_LIVE, env=clean_env(**env))
    assert run.returncode == 4, run.describe()
    assert "Traceback" not in run.output and " passed" not in run.output, run.describe()
    lines = [ln for ln in run.output.splitlines() if named in ln and "error" in ln.lower()]
    assert lines, run.describe()


def test_a_rule_promtool_refuses_stops_the_run_naming_the_users_file(tmp_path: Path) -> None:
    """Caught before any server starts, by Prometheus' own checker, in the user's file."""
    config = copy_config(tmp_path / "config")
    edit(config / RULES, 'summary: "High error rate detected"', 'summary: "{{ $labels.x oops"')
    run = run_gate("--obs-config", str(config), "-k", "alerts")
    assert run.returncode == 4, run.describe()
    line = line_with(run, "ERROR: promtool check rules:", str(config / RULES), "HighErrorRate")
    assert "rules-scaled" not in run.output and "servers used" not in run.output, run.describe()
    assert line.count("\n") == 0


# Places in an Alertmanager config where a host is reached that the adapter does not
# rewrite to the local sink: (anchor line, lines added after it, the path the refusal names).
NON_LOOPBACK_PLACES = [
    ("global:\n", "  http_config:\n    proxy_url: http://10.9.8.7:3128/s3cret\n",
     "global.http_config.proxy_url"),
    ("      - channel: '#alerts-general'\n",
     "        http_config:\n          proxy_url: http://proxy.example.com:8080/s3cret\n",
     "receivers[0].slack_configs[0].http_config.proxy_url"),
    ("      - service_key: '${PAGERDUTY_SERVICE_KEY_CRITICAL}'\n",
     "        http_config:\n          oauth2:\n            client_id: gate\n"
     "            client_secret: x\n            token_url: https://auth.example.com/s3cret\n",
     "receivers[1].pagerduty_configs[0].http_config.oauth2.token_url"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("anchor", "added", "path"), NON_LOOPBACK_PLACES, ids=[p[2] for p in NON_LOOPBACK_PLACES]
)
def test_a_non_loopback_host_is_refused_before_any_server_starts(
    tmp_path: Path, anchor: str, added: str, path: str
) -> None:
    """A host the adapter does not rewrite (a proxy, an OAuth token endpoint) stops the run
    before anything starts; the message names the path and the host, never the URL's path
    (it may be a secret)."""
    config = copy_config(tmp_path / "config")
    am = config / "alertmanager" / "alertmanager.yaml"
    text = am.read_text()
    assert text.count(anchor) == 1
    am.write_text(text.replace(anchor, anchor + added))
    run = run_gate("--obs-config", str(config), "-k", "routing")
    assert run.returncode == 4, run.describe()
    line_with(run, "ERROR: refusing to start Alertmanager", path)
    assert "s3cret" not in run.output and "servers used" not in run.output, run.describe()


def test_a_promql_syntax_error_names_the_line_column_and_token(tmp_path: Path) -> None:
    """Not only "invalid promql query": Prometheus' checker says where in the expression."""
    config = copy_config(tmp_path / "config")
    edit(config / RULES, "> 0.05", "> > 0.05")
    run = run_gate("--obs-config", str(config), "-k", "alerts")
    assert run.returncode == 4, run.describe()
    line_with(run, "ERROR:", str(config / RULES), "HighErrorRate", "parse error", "<op:>>")


def test_an_alertmanager_error_names_the_users_file_and_line(tmp_path: Path) -> None:
    """amtool reads the user's own file (its ${VARS} filled in place), so its line numbers
    are the user's, never those of the gate's adapted copy."""
    config = copy_config(tmp_path / "config")
    am = config / "alertmanager" / "alertmanager.yaml"
    line = next(i for i, t in enumerate(am.read_text().splitlines(), 1) if "group_wait" in t)
    edit(am, "  group_wait: 30s", "  grup_wait: 30s")
    run = run_gate("--obs-config", str(config), "-k", "routing")
    assert run.returncode == 4, run.describe()
    line_with(run, f"ERROR: amtool check-config {am}:", f"line {line}: field grup_wait")
    assert "servers used" not in run.output, run.describe()

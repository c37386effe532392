"""Unit tests of the harness pieces every suite trusts, run against the real tools and servers
where a fake would only repeat our own assumptions (promtool, Redis, real processes)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from hypothesis import given
from hypothesis import strategies as st

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import ConfigError, GateError, ServiceError
from obsgate.promql import output_labels, scale_expr
from obsgate.scenarios.live import same_but_numbers
from obsgate.scenarios.model import expand_values, load_scenarios
from obsgate.scenarios.targets import LEAD, ScenarioTargets
from obsgate.stack import redis as rd
from obsgate.stack.loopback import non_loopback_hosts, require_loopback
from obsgate.stack.process import ManagedProcess, free_port, stop_process_group
from obsgate.tools import find_binary, promtool

REPO_ROOT = Path(__file__).resolve().parents[2]
GUARD = REPO_ROOT / "obsgate" / "stack" / "guard.py"
ALERT_RULES = ObsConfig(DEFAULT_CONFIG_DIR).alert_rules()


def write_yaml(path: Path, doc: object) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def gone_within(pid: int, seconds: float) -> bool:
    """True once `pid` no longer exists (an orphan may take a moment to be reaped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


# -- expand_values: promtool's expanding notation -------------------------------------------


def test_expand_values_follows_promtool_notation() -> None:
    """promtool's docs: 'a+bxn' is n+1 values, 'axn' repeats a n+1 times, '_xn' is n blanks."""
    assert expand_values("1+1x3") == [1, 2, 3, 4]
    assert expand_values("1x3") == [1, 1, 1, 1]
    assert expand_values("5-2x2") == [5, 3, 1]
    assert expand_values("_x3") == [None, None, None]
    assert expand_values("stale") == [None]
    assert expand_values("0+10x1 _ stale 7") == [0, 10, None, None, 7]


@given(
    a=st.integers(-(10**6), 10**6),
    b=st.integers(0, 10**4),
    n=st.integers(0, 200),
    op=st.sampled_from("+-"),
)
def test_expand_values_is_arithmetic(a: int, b: int, n: int, op: str) -> None:
    """Every 'a±bxn' is exactly n+1 evenly spaced values starting at a."""
    values = expand_values(f"{a}{op}{b}x{n}")
    step = b if op == "+" else -b
    assert values == [a + step * i for i in range(n + 1)]


def test_expand_values_agrees_with_real_promtool(tmp_path: Path) -> None:
    """Our expansion puts every sample at the step where promtool's own loader puts it."""
    texts = ["1+1x3 9", "1x3 7", "1 _x3 5", "1 stale 5", "5-2x2 0", "0+10x3 _x2 stale 5"]
    rules = write_yaml(tmp_path / "rules.yaml", {"groups": []})
    checks = [
        {
            "expr": f'x{{case="{i}"}}',
            "eval_time": f"{step}m",
            "exp_samples": [{"labels": f'x{{case="{i}"}}', "value": value}],
        }
        for i, text in enumerate(texts)
        for step, value in enumerate(expand_values(text))
        if value is not None
    ]
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'x{{case="{i}"}}', "values": t} for i, t in enumerate(texts)
                ],
                "promql_expr_test": checks,
            }
        ],
    }
    result = promtool.test_rules(write_yaml(tmp_path / "expand.test.yaml", test))
    assert result.ok, result.describe()


# -- promql.scale_expr and output_labels ----------------------------------------------------


def test_every_shipped_alert_scaled_by_240_passes_promtool(tmp_path: Path) -> None:
    """The live layer loads exactly this shape into Prometheus; promtool must accept it."""
    rules = [
        {"alert": r.name, "expr": scale_expr(r.expr, 240, "scenario", r.name), "for": "1250ms"}
        for r in ALERT_RULES
    ]
    path = write_yaml(tmp_path / "scaled.yaml", {"groups": [{"name": "scaled", "rules": rules}]})
    result = promtool.check_rules(path)
    assert result.ok, result.describe()
    assert f"SUCCESS: {len(rules)} rules found" in result.output, result.describe()


@pytest.mark.parametrize("rule", ALERT_RULES, ids=[r.name for r in ALERT_RULES])
def test_isolation_label_survives_every_aggregation(rule) -> None:  # type: ignore[no-untyped-def]
    """Concurrent scenarios stay apart only if each aggregation keeps the isolation label."""
    before = output_labels(rule.expr)
    after = output_labels(scale_expr(rule.expr, 240, "scenario"))
    assert after == (None if before is None else before | {"scenario"})


def test_scale_by_one_evaluates_like_the_original(tmp_path: Path) -> None:
    """Factor 1 without isolation must be the same query, judged by promtool's engine."""
    (rule,) = [r for r in ALERT_RULES if r.name == "HighErrorRate"]
    scaled = scale_expr(rule.expr, 1, None)
    assert "[300000ms]" in scaled
    rules = write_yaml(tmp_path / "rules.yaml", {"groups": []})
    ns = 'namespace="mindweave-services"'
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'http_requests_total{{{ns},status_code="500"}}',
                        "values": "0+6x20",
                    },
                    {
                        "series": f'http_requests_total{{{ns},status_code="200"}}',
                        "values": "0+94x20",
                    },
                ],
                "promql_expr_test": [
                    # non-empty: 6% is above the 5% threshold, so `== bool` compares values
                    {
                        "expr": f"({scaled}) == bool ({rule.expr})",
                        "eval_time": "10m",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    },
                ],
            }
        ],
    }
    result = promtool.test_rules(write_yaml(tmp_path / "same.test.yaml", test))
    assert result.ok, result.describe()


def test_scaling_divides_ranges_and_rates_and_isolates() -> None:
    assert "[300000ms]" in scale_expr("sum(rate(x[5m]))", 1, None)
    scaled = scale_expr("sum(rate(x[5m])) by (pod)", 240, "scenario")
    assert "by (pod, scenario)" in scaled
    assert "[1250ms]" in scaled
    assert re.search(r"rate\(x\{\}\[1250ms\]\) / 240\)", scaled), scaled


def test_increase_is_a_count_and_is_not_divided() -> None:
    scaled = scale_expr("increase(x[1h])", 240, None)
    assert scaled == "increase(x{}[15000ms])"


@pytest.mark.parametrize(
    ("expr", "labels"),
    [
        ("sum(x)", frozenset()),
        ("sum(x) by (pod)", frozenset({"pod"})),
        ("x > 1", None),
        ("histogram_quantile(0.99, sum(rate(b[5m])) by (le, service))", frozenset({"service"})),
        ("sum without (a) (sum by (a, b) (x))", frozenset({"b"})),
        ("1 - sum(x) by (job)", frozenset({"job"})),
        ("sum by (a, b) (x) / on (a) group_right sum by (a) (y)", frozenset({"a"})),
    ],
)
def test_output_labels(expr: str, labels: frozenset[str] | None) -> None:
    """What `{{ $labels.x }}` can render; None means the series' own labels pass through."""
    assert output_labels(expr) == labels


# -- loopback --------------------------------------------------------------------------------

REMOTE = {
    "global": {"smtp_smarthost": "smtp.sendgrid.net:587"},
    "receivers": [{"name": "slack", "webhook_configs": [{"url": "https://hooks.slack.com/T/B"}]}],
    "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]},
}
LOCAL = {
    "global": {"smtp_smarthost": "localhost:25"},
    "receivers": [{"name": "sink", "webhook_configs": [{"url": "http://127.0.0.1:9/hook"}]}],
    "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]},
    "remote_write": [{"url": "http://[::1]:9201/write"}],
    "annotations": {"description": "lag is high:10"},  # not a host key: text, not a host
}


def test_non_loopback_hosts_are_named_by_path() -> None:
    assert sorted(non_loopback_hosts(REMOTE)) == [
        "alerting.alertmanagers[0].static_configs[0].targets[0]: alertmanager:9093",
        "global.smtp_smarthost: smtp.sendgrid.net:587",
        "receivers[0].webhook_configs[0].url: https://hooks.slack.com/T/B",
    ]


def test_require_loopback_refuses_before_start() -> None:
    with pytest.raises(GateError) as err:
        require_loopback(REMOTE, "alertmanager", "alertmanager.yaml")
    for host in ("hooks.slack.com", "smtp.sendgrid.net:587", "alertmanager:9093"):
        assert host in str(err.value)
    assert "alertmanager.yaml" in str(err.value)


def test_loopback_hosts_pass() -> None:
    assert non_loopback_hosts(LOCAL) == []
    require_loopback(LOCAL, "prometheus", "test")


def test_dns_name_that_starts_with_127_is_not_loopback() -> None:
    config = {"url": "https://127.example.com/hook", "targets": ["127.example.com:9093"]}
    assert len(non_loopback_hosts(config)) == 2


# -- ScenarioTargets -------------------------------------------------------------------------

TINY = """\
scenarios:
  - id: tiny
    alert: Tiny
    interval: 1m
    series:
      - series: 'queue_depth{queue="q1"}'
        values: '42x10'
      - series: 'requests_total{path="/a"}'
        values: '100+60x10'
      - series: 'up{job="svc",instance="10.0.0.1:80"}'
        values: '0x10'
    expect:
      - at: 5m
        firing: []
"""


def _samples(text: str) -> dict[str, float]:
    """`name{labels} value timestamp_ms` lines; every sample must carry a current timestamp."""
    samples = {}
    for line in text.splitlines():
        name, value, stamp = line.rsplit(" ", 2)
        assert abs(int(stamp) / 1000 - time.time()) < 5, f"stale or missing timestamp: {line}"
        samples[name] = float(value)
    return samples


def test_scenario_targets_serve_values_and_failed_scrapes(tmp_path: Path) -> None:
    """At factor 600 one simulated minute is 0.1 s: values at t≈0 (plus the lead), a 503
    while `up` is 0, and both gone (series absent, target answering) once the values end
    after 1.1 s."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    (scenario,) = load_scenarios(tmp_path)
    targets = ScenarioTargets([scenario], 600, "scenario", "t.")
    targets.start()
    try:
        base = f"http://{targets.address}/s/tiny"
        first = requests.get(f"{base}/metrics", timeout=5)
        down = requests.get(f"{base}/up/2", timeout=5)
        assert first.status_code == 200
        samples = _samples(first.text)
        assert samples['queue_depth{queue="q1"}'] == 42
        # rising, interpolated; served for LEAD scrapes (one a simulated minute) ahead
        lead = 60 * LEAD
        assert 100 + lead <= samples['requests_total{path="/a"}'] < 106 + lead
        assert not any(name.startswith("up") for name in samples)  # `up` is a target, not data
        assert down.status_code == 503
        assert (
            requests.get(f"http://{targets.address}/s/nope/metrics", timeout=5).status_code == 404
        )
        sd = targets.file_sd(scenario)
        assert sd[0]["labels"]["__metrics_path__"] == "/s/tiny/metrics"
        assert (
            sd[1]["labels"] | {"scenario": "t.tiny", "__metrics_path__": "/s/tiny/up/2"}
            == sd[1]["labels"]
        )
        time.sleep(1.5)
        assert requests.get(f"{base}/metrics", timeout=5).text.strip() == ""
        assert requests.get(f"{base}/up/2", timeout=5).status_code == 200
    finally:
        targets.stop()


# -- same_but_numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("want", "got", "same"),
    [
        ("Error rate is 6% (threshold: 5%)", "Error rate is 5.996% (threshold: 5%)", True),
        ("Error rate is 6% (threshold: 5%)", "Error rate is 7% (threshold: 5%)", False),
        ("P99 latency is 2.5s", "P99 latency is 2.5ms", False),
        ("lag 12000 messages", "lag 12000 messages for", False),
        ("no numbers", "no numbers", True),
        ("1e3 calls", "1000 calls", True),  # a number, however Go formats it
    ],
)
def test_same_but_numbers(want: str, got: str, same: bool) -> None:
    """Live `$value` drifts in its last digits, never in units, words or magnitude."""
    assert same_but_numbers(want, got) is same


def test_same_but_numbers_tolerance_is_relative() -> None:
    assert same_but_numbers("x 100", "x 109")
    assert not same_but_numbers("x 100", "x 115")
    assert same_but_numbers("x 100", "x 115", tolerance=0.2)


# -- processes: ManagedProcess, Redis, guard -------------------------------------------------


def _redis_info_pid(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"INFO server\r\n")
        data = b""
        while b"process_id:" not in data or not data.endswith(b"\r\n"):
            data += sock.recv(65536)
    return int(re.search(rb"process_id:(\d+)", data).group(1))  # type: ignore[union-attr]


def test_redis_start_process_answers_ping(tmp_path: Path) -> None:
    """The process backend's Redis: on loopback, ready when it says so, stoppable by its pid."""
    endpoint = rd.start_process(tmp_path)
    try:
        assert endpoint.host == "127.0.0.1"
        assert rd.ping(endpoint.port)
        assert endpoint.log_path and Path(endpoint.log_path).exists()
        assert "Redis" in endpoint.version
        server_pid = _redis_info_pid(endpoint.port)
    finally:
        assert endpoint.pid is not None
        stop_process_group(endpoint.pid)
    assert gone_within(endpoint.pid, 3)
    assert gone_within(server_pid, 3)


def test_managed_process_stop_leaves_no_process(tmp_path: Path) -> None:
    """stop() ends the guard and the server under it, not only the process we started."""
    port = free_port()
    binary = find_binary(["redis-server"], "REDIS_SERVER_BIN", "redis-server")
    proc = ManagedProcess(
        "redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""], tmp_path
    ).start()
    try:
        proc.wait_ready(lambda: rd.ping(port), f"Redis PING on {port}", timeout=30)
        server_pid = _redis_info_pid(port)
    finally:
        proc.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    assert gone_within(server_pid, 3)


def test_readiness_timeout_names_what_it_waited_for(tmp_path: Path) -> None:
    proc = ManagedProcess("sleeper", ["sleep", "30"], tmp_path).start()
    try:
        with pytest.raises(ServiceError, match=r"sleeper: gave up after 1s waiting for the moon"):
            proc.wait_ready(lambda: False, "the moon", timeout=1)
        assert gone_within(proc.pid, 3), "a server that never got ready must not be left running"
    finally:
        proc.stop()


def test_process_that_exits_at_once_reports_its_status(tmp_path: Path) -> None:
    proc = ManagedProcess("falsy", ["false"], tmp_path).start()
    try:
        with pytest.raises(ServiceError, match=r"falsy exited with status 1 before the moon"):
            proc.wait_ready(lambda: False, "the moon", timeout=10)
    finally:
        proc.stop()


def _children(pid: int, timeout: float = 5) -> list[int]:
    """The child pids of `pid`, once it has one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if text:
                return [int(p) for p in text]
        time.sleep(0.05)
    return []


def test_guard_ends_the_server_when_its_owner_dies() -> None:
    """A gate killed with SIGKILL must not leave a server bound to a port."""
    owner = subprocess.Popen(["sleep", "60"])
    guard = subprocess.Popen([sys.executable, str(GUARD), str(owner.pid), "--", "sleep", "60"])
    try:
        (server,) = _children(guard.pid)
        owner.kill()
        owner.wait()  # reaped: a zombie owner would still look alive to os.kill(pid, 0)
        assert gone_within(server, 3)
        guard.wait(timeout=3)
    finally:
        for p in (owner, guard):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_guard_usage_error() -> None:
    """Run wrongly, the guard says how to run it instead of starting something unguarded."""
    out = subprocess.run(
        [sys.executable, str(GUARD), "sleep", "1"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 2
    assert "usage: guard.py OWNER_PID -- ARGV" in out.stderr


# -- findings pin their failure ----------------------------------------------------------------


def test_a_finding_without_the_text_its_failure_shows_is_refused(tmp_path: Path) -> None:
    """Without `finding_shows`, any failure would pass as the finding: refuse the file."""
    (tmp_path / "f.yaml").write_text(
        "scenarios:\n"
        "  - id: f\n    alert: A\n    interval: 1m\n"
        "    series: [{series: 'm{a=\"1\"}', values: '1x3'}]\n"
        "    expect: [{at: 1m, firing: []}]\n"
        "    finding: the rule does something else\n"
    )
    with pytest.raises(ConfigError, match="finding_shows"):
        load_scenarios(tmp_path)


@pytest.mark.parametrize(
    ("holds", "observed", "outcome"),
    [(True, False, "failed"), (False, True, "xfailed"), (False, False, "failed")],
)
def test_judge_with_finding(holds: bool, observed: bool, outcome: str) -> None:
    """Fixed finding: fail (remove it). Broken as pinned: xfail. Broken otherwise: fail."""
    from _pytest.outcomes import Failed, XFailed

    from obsgate.findings import judge_with_finding

    expected = {"failed": (Failed, AssertionError), "xfailed": (XFailed,)}[outcome]
    with pytest.raises(expected) as raised:
        judge_with_finding(holds, "a finding", observed, True, "intent broken", finding_id="f-1")
    if outcome == "xfailed":
        assert str(raised.value) == "finding: f-1: a finding"


def test_k_alerts_selects_the_alerts_suite_alone(tmp_path: Path) -> None:
    """`pytest -k alerts` is the quick local loop: it must select no other suite's test."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites",
            "-k",
            "alerts",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=-p no:locust",
            "--reports-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env={k: v for k, v in os.environ.items() if not k.startswith(("OBS_", "PYTEST_"))},
    )
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids, out.stdout + out.stderr
    others = [i for i in ids if not i.startswith("suites/alerts/")]
    assert not others, f"-k alerts also selects: {others}"

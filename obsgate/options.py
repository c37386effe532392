"""The gate's options and environment values: registered, validated and read here.

The bottom layer: it imports nothing else of the gate, so any module may read an option
through it without importing the plugin.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import pytest

STACKS = ("auto", "process", "containers", "external")
# Which Prometheus and Alertmanager judge the config (obsgate/tools/versions_line.py): the
# releases teams run today, built from source, or Debian bookworm's packages.
SERVER_VERSIONS = ("current", "debian")
# The suites (and benchmarks) by marker: `pytest -k alerts` or `-m load` selects one.
SUITE_MARKERS = {
    "alerts": "alert rules fire exactly when they should (promtool and live Prometheus)",
    "routing": "Alertmanager routes each alert to the promised receivers",
    "inhibition": "inhibit rules suppress what they claim",
    "slo": "SLO math: budgets, burn rates, multi-window alerts",
    "redaction": "no secret reaches the log store",
    "tracing": "one trace across HTTP, Kafka and Redis into Jaeger",
    "metrics": "metric names, labels and buckets are served",
    "dashboards": "every dashboard query parses and returns data",
    "load": "Locust load gate with thresholds from the SLOs",
    "capacity": "benchmark: the gateway's sustained rate within its SLOs, Locust and wrk",
}
DEFAULT_SERVER_VERSIONS = "current"
SERVER_VERSIONS_ENV = "OBS_SERVER_VERSIONS"
DEFAULT_TIME_SCALE = 240.0
# The fast lane's time scale as a multiple of --time-scale: long scenarios of rules without
# a short feature replay this much faster (obsgate/scenarios/lanes.py); 1 turns it off.
DEFAULT_FAST_LANE = 3.0
FAST_LANE_ENV = "OBS_FAST_LANE"
# Which tests' figures are drawn: drawing takes 0.1 s a figure in the test process, so on a
# config with hundreds of scenarios it is most of the alerts suite's time.
FIGURES = ("all", "failed", "off")
FIGURES_ENV = "OBS_GATE_FIGURES"
FIGURE_SECONDS_ATTR = "obs_figure_seconds"  # a test report's seconds spent drawing figures
DEFAULT_REPORTS_DIR = "reports"  # relative to where pytest is started
JUNIT_REPORT = "junit.xml"
HTML_REPORT = "report.html"
# Services whose URL --stack external takes (kafka as kafka://host:port).
EXTERNAL_SERVICES = ("prometheus", "alertmanager", "redis", "jaeger", "elasticsearch", "kafka")
PACKAGE_DIR = Path(__file__).resolve().parent
# A checkout keeps the seed's config in fixtures/; a wheel carries it as obsgate/examples.
_DEFAULT_CONFIG_CANDIDATES = (
    PACKAGE_DIR.parent / "fixtures" / "config" / "mindweave",
    PACKAGE_DIR / "examples" / "mindweave",
)
DEFAULT_CONFIG_DIR = next(
    (p for p in _DEFAULT_CONFIG_CANDIDATES if p.is_dir()), _DEFAULT_CONFIG_CANDIDATES[0]
)
# Suites and the load gate: top-level in a checkout, obsgate/suites in a wheel.
_SUITE_CANDIDATES = (
    (PACKAGE_DIR.parent / "suites", PACKAGE_DIR.parent / "loadtests"),
    (PACKAGE_DIR / "suites", PACKAGE_DIR / "loadtests"),
)


def suite_paths() -> tuple[Path, Path]:
    """Where the gate's suites and load gate are, whether checked out or installed."""
    for suites, loadtests in _SUITE_CANDIDATES:
        if suites.is_dir():
            return suites, loadtests
    raise FileNotFoundError(f"the gate's suites are missing from {PACKAGE_DIR} (reinstall it)")


def _time_scale(text: str) -> float:
    """A finite factor of at least 1; argparse turns the ValueError into one usage line."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"{text!r}: give a finite factor of at least 1 (1 means real time)")
    return value


def number_at_least(minimum: float, kind: type = float) -> Callable[[str], float]:
    """An argparse type: a finite number (an int where `kind` is int) of at least `minimum`;
    nan, inf and words are refused in one usage line naming the option."""

    def parse(text: str) -> float:
        value = kind(text)  # ValueError for words: argparse says "invalid ... value"
        if not math.isfinite(value) or value < minimum:
            raise ValueError(text)
        return value

    parse.__name__ = f"{'whole ' if kind is int else ''}number >= {minimum:g}"
    return parse


def time_scale_value(text: str) -> float:
    """`--time-scale` and OBS_TIME_SCALE, validated the same way."""
    return _time_scale(text)


time_scale_value.__name__ = "time scale"  # argparse names the type in its error


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("obs", "observability gate")
    group.addoption(
        "--obs-install-plan",
        metavar="FILE",
        help="write what the selected tests need installed to FILE (one `STEP SUITES` line "
        "each, for scripts/install-backends) and exit without running them",
    )
    group.addoption(
        "--self-test",
        action="store_true",
        help="instead of the tests, run `obs-gate self-test` on the --obs-config dir: the "
        "kill rate of one-line mutants, in <reports-dir>/self-test.md (docs/self-test.md)",
    )
    group.addoption(
        "--obs-config",
        default=os.environ.get("OBS_CONFIG_DIR"),
        help="config dir under test, relative to where you run pytest (env OBS_CONFIG_DIR; "
        "default: the seed's, fixtures/config/mindweave)",
    )
    group.addoption(
        "--stack",
        default=os.environ.get("OBS_STACK", "auto"),
        help=f"how servers run: {', '.join(STACKS)} (env OBS_STACK; default auto)",
    )
    group.addoption(
        "--server-versions",
        default=os.environ.get(SERVER_VERSIONS_ENV) or DEFAULT_SERVER_VERSIONS,
        help="which Prometheus, promtool, Alertmanager and amtool judge the config: current "
        "(3.16.0 and 0.35.0, built by scripts/install-backends) or debian (Debian's 2.42 and "
        f"0.25) (env {SERVER_VERSIONS_ENV}; default {DEFAULT_SERVER_VERSIONS})",
    )
    group.addoption(
        "--time-scale",
        type=time_scale_value,
        default=None,
        help="live layer: every rule duration is divided by this factor "
        f"(env OBS_TIME_SCALE; default {DEFAULT_TIME_SCALE:g})",
    )
    group.addoption(
        "--fast-lane",
        type=time_scale_value,
        default=None,
        help="live layer: long scenarios whose rules read nothing shorter than five minutes "
        "replay this many times faster than --time-scale (1: all at --time-scale) "
        f"(env {FAST_LANE_ENV}; default {DEFAULT_FAST_LANE:g})",
    )
    group.addoption(
        "--figures",
        default=os.environ.get(FIGURES_ENV),
        help="which tests get figures (timelines, exact scenarios, SLO burn, latency): all, "
        "failed (only the tests that did not pass: for a large config, whose hundreds of "
        f"figures take longer than its verdicts), or off (env {FIGURES_ENV}; default all)",
    )
    group.addoption(
        "--reports-dir",
        default=os.environ.get("OBS_REPORTS_DIR"),
        help="where every report goes: findings, coverage, logs (env OBS_REPORTS_DIR; "
        "default ./reports)",
    )
    for service in EXTERNAL_SERVICES:
        group.addoption(
            f"--{service}-url",
            default=os.environ.get(f"OBS_{service.upper()}_URL"),
            help=f"--stack external: URL of the {service} under test",
        )
    group.addoption(
        "--app-url",
        default=os.environ.get("OBS_APP_URL"),
        help="the MindWeave api-gateway under test instead of the reference app "
        "(env OBS_APP_URL; staging)",
    )


def validate(config: pytest.Config) -> None:
    """Every value checked once, before any server starts: one usage line, never a traceback."""
    stack = config.getoption("stack")
    if stack not in STACKS:
        raise pytest.UsageError(
            f"--stack {stack!r} (or OBS_STACK) is not one of {', '.join(STACKS)}"
        )
    versions = config.getoption("server_versions")
    if versions not in SERVER_VERSIONS:
        raise pytest.UsageError(
            f"--server-versions {versions!r} (or {SERVER_VERSIONS_ENV}) is not one of "
            f"{', '.join(SERVER_VERSIONS)}"
        )
    if figures(config) not in FIGURES:
        raise pytest.UsageError(
            f"--figures {figures(config)!r} (or {FIGURES_ENV}) is not one of {', '.join(FIGURES)}"
        )
    if config.getoption("time_scale") is None:
        text = os.environ.get("OBS_TIME_SCALE")
        try:
            value = _time_scale(text) if text else DEFAULT_TIME_SCALE
        except ValueError as exc:
            raise pytest.UsageError(f"OBS_TIME_SCALE={exc}") from None
        config.option.time_scale = value
    if config.getoption("fast_lane", default=None) is None:
        text = os.environ.get(FAST_LANE_ENV)
        try:
            config.option.fast_lane = _time_scale(text) if text else DEFAULT_FAST_LANE
        except ValueError as exc:
            raise pytest.UsageError(f"{FAST_LANE_ENV}={exc}") from None
    directory = config_dir(config)
    if not directory.is_dir():
        raise pytest.UsageError(
            f"--obs-config {directory}: no such directory (point it at your config dir; "
            "see docs/config.md for the layout)"
        )


def server_versions(config: pytest.Config) -> str:
    return str(config.getoption("server_versions", default=None) or DEFAULT_SERVER_VERSIONS)


def figures(config: pytest.Config) -> str:
    value = config.getoption("figures", default=None) or "all"
    return "all" if value == "on" else str(value)


def time_scale(config: pytest.Config) -> float:
    return float(config.getoption("time_scale") or DEFAULT_TIME_SCALE)


def fast_lane(config: pytest.Config) -> float:
    """The fast lane's multiple of the time scale; 1 on a stack the gate does not start."""
    if config.getoption("stack", default="auto") == "external":
        return 1.0
    return float(config.getoption("fast_lane", default=None) or DEFAULT_FAST_LANE)


def reports_dir(config: pytest.Config) -> Path:
    """Every artifact of the run goes under here; relative to where pytest was started."""
    value = config.getoption("reports_dir", default=None) or DEFAULT_REPORTS_DIR
    return (Path(config.invocation_params.dir) / value).resolve()


def config_dir(config: pytest.Config) -> Path:
    """The config under test; a relative DIR is read from where pytest was started."""
    value = config.getoption("obs_config", default=None)
    if not value:
        return DEFAULT_CONFIG_DIR
    return (Path(config.invocation_params.dir) / value).resolve()


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")

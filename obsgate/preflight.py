"""Before the first test: every binary the selected tests need is found and proven.

A missing or wrong binary would otherwise fail each test that needs it, one by one, or (a
wrong promtool) pass them. Found once, up front, it stops the run with one line per
problem, each naming what to install or which variable to fix.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from obsgate.config import AlertmanagerSource, ObsConfig
from obsgate.errors import ConfigError, GateError
from obsgate.options import SERVER_VERSIONS_ENV, SUITE_MARKERS

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What each suite marker or `needs` name requires locally, whatever the backend.
TOOLS_BY_MARK = {"alerts": ("promtool",), "routing": ("amtool",), "promtool": ("promtool",),
                 "promtool_config": ("promtool",),
                 "sloth": ("sloth",), "alertmanager": ("amtool",),
                 "gotemplate-check": ("gotemplate-check",),
                 "obs-relabel": ("obs-relabel",)}  # fmt: skip
# What the process backend runs locally for a server a test needs.
SERVERS = ("prometheus", "alertmanager", "redis", "kafka", "elasticsearch", "jaeger")
# Servers a suite starts in its own stack rather than through a `needs` fixture: the load
# gate's Prometheus and Alertmanager.
SERVERS_BY_MARK = {"load": ("prometheus", "alertmanager"),
                   "capacity": ("prometheus", "alertmanager")}  # fmt: skip
# Servers started with another: the run's Prometheus alerts to the run's Alertmanager.
SERVERS_STARTED_WITH = {"prometheus": ("alertmanager",)}


def _finders() -> dict[str, Callable[[], object]]:
    from obsgate.relabel.build import relabel_binary
    from obsgate.stack import alertmanager, jaeger, jvm, prometheus, redis
    from obsgate.tools import amtool, gotemplate, promtool, sloth, versions_line

    return {
        "promtool": promtool.binary,
        "promtool-all-sd": versions_line.promtool_all_sd,
        "amtool": amtool.binary,
        "sloth": sloth.binary,
        "prometheus": prometheus.prometheus_binary,
        "alertmanager": alertmanager.alertmanager_binary,
        "redis": redis.redis_binary,
        "jaeger": jaeger.jaeger_binary,
        "kafka": lambda: jvm.jar_dir("kafka", "KAFKA_LIB_DIR", "kafka_2.13-*.jar"),
        "elasticsearch": lambda: jvm.jar_dir(
            "elasticsearch", "ELASTICSEARCH_LIB_DIR", "elasticsearch-cluster-runner-*.jar"
        ),
        # The gate's own Go programs: built here, once per source into the shared cache
        # (seconds warm, a minute cold), so a missing `go` is one line before the run.
        "gotemplate-check": gotemplate.checker_binary,
        "obs-relabel": relabel_binary,
    }


def cloud_discovery_needed(config_dir: Path, line: str) -> bool:
    """Whether the config's Prometheus config uses discovery that the `current` line's
    promtool is built without, so that its config check needs promtool-all-sd."""
    from obsgate.tools.versions_line import cloud_discovery

    if line != "current":
        return False
    try:
        config = ObsConfig(config_dir)
        return config.has("prometheus") and bool(cloud_discovery(config.prometheus()))
    except GateError:  # an unreadable config is its own tests' error, said there
        return False


def required(
    items: Iterable[pytest.Item], backend: str, cloud_discovery: bool = False
) -> list[str]:
    """The binaries the selected tests need, in a stable order; with `cloud_discovery` (the
    config uses it), a config check needs promtool built with every discovery too."""
    needed: set[str] = set()
    for item in items:
        names = {m.name for m in item.iter_markers()}
        names |= {arg for m in item.iter_markers("needs") for arg in m.args}
        if cloud_discovery and "promtool_config" in names:
            needed.add("promtool-all-sd")
        for name in names:
            needed.update(TOOLS_BY_MARK.get(name, ()))
            if backend == "process" and name in SERVERS:
                needed.add(name)
                needed.update(SERVERS_STARTED_WITH.get(name, ()))
            if backend == "process":
                needed.update(SERVERS_BY_MARK.get(name, ()))
    order = list(_finders())
    return sorted(needed, key=order.index)


# The scripts/install-backends step that installs each binary: Prometheus and Alertmanager
# per version line, the rest whatever the line.
_STEP_OF = {"promtool": "prometheus", "amtool": "alertmanager", "redis": "redis"}
_LINE_BUILT = ("prometheus", "alertmanager")
# Built by the preflight itself with the machine's `go` (no install step).
GO_PROGRAMS = ("gotemplate-check", "obs-relabel")
# The fixtures that start the services under test (the run's, and the load gate's own).
SERVICE_FIXTURES = {"refapp", "load_stack"}


def install_plan(
    items: Iterable[pytest.Item], backend: str, line: str, cloud_discovery: bool = False
) -> dict[str, list[str]]:
    """What scripts/install-backends must install for the selected tests: each step with the
    suites that need it, so set-up installs only that (`scripts/gate -k alerts` builds no
    Jaeger). The containers backend needs its engine and images instead of the servers.
    A test of the services under test (the `refapp` or `load_stack` fixture) needs their
    build."""
    items = list(items)
    plan: dict[str, set[str]] = {}
    for item in items:
        marks = {m.name for m in item.iter_markers()}
        suites = sorted(marks & set(SUITE_MARKERS)) or ["other"]
        needed = [
            name for name in required([item], backend, cloud_discovery) if name not in GO_PROGRAMS
        ]
        steps = {_STEP_OF.get(name, name) for name in needed}
        steps = {f"{s}-debian" if s in _LINE_BUILT and line == "debian" else s for s in steps}
        if "capacity" in marks:
            steps.add("wrk")  # the capacity benchmark measures the gateway with wrk too
        if backend == "containers" and marks & {"needs"}:
            steps.add("containers")
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            steps.add("services")
        for step in steps:
            plan.setdefault(step, set()).update(suites)
    return {step: sorted(why) for step, why in sorted(plan.items())}


# The binaries (preflight names) each install step provides; the rest are checked apart.
_STEP_BINARIES = {
    "prometheus": ("prometheus", "promtool"),
    "prometheus-debian": ("prometheus", "promtool"),
    "alertmanager": ("alertmanager", "amtool"),
    "alertmanager-debian": ("alertmanager", "amtool"),
}


def step_installed(step: str) -> bool:
    """Whether what an install step provides is here (and proven, for the servers)."""
    import os
    import shutil

    if step in _STEP_BINARIES:
        line = "debian" if step.endswith("-debian") else "current"
        saved = os.environ.get(SERVER_VERSIONS_ENV)
        os.environ[SERVER_VERSIONS_ENV] = line
        try:
            return not problems(_STEP_BINARIES[step])
        finally:
            if saved is None:
                os.environ.pop(SERVER_VERSIONS_ENV, None)
            else:
                os.environ[SERVER_VERSIONS_ENV] = saved
    if step in _finders():
        return not problems([step])
    if step == "containers":
        return shutil.which("dockerd") is not None
    if step == "services":
        from obsgate.services.build import services_built

        return services_built()
    return shutil.which(step) is not None  # wrk, chromium (browser): a command of that name


def problems(names: Iterable[str]) -> list[str]:
    """One line per binary that is missing or not what it claims to be."""
    finders = _finders()
    found = []
    for name in names:
        try:
            finders[name]()
        except GateError as exc:
            found.append(str(exc).splitlines()[0])
    return found


def check_config(config: ObsConfig, factor: float) -> None:
    """What would otherwise fail only once servers run, checked before any starts, each a
    ConfigError naming the user's own file: rules that Prometheus' own checker refuses, a
    services declaration the gate cannot start, and an Alertmanager config whose adapted
    form would still reach past 127.0.0.1."""
    from obsgate.services.declaration import check_services
    from obsgate.stack.alertmanager_config import AlertmanagerConfigAdapter
    from obsgate.stack.loopback import require_loopback
    from obsgate.tools import promtool

    if config.has("rules"):
        rule_files = config.rule_files()  # materialized from CRDs where need be
        try:
            checker = promtool.binary()
        except GateError:
            checker = None  # the preflight of the selected tests names what is missing
        if checker is not None:
            result = promtool.check_rules(*rule_files)
            if not result.ok:
                reason = first_error(config.origin_text(result.output))
                raise ConfigError(f"promtool check rules: {reason}")
    check_services(config)
    if config.has("alertmanager"):
        source = config.alertmanager_source()
        check_alertmanager_file(source)
        adapter = AlertmanagerConfigAdapter(config, "http://127.0.0.1:9", factor)
        require_loopback(adapter.adapted(), "Alertmanager", source.describe())


def check_alertmanager_file(source: AlertmanagerSource | Path) -> None:
    """`amtool check-config` on the user's own config (a Secret's or ConfigMap's taken out
    with its lines kept), its ${VARS} filled in place so every line keeps its number:
    amtool's errors then name the user's file and line, not the gate's adapted copy. (The
    fill-ins are placeholders: nothing secret is written.)"""
    from obsgate.config.alertmanager import read_alertmanager
    from obsgate.tools import amtool

    try:
        amtool.binary()
    except GateError:
        return  # the preflight of the selected tests names what is missing
    if isinstance(source, Path):
        source = read_alertmanager(source)
    text = source.text
    filled = _VAR.sub(lambda m: _placeholder(m[1], text, m.start()), text)
    with tempfile.TemporaryDirectory(prefix="amtool-check-") as tmp:
        copy = Path(tmp) / source.origin.name
        copy.write_text(filled, encoding="utf-8")
        result = amtool.check_config(copy)
    if not result.ok:
        reason = first_error(result.output.replace(str(copy), str(source.origin)))
        raise ConfigError(f"amtool check-config {source.describe()}: {reason}")


def _placeholder(var: str, text: str, at: int) -> str:
    """A URL where the variable is a whole URL value (`..._url: ${VAR}`), else a token."""
    line = text[text.rfind("\n", 0, at) + 1 : at]
    return "http://127.0.0.1:9/placeholder" if line.rstrip(" '\"").endswith("url:") else "x"


def precise_rule_error(config: ObsConfig, error: ConfigError) -> ConfigError:
    """A rule file the loader refused, with promtool's own reason where the loader's PromQL
    parser has only "invalid promql query" (promtool names the line, column and token)."""
    from obsgate.tools import promtool

    if "invalid promql query" not in str(error):
        return error
    try:
        result = promtool.check_rules(*config.rule_files())
    except GateError:
        return error
    if result.ok:
        return error
    return ConfigError(first_error(config.origin_text(result.output)))


def first_error(output: str) -> str:
    """promtool's first complaint, on one line (it names the user's file and line)."""
    inline = re.search(r"FAILED:[ \t]*(\S.*?)(?:\n\S|\Z)", output, re.S)  # amtool's form
    if inline:
        return " ".join(inline[1].split())
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if not ln.startswith(("Checking", "FAILED", "SUCCESS"))]
    if not errors:
        return lines[-1] if lines else "failed without a message"
    if errors[0].endswith(":") and len(errors) > 1:  # "yaml: unmarshal errors:" + its first
        return f"{errors[0]} {errors[1]}"
    return errors[0]

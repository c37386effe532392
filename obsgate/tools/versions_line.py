"""Which line of Prometheus and Alertmanager judges the config: `current` or `debian`.

`--server-versions` (env OBS_SERVER_VERSIONS; the plugin exports the option's value into
the environment, so promtool and amtool calls, server starts, subprocesses and xdist workers
all agree) chooses the prometheus, promtool, alertmanager and amtool binaries of the process
backend and the exact layer:

- `current` (the default): the releases teams run today, Prometheus 3.16.0 and Alertmanager
  0.35.0, built by scripts/install/prometheus.sh and alertmanager.sh into the shared cache,
  `$OBS_GATE_CACHE/backends/prometheus-3.16.0/` and `alertmanager-0.35.0/`. A folder counts
  only with its VERSION stamp, which the scripts write last: a failed build is never used.
  The binaries on PATH are not a fallback: they would be another version, silently.
- `debian`: Debian bookworm's packages, Prometheus 2.42 and Alertmanager 0.25, found as
  before this option existed: on PATH (/usr/bin), then in `$OBS_GATE_CACHE/backends/bin`.

An explicit PROMETHEUS_BIN, PROMTOOL, ALERTMANAGER_BIN or AMTOOL wins on either line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from obsgate.errors import GateError, ToolMissing
from obsgate.options import DEFAULT_SERVER_VERSIONS, SERVER_VERSIONS, SERVER_VERSIONS_ENV
from obsgate.tools import cache_root, find_binary
from obsgate.tools.identity import proven

# The `current` line's versions; scripts/install/versions.env pins the same (a unit test
# checks that they agree).
PROMETHEUS_VERSION = "3.16.0"
PROMETHEUS_MODULE = "github.com/prometheus/prometheus@v0.316.0"
ALERTMANAGER_VERSION = "0.35.0"
ALERTMANAGER_MODULE = "github.com/prometheus/alertmanager@v0.35.0"
DEBIAN_VERSIONS = {"prometheus": "2.42", "alertmanager": "0.25"}
# The discovery plugins the `current` build leaves out (scripts/install/versions.env's
# PROMETHEUS_CLOUD_SD: the cloud providers' SDKs, half of Prometheus' build), with the
# `<kind>_sd_configs` each registers. A config that uses one is checked by promtool built
# with every discovery (PROMTOOL_ALL_SD_BUILD), which set-up builds only for such a config.
CLOUD_DISCOVERY = {
    "aws": ("aws", "ec2", "ecs", "elasticache", "lightsail", "msk", "rds"),
    "azure": ("azure",),
    "gce": ("gce",),
    "ionos": ("ionos",),
    "oci": ("oci",),
    "outscale": ("outscale",),
}
PROMTOOL_ALL_SD_BUILD = "promtool-all-sd"
_CLOUD_KINDS = {f"{kind}_sd_configs" for kinds in CLOUD_DISCOVERY.values() for kind in kinds}


@dataclass(frozen=True)
class Binary:
    """One of the four binaries: its names on PATH (Debian renames alertmanager), its env
    override, the Debian package, and the cache folder of the `current` build."""

    name: str
    debian_names: tuple[str, ...]
    env_var: str
    package: str
    build: str  # "prometheus" or "alertmanager": the folder prefix and version of the build

    @property
    def version(self) -> str:
        return ALERTMANAGER_VERSION if self.build == "alertmanager" else PROMETHEUS_VERSION

    @property
    def module(self) -> str:
        return PROMETHEUS_MODULE if self.build == "prometheus" else ALERTMANAGER_MODULE


BINARIES = {
    b.name: b
    for b in (
        Binary("prometheus", ("prometheus",), "PROMETHEUS_BIN", "prometheus", "prometheus"),
        Binary("promtool", ("promtool",), "PROMTOOL", "prometheus", "prometheus"),
        Binary(
            "alertmanager",
            ("alertmanager", "prometheus-alertmanager"),
            "ALERTMANAGER_BIN",
            "prometheus-alertmanager",
            "alertmanager",
        ),
        Binary("amtool", ("amtool",), "AMTOOL", "prometheus-alertmanager", "alertmanager"),
    )
}


def chosen_line() -> str:
    """The line this process runs: OBS_SERVER_VERSIONS, default `current`. The plugin has
    validated it; a bad value set after that is still one line, not a wrong binary."""
    line = os.environ.get(SERVER_VERSIONS_ENV) or DEFAULT_SERVER_VERSIONS
    if line not in SERVER_VERSIONS:
        raise GateError(
            f"{SERVER_VERSIONS_ENV}={line!r} is not one of {', '.join(SERVER_VERSIONS)}"
        )
    return line


def build_dir(build: str) -> Path:
    """Where scripts/install/<build>.sh installs the `current` line's binaries."""
    version = ALERTMANAGER_VERSION if build == "alertmanager" else PROMETHEUS_VERSION
    return cache_root() / "backends" / f"{build}-{version}"


def built(binary: Binary) -> Path | None:
    """The `current` build of `binary` if the install script finished it (stamp present)."""
    folder = build_dir(binary.build)
    stamp = folder / "VERSION"
    path = folder / binary.name
    try:
        stamped = stamp.read_text().split()[:2] == [binary.build, binary.version]
    except OSError:
        return None
    return path if stamped and os.access(path, os.X_OK) else None


def not_built_message(binary: Binary) -> str:
    return (
        f"{binary.name} {binary.version} not built: run scripts/install-backends "
        "(or --server-versions debian)"
    )


def locate_binary(name: str, line: str | None = None) -> tuple[str, str]:
    """Where prometheus, promtool, alertmanager or amtool of `line` (default: the chosen
    one) is, and the variable that named it if one did; ToolMissing in one line when it is
    not there."""
    binary = BINARIES[name]
    line = line or chosen_line()
    explicit = binary.env_var if os.environ.get(binary.env_var) else ""
    if explicit or line == "debian":
        return find_binary(list(binary.debian_names), binary.env_var, binary.package), explicit
    path = built(binary)
    if path is None:
        raise ToolMissing(not_built_message(binary))
    return str(path), explicit


def server_binary(name: str, line: str | None = None) -> str:
    """The binary `locate_binary` finds, proven to be that tool (a wrong one would pass
    what it judges); ToolMissing in one line when it is missing or not what it claims."""
    found, explicit = locate_binary(name, line)
    return proven(name, found, explicit)


def cloud_discovery(config: object) -> list[str]:
    """The cloud providers' `<kind>_sd_configs` a Prometheus config uses anywhere (scrape
    jobs, alerting's Alertmanagers), which the `current` build's promtool does not know."""
    found: set[str] = set()
    if isinstance(config, dict):
        for key, value in config.items():
            if key in _CLOUD_KINDS and value:
                found.add(str(key))
            found.update(cloud_discovery(value))
    elif isinstance(config, list):
        for value in config:
            found.update(cloud_discovery(value))
    return sorted(found)


# promtool of the `current` line built with every discovery: only its folder differs.
PROMTOOL_ALL_SD = Binary("promtool", ("promtool",), "PROMTOOL", "prometheus", PROMTOOL_ALL_SD_BUILD)


def promtool_all_sd() -> str:
    """promtool with every discovery (an explicit PROMTOOL wins, as for promtool), proven;
    ToolMissing naming its install step when it is not built."""
    explicit = PROMTOOL_ALL_SD.env_var if os.environ.get(PROMTOOL_ALL_SD.env_var) else ""
    if explicit:
        return server_binary("promtool")
    path = built(PROMTOOL_ALL_SD)
    if path is None:
        raise ToolMissing(
            f"promtool {PROMETHEUS_VERSION} with the cloud providers' discovery not built: run "
            f"scripts/install-backends {PROMTOOL_ALL_SD_BUILD} (scripts/gate does, for a config "
            "that uses it)"
        )
    return proven("promtool", str(path), "")


def describe_line(line: str) -> str:
    """`current (Prometheus 3.16.0, Alertmanager 0.35.0, built from source)`, for headers."""
    if line == "current":
        return (
            f"current (Prometheus {PROMETHEUS_VERSION}, Alertmanager {ALERTMANAGER_VERSION}, "
            "Go builds in the cache)"
        )
    return (
        f"debian (Prometheus {DEBIAN_VERSIONS['prometheus']}, Alertmanager "
        f"{DEBIAN_VERSIONS['alertmanager']}, Debian's packages)"
    )

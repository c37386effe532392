"""Load the config under test (the `--obs-config` dir) and fail in one line naming file:line.

Every suite reads its artifacts through `ObsConfig`, so a user pointing the gate at their own
config repo gets the same validation and the same precise errors, never a traceback. Where
each part lives comes from the dir's optional manifest (`obs-gate.yaml`, config/manifest.py)
or the default layout; each part is read in the native forms teams keep it in (rules.py,
alertmanager.py, dashboards.py; Sloth specs in obsgate/slo/spec.py).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from obsgate.config.alertmanager import AlertmanagerSource, read_alertmanager
from obsgate.config.dashboards import Dashboard, read_dashboards
from obsgate.config.files import (
    load_json,
    load_yaml,
    load_yaml_documents,
    parse_duration,
)
from obsgate.config.manifest import (
    APP_SETTINGS,
    DEFAULT_LAYOUT,
    MANIFEST,
    PARTS,
    Manifest,
    load_manifest,
)
from obsgate.config.rules import (
    AlertRule,
    RecordingRule,
    RuleSource,
    parse_groups,
    read_rule_file,
)
from obsgate.config.runbooks import Runbook, read_runbooks
from obsgate.errors import ConfigError
from obsgate.options import DEFAULT_CONFIG_DIR
from obsgate.tools import cache_root

__all__ = [
    "APP_SETTINGS",
    "DEFAULT_CONFIG_DIR",
    "MANIFEST",
    "PARTS",
    "AlertRule",
    "AlertmanagerSource",
    "Dashboard",
    "ObsConfig",
    "RecordingRule",
    "RuleSource",
    "Runbook",
    "load_json",
    "load_yaml",
    "load_yaml_documents",
    "parse_duration",
]


class ObsConfig:
    """The artifacts under test, found through the manifest or the default layout."""

    def __init__(self, root: Path) -> None:
        root = Path(root)
        if not root.is_dir():
            raise ConfigError(
                f"{root}: config dir not found (pass --obs-config DIR or set OBS_CONFIG_DIR; "
                f"default {DEFAULT_CONFIG_DIR})"
            )
        self.root = root.resolve()
        self.manifest: Manifest = load_manifest(self.root)

    def __repr__(self) -> str:
        return f"ObsConfig({str(self.root)!r})"

    # -- which parts there are ---------------------------------------------------------------

    def files(self, part: str) -> list[Path]:
        """The files of one part (see manifest.DEFAULT_LAYOUT), [] when the config lacks it."""
        if part not in DEFAULT_LAYOUT:
            raise ConfigError(f"unknown config part {part!r} (use one of {sorted(DEFAULT_LAYOUT)})")
        return list(self.manifest.files(part))

    def has(self, part: str) -> bool:
        """Whether the config has `part`: one of PARTS, or `app_settings.<name>`."""
        if part == "scenarios":
            return self.scenarios_dir.is_dir()
        if part == "app_settings":
            return any(self.manifest.app_settings(n) is not None for n in APP_SETTINGS)
        if part.startswith("app_settings."):
            name = part.split(".", 1)[1]
            return name in APP_SETTINGS and self.manifest.app_settings(name) is not None
        return bool(self.files(part))

    def parts_present(self) -> list[str]:
        """The parts this config has, in PARTS order (a suite is not applicable without its)."""
        return [p for p in PARTS if self.has(p)]

    def missing(self, part: str) -> str:
        """One line saying a part is absent and where it was looked for."""
        return f"no {part} in {self.root} (looked in {self.manifest.where(part)})"

    def _one(self, part: str) -> Path:
        files = self.files(part)
        if not files:
            raise ConfigError(f"{self.missing(part)}: add it, or name it in {MANIFEST}")
        if len(files) > 1:
            names = ", ".join(str(f) for f in files)
            raise ConfigError(
                f"{part}: one file expected, {self.manifest.where(part)} gives {names}"
            )
        return files[0]

    # -- paths ----------------------------------------------------------------------------

    @property
    def scenarios_dir(self) -> Path:
        """Intent scenarios live beside the config they test, as promtool tests do."""
        return self.manifest.scenarios_dir

    def locate(self, rel: str) -> Path:
        """Where `rel` (as the default layout names it) is: `scenarios/...` under the
        manifest's scenarios dir, anything else under the config dir."""
        first, _, rest = rel.partition("/")
        if first == "scenarios":
            return self.scenarios_dir / rest if rest else self.scenarios_dir
        return self.root / rel

    def path(self, rel: str) -> Path:
        """Absolute path of an artifact; ConfigError naming it if the config lacks it."""
        p = self.locate(rel)
        if not p.exists():
            raise ConfigError(f"{p}: file not found (the --obs-config dir must contain {rel})")
        return p

    @cached_property
    def cache_dir(self) -> Path:
        """Where rule files materialized from CRDs are written (content-checked, so workers
        share them): the run's own dir (0700, removed on every exit path) inside a gate run,
        else the shared cache."""
        run_dir = os.environ.get("OBS_GATE_RUN_DIR")
        return Path(run_dir) / "materialized" if run_dir else cache_root() / "materialized"

    # -- parts ----------------------------------------------------------------------------

    def prometheus_file(self) -> Path:
        return self._one("prometheus")

    def policy(self) -> Any:
        """The conventions the checks enforce (obsgate/config/policy.py)."""
        from obsgate.config.policy import load_policy  # the policy module reads through this one

        return load_policy(self.root)

    def prometheus(self) -> dict[str, Any]:
        return self._mapping(self.prometheus_file())

    def alertmanager_file(self) -> Path:
        """The user's file holding the Alertmanager config (plain, Secret or ConfigMap)."""
        return self._one("alertmanager")

    def alertmanager_source(self) -> AlertmanagerSource:
        return read_alertmanager(self.alertmanager_file())

    def alertmanager(self) -> dict[str, Any]:
        return self.alertmanager_source().load()

    def template_files(self) -> list[Path]:
        return self.files("templates")

    def slo_files(self) -> list[Path]:
        return self.files("slos")

    def slo_policy_file(self) -> Path:
        return self._one("slo_policy")

    def promtool_test_files(self) -> list[Path]:
        return self.files("promtool_tests")

    def dashboards(self) -> list[Dashboard]:
        """Every dashboard of the config, in file order (plain JSON, ConfigMap, CRD)."""
        return [d for f in self.files("dashboards") for d in read_dashboards(f)]

    def runbooks(self) -> list[Runbook]:
        """Every runbook of the config's runbook operator, in file order."""
        return [r for f in self.files("runbooks") for r in read_runbooks(f)]

    def app_settings(self, name: str) -> dict[str, Any]:
        """App-level settings the seed gives as code: "logging", "tracing" or "metrics"."""
        if name not in APP_SETTINGS:
            raise ConfigError(f"unknown app settings {name!r} (use one of {sorted(APP_SETTINGS)})")
        return self._mapping(self.app_settings_file(name))

    def app_settings_file(self, name: str) -> Path:
        """The file holding app settings `name` (the manifest's, else the default's)."""
        path = self.manifest.app_settings(name)
        return path if path is not None else self.path(APP_SETTINGS[name])

    def _mapping(self, path: Path) -> dict[str, Any]:
        data = load_yaml(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}:1:1: expected a mapping (fix the file)")
        return data

    # -- rules ----------------------------------------------------------------------------

    def rule_sources(self) -> list[RuleSource]:
        """Every rule group list of the config as a plain rule file, with its user's file."""
        return [s for f in self.files("rules") for s in read_rule_file(f, self.cache_dir)]

    def rule_files(self) -> list[Path]:
        """Plain rule files for promtool and Prometheus (materialized where the user's are
        CRDs); `origin_text` maps their paths in any message back to the user's files."""
        files = list(dict.fromkeys(s.path for s in self.rule_sources()))
        if not files:
            raise ConfigError(f"{self.missing('rules')}: add rule files (*.yaml, *.yml)")
        return files

    def origin_of(self, path: Path | str) -> Path:
        """The user's file a rule file handed to a tool came from (itself if not materialized)."""
        for s in self.rule_sources():
            if str(s.path) == str(path):
                return s.origin
        return Path(path)

    def origin_text(self, text: str) -> str:
        """A tool's message with every materialized rule file named as the user's file (lines
        are kept by materialization, so `file:line` stays right)."""
        for s in self.rule_sources():
            if s.path != s.origin:
                text = text.replace(
                    str(s.path), f"{s.origin} ({s.obj})" if s.obj else str(s.origin)
                )
        return text

    def alert_rules(self) -> list[AlertRule]:
        return [r for r in self._rules() if isinstance(r, AlertRule)]

    def recording_rules(self) -> list[RecordingRule]:
        return [r for r in self._rules() if isinstance(r, RecordingRule)]

    def _rules(self) -> list[AlertRule | RecordingRule]:
        sources = self.rule_sources()
        if not sources:
            self.rule_files()  # names what is missing
        return [r for s in sources for r in parse_groups(s)]

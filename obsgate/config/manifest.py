"""`obs-gate.yaml`: where each part of a config lives, as globs relative to the config dir.

A team keeps its rules, Alertmanager config and SLOs where its deployment wants them; the
manifest points the gate there instead of making the team copy files into the gate's
layout. A part the manifest does not name keeps the default layout (`DEFAULT_LAYOUT`), so a
manifest holding only `policy:` changes nothing else. A glob the manifest names that matches
nothing is an error naming it and its line: never a silent pass.
"""

from __future__ import annotations

import glob as globlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsgate.config.files import Located, located_documents
from obsgate.errors import ConfigError

MANIFEST = "obs-gate.yaml"
APP_SETTINGS = {
    "logging": "logging/redaction.yaml",
    "tracing": "tracing/propagation.yaml",
    "metrics": "metrics/instrumentation.yaml",
}
# Parts whose files the gate reads; each a glob or a list of globs (app_settings: a mapping
# of logging/tracing/metrics to one glob each; scenarios: one directory).
DEFAULT_LAYOUT: dict[str, tuple[str, ...]] = {
    "rules": ("prometheus/rules/**/*.yaml", "prometheus/rules/**/*.yml"),
    "alertmanager": ("alertmanager/alertmanager.yaml", "alertmanager/alertmanager.yml"),
    "templates": ("alertmanager/templates/**/*.tmpl",),
    "slos": ("slo/**/*.yaml", "slo/**/*.yml"),  # minus the slo_policy files
    "slo_policy": ("slo/error-budget-policy.yaml", "slo/error-budget-policy.yml"),
    "dashboards": ("dashboards/**/*.json", "dashboards/**/*.yaml", "dashboards/**/*.yml"),
    "prometheus": ("prometheus/prometheus.yaml", "prometheus/prometheus.yml"),
    "promtool_tests": (),
    # a runbook operator's runbooks: Go templates rendered with the alert that triggers them
    "runbooks": ("k8s/monitoring/runbook-operator.yaml",),
}
PARTS = (*DEFAULT_LAYOUT, "app_settings", "scenarios")
# Keys other parts of the gate read from the manifest; accepted here, not interpreted.
OWNED_ELSEWHERE = ("policy", "server_versions", "services")
KNOWN_KEYS = tuple(sorted((*PARTS, *OWNED_ELSEWHERE)))


@dataclass(frozen=True)
class Manifest:
    """The parts of one config dir: the manifest's entries, resolved on each call, so files
    added after loading are seen (as the default layout's always were)."""

    root: Path
    path: Path | None  # the manifest file, None without one
    entries: dict[str, Located] = field(hash=False)
    raw: dict[str, Any] = field(hash=False)  # the whole manifest, for the keys others own

    @property
    def declared(self) -> frozenset[str]:
        """The parts the manifest names."""
        return frozenset(self.entries)

    def files(self, part: str) -> tuple[Path, ...]:
        """The files of a part: the manifest's globs, else the default layout's."""
        entry = self.entries.get(part)
        if entry is not None and entry.data in (None, []):
            return ()  # declared absent
        if entry is not None:
            return _resolve(self.root, entry, part)
        found = _default(self.root, part)
        if part == "slos":  # the default slo/ folder also holds the error-budget policy
            policy = self.files("slo_policy")
            found = tuple(f for f in found if f not in policy)
        return found

    def app_settings(self, name: str) -> Path | None:
        return _app_settings(self.root, self.entries.get("app_settings"))[name]

    @property
    def scenarios_dir(self) -> Path:
        return _scenarios(self.root, self.entries.get("scenarios"))

    def where(self, part: str) -> str:
        """Where a part is looked for, for a message: the manifest's key or the default."""
        if part in self.entries and self.path is not None:
            return f"{self.path} `{part}:`"
        return f"{' or '.join(DEFAULT_LAYOUT.get(part, ()))} (default layout)"


def _glob(root: Path, pattern: str) -> list[Path]:
    """Files (not dirs) matching a glob relative to root; `**` spans folders."""
    found = globlib.glob(pattern, root_dir=root, recursive=True)
    return sorted({(root / f).resolve() for f in found if (root / f).is_file()})


def _patterns(entry: Located, part: str) -> list[Located]:
    """A part's value as a list of located glob strings."""
    values = entry.items() if isinstance(entry.data, list) else [entry]
    for v in values:
        if not isinstance(v.data, str) or not v.data.strip():
            raise v.error(f"`{part}:` takes a glob or a list of globs", "e.g. rules/**/*.yaml")
    return values


def _resolve(root: Path, entry: Located, part: str) -> tuple[Path, ...]:
    out: list[Path] = []
    for pattern in _patterns(entry, part):
        found = _glob(root, pattern.data)
        if not found:
            raise pattern.error(
                f"{part} glob {pattern.data!r} matches no file in {root}",
                "fix the glob, or remove it if the config has no such part",
            )
        out.extend(f for f in found if f not in out)
    return tuple(out)


def _default(root: Path, part: str) -> tuple[Path, ...]:
    out: list[Path] = []
    for pattern in DEFAULT_LAYOUT[part]:
        out.extend(f for f in _glob(root, pattern) if f not in out)
    return tuple(out)


def _app_settings(root: Path, entry: Located | None) -> dict[str, Path | None]:
    out: dict[str, Path | None] = {}
    given = entry.data if entry is not None else {}
    if entry is not None and not isinstance(given, dict):
        raise entry.error(
            "`app_settings:` maps logging, tracing and metrics to a file each",
            "e.g. app_settings: {logging: app/logging.yaml}",
        )
    for name, default in APP_SETTINGS.items():
        sub = entry.child(name) if entry is not None else None
        if sub is None:
            p = root / default
            out[name] = p.resolve() if p.is_file() else None
            continue
        files = _resolve(root, sub, f"app_settings.{name}")
        if len(files) != 1:
            raise sub.error(f"app_settings.{name} matches {len(files)} files", "name one file")
        out[name] = files[0]
    unknown = sorted(set(given) - set(APP_SETTINGS))
    if unknown and entry is not None:
        raise entry.error(
            f"app_settings: unknown key {unknown[0]!r}", f"known: {sorted(APP_SETTINGS)}"
        )
    return out


def _scenarios(root: Path, entry: Located | None) -> Path:
    if entry is None:
        return root / "scenarios"
    if not isinstance(entry.data, str) or not entry.data.strip():
        raise entry.error("`scenarios:` takes one directory", "e.g. scenarios: gate/scenarios")
    found = [root / d for d in globlib.glob(entry.data, root_dir=root) if (root / d).is_dir()]
    if len(found) != 1:
        raise entry.error(
            f"scenarios {entry.data!r} matches {len(found)} directories in {root}",
            "name the one directory that holds alerts/, routing/, ...",
        )
    return found[0].resolve()


def load_manifest(root: Path) -> Manifest:
    """The manifest of `root` resolved, or the default layout when there is none."""
    path = root / MANIFEST
    entries: dict[str, Located] = {}
    raw: dict[str, Any] = {}
    if path.is_file():
        docs = located_documents(path)
        if len(docs) > 1:
            raise docs[1].error("the manifest is one YAML document", "remove the `---`")
        if docs:
            doc = docs[0]
            if not isinstance(doc.data, dict) or not isinstance(doc.node, yaml.MappingNode):
                raise doc.error(
                    "the manifest is a mapping of parts to globs", f"keys: {', '.join(KNOWN_KEYS)}"
                )
            raw = doc.data
            for key_node, _ in doc.node.value:
                key = key_node.value
                if key not in KNOWN_KEYS:
                    raise ConfigError(
                        f"{path}:{key_node.start_mark.line + 1}: unknown key {key!r} "
                        f"(known: {', '.join(KNOWN_KEYS)})"
                    )
                entry = doc.child(key)
                if entry is not None and key in PARTS:
                    entries[key] = entry
    manifest = Manifest(root, path if path.is_file() else None, entries, raw)
    for part in entries:  # a glob that matches nothing stops the run now, not mid-suite
        if part in DEFAULT_LAYOUT:
            manifest.files(part)
    _app_settings(root, entries.get("app_settings"))
    _scenarios(root, entries.get("scenarios"))
    return manifest

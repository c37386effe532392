"""Alertmanager: the seed's config, unchanged in meaning, notifying the local capture sink.

Alertmanager does not expand `${VAR}`, so the adapter substitutes each one explicitly; every
notifier URL is pointed at the sink (`<sink>/slack|pagerduty|webhook/<receiver>`), so the sink
knows which receiver fired; route timings are divided by the run's time factor. Each change is
one line in `changes`, for the report: nothing is rewritten silently.
"""

from __future__ import annotations

import contextlib
import copy
import re
import shlex
import tempfile
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

from obsgate.config import ObsConfig, parse_duration
from obsgate.config.alertmanager import ENV_REFERENCE
from obsgate.errors import ConfigError, GateError, ToolMissing
from obsgate.masking import mask_url
from obsgate.promql import duration_text
from obsgate.stack.loopback import require_loopback
from obsgate.tools import ToolResult, amtool, run_tool

ROUTE_DURATIONS = ("group_wait", "group_interval", "repeat_interval")
# Alertmanager's own values for a timing the root route leaves out (config.DefaultRouteOpts);
# a child route inherits its parent's.
ROUTE_DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
SINK_PATHS = {
    "slack_configs": "slack",
    "pagerduty_configs": "pagerduty",
    "webhook_configs": "webhook",
}
GLOBAL_SINK_URLS = {"slack_api_url": "slack", "pagerduty_url": "pagerduty"}
_TEMPLATE_REF = re.compile(r'\{\{-?\s*template\s+"([^"]+)"[^}]*?-?\}\}')
# Defined in Alertmanager's default.tmpl; renders only when the default templates are loaded.
_DEFAULTS_PROBE = "__alertmanager"


def receivers_referenced(route: dict[str, Any]) -> set[str]:
    """Every receiver named anywhere in the routing tree, root included."""
    found = {str(route["receiver"])} if route.get("receiver") else set()
    for child in route.get("routes") or []:
        found |= receivers_referenced(child)
    return found


def receivers_defined(cfg: dict[str, Any]) -> set[str]:
    """Names of the config's receivers, the other side of the "every receiver exists" check."""
    return {str(r["name"]) for r in cfg.get("receivers") or [] if isinstance(r, dict)}


class AlertmanagerConfigAdapter:
    """The seed's alertmanager.yaml adapted to the gate: local sinks, explicit vars, scaled time."""

    def __init__(
        self,
        config: ObsConfig,
        sink_url: str,
        factor: float,
        secrets: dict[str, str] | None = None,
    ) -> None:
        if factor <= 0:
            raise GateError(f"time factor must be positive, got {factor!r}")
        self.config = config
        self.sink_url = sink_url.rstrip("/")
        self.factor = factor
        self.secrets = dict(secrets or {})
        self.origin = config.alertmanager_source()
        self.source = self.origin.describe()  # how messages name the user's config
        self._adapted: dict[str, Any] | None = None
        self._changes: list[str] = []

    def adapted(self) -> dict[str, Any]:
        """A fresh copy of the adapted config; the first call does the work and records changes."""
        if self._adapted is None:
            self._adapted = self._adapt()
        return copy.deepcopy(self._adapted)

    @property
    def changes(self) -> list[str]:
        """One human-readable line per change, in the order made, for the report."""
        self.adapted()
        return list(self._changes)

    def write(self, path: Path) -> Path:
        """Write the adapted YAML, refusing first if any non-loopback host is left in it."""
        adapted = self.adapted()
        require_loopback(adapted, "Alertmanager", self.source)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(adapted, sort_keys=False), encoding="utf-8")
        return path

    # -- adaptation ------------------------------------------------------------------------

    def _adapt(self) -> dict[str, Any]:
        self._changes = []
        cfg = self.config.alertmanager()
        cfg = self._substitute(cfg, "")
        if not isinstance(cfg.get("global"), dict):  # absent or an empty `global:`
            cfg["global"] = {}
        self._adapt_global(cfg["global"])
        for receiver in cfg.get("receivers") or []:
            self._adapt_receiver(receiver)
        if isinstance(cfg.get("route"), dict):
            self._default_timings(cfg["route"])
            self._scale_route(cfg["route"], "route")
        self._map_templates(cfg)
        return cfg

    def _sink(self, kind: str, receiver: str) -> str:
        """`<sink>/<kind>/<receiver>`: the path tells the sink which receiver notified."""
        return f"{self.sink_url}/{kind}/{quote(receiver, safe='')}"

    def _substitute(self, node: Any, path: str) -> Any:
        """Replace `${VAR}` everywhere: a whole-value URL gets the sink, anything else a secret."""
        if isinstance(node, dict):
            return {
                k: self._substitute(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()
            }
        if isinstance(node, list):
            return [self._substitute(v, f"{path}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, str) or not ENV_REFERENCE.search(node):
            return node
        whole = ENV_REFERENCE.fullmatch(node)
        if whole and _key_of(path).endswith("url"):
            value = self._sink_for_path(path, whole[1])
            self._changes.append(f"{path}: {node} -> {value} (URL variable, local sink)")
            return value
        return ENV_REFERENCE.sub(lambda m: self._secret(m[1], path), node)

    def _secret(self, var: str, path: str) -> str:
        """The given secret, else a deterministic test value; the report never shows a given one."""
        if var in self.secrets:
            self._changes.append(f"{path}: ${{{var}}} -> <given secret>")
            return self.secrets[var]
        value = f"test-{var.lower()}"
        self._changes.append(f"{path}: ${{{var}}} -> {value} (test secret)")
        return value

    def _sink_for_path(self, path: str, var: str) -> str:
        """The sink URL for a URL-valued variable, by where in the config it is used."""
        key = _key_of(path)
        if path.startswith("global.") and key in GLOBAL_SINK_URLS:
            return self._sink(GLOBAL_SINK_URLS[key], "_global")
        m = re.match(r"receivers\[(\d+)\]\.(\w+)\[\d+\]\.(api_url|url)$", path)
        if m and m[2] in SINK_PATHS:
            name = self.config.alertmanager()["receivers"][int(m[1])]["name"]
            return self._sink(SINK_PATHS[m[2]], name)
        raise GateError(
            f"{self.source}: {path} uses ${{{var}}} as a URL with no local sink for it "
            "(the capture sink serves slack, pagerduty and webhook notifiers only)"
        )

    def _adapt_global(self, glob: dict[str, Any]) -> None:
        for key, kind in GLOBAL_SINK_URLS.items():
            if key in glob:
                self._set(glob, key, self._sink(kind, "_global"), f"global.{key}")
        if "smtp_smarthost" in glob:
            # The sink speaks HTTP, not SMTP; no receiver emails, so nothing ever connects.
            sink = urlsplit(self.sink_url)
            port = sink.port or (443 if sink.scheme == "https" else 80)
            self._set(glob, "smtp_smarthost", f"{sink.hostname}:{port}", "global.smtp_smarthost")
        if "resolve_timeout" in glob:
            self._scale(glob, "resolve_timeout", "global.resolve_timeout")

    def _set(self, node: dict[str, Any], key: str, value: str, path: str) -> None:
        old = node.get(key)
        if old != value:
            node[key] = value
            shown = "(unset)" if old is None else mask_url(old) if "://" in str(old) else old
            self._changes.append(f"{path} {shown} -> {value}")

    def _adapt_receiver(self, receiver: dict[str, Any]) -> None:
        name = str(receiver.get("name"))
        if receiver.get("email_configs"):
            raise GateError(
                f"{self.source}: receiver {name} has email_configs, which the gate cannot capture "
                "yet (the sink has no SMTP endpoint); route it to a slack or webhook receiver"
            )
        unsupported = [
            k for k in receiver if k.endswith("_configs") and k not in SINK_PATHS and receiver[k]
        ]
        if unsupported:
            raise GateError(
                f"{self.source}: receiver {name} uses {', '.join(unsupported)}, for which the "
                f"capture sink has no endpoint (supported: {', '.join(SINK_PATHS)})"
            )
        for entry in receiver.get("slack_configs") or []:
            entry.pop("api_url_file", None)
            self._set(entry, "api_url", self._sink("slack", name), f"receiver {name}: api_url")
        for entry in receiver.get("webhook_configs") or []:
            entry.pop("url_file", None)
            self._set(entry, "url", self._sink("webhook", name), f"receiver {name}: url")
        for entry in receiver.get("pagerduty_configs") or []:
            self._adapt_pagerduty(name, entry)

    def _adapt_pagerduty(self, name: str, entry: dict[str, Any]) -> None:
        """Events API v1 (`service_key`) posts to a URL built into Alertmanager: it becomes v2."""
        url = self._sink("pagerduty", name)
        for v1, v2 in (("service_key", "routing_key"), ("service_key_file", "routing_key_file")):
            if v1 in entry:
                entry[v2] = entry.pop(v1)
                entry["url"] = url
                self._changes.append(
                    f"receiver {name}: {v1} (Events API v1, endpoint fixed in Alertmanager, "
                    f"cannot point at a local sink) -> {v2} on Events API v2, url {url}"
                )
                if "severity" in entry:
                    self._changes.append(
                        f"receiver {name}: severity {entry['severity']!r} is now sent as the v2 "
                        "payload.severity (the v1 event Alertmanager sends has no severity)"
                    )
        self._set(entry, "url", url, f"receiver {name}: url")

    def _scale(self, node: dict[str, Any], key: str, path: str) -> None:
        try:
            seconds = parse_duration(node[key])
        except ValueError as exc:
            raise ConfigError(f"{self.source}: {path}: {exc}") from None
        old, node[key] = node[key], duration_text(seconds / self.factor)
        self._changes.append(f"{path} {old} -> {node[key]} (time / {self.factor:g})")

    def _default_timings(self, root: dict[str, Any]) -> None:
        """A timing the root leaves out is Alertmanager's default, written out so that it is
        time-scaled like the others (children inherit it)."""
        for key, value in ROUTE_DEFAULTS.items():
            if root.get(key) is None:
                root[key] = value
                self._changes.append(f"route.{key} (unset) -> {value} (Alertmanager's default)")

    def _scale_route(self, route: dict[str, Any], path: str) -> None:
        for key in ROUTE_DURATIONS:
            if key in route:
                self._scale(route, key, f"{path}.{key}")
        for i, child in enumerate(route.get("routes") or []):
            self._scale_route(child, f"{path}.routes[{i}]")

    def _map_templates(self, cfg: dict[str, Any]) -> None:
        """Deploy paths become the config's template files (the manifest's `templates`, else
        alertmanager/templates/); relative ones resolve as Alertmanager does, against the
        source file's directory (the adapted file is written elsewhere)."""
        mapped: list[str] = []
        for i, glob in enumerate(cfg.get("templates") or []):
            p = PurePosixPath(str(glob))
            if p.is_absolute():
                targets = self._template_dirs(p.name)
            else:
                targets = [str(self.origin.origin.parent / str(p))]
            mapped.extend(targets)
            self._changes.append(
                f"templates[{i}] {glob} -> {', '.join(targets)} (deploy path, read from config)"
            )
        if "templates" in cfg:
            cfg["templates"] = mapped

    def _template_dirs(self, pattern: str) -> list[str]:
        """`<dir>/<pattern>` for each folder of the config's template files that `pattern`
        matches; the default folder if none does (Alertmanager accepts an empty glob)."""
        dirs = dict.fromkeys(
            str(f.parent) for f in self.config.template_files() if fnmatch(f.name, pattern)
        )
        if not dirs:
            return [str(self.config.root / "alertmanager" / "templates" / pattern)]
        return [f"{d}/{pattern}" for d in dirs]

    # -- templates -------------------------------------------------------------------------

    def template_references(self) -> dict[str, list[str]]:
        """Receiver -> template names its notifier configs call, for the "templates exist" check."""
        out: dict[str, list[str]] = {}
        for receiver in self.config.alertmanager().get("receivers") or []:
            names = sorted({m[1] for s in _strings(receiver) for m in _TEMPLATE_REF.finditer(s)})
            if names:
                out[str(receiver["name"])] = names
        return out

    def missing_templates(self) -> dict[str, list[str]]:
        """References that neither Alertmanager's default templates nor the config's define.

        Judged by real `amtool template render` of each reference as the config writes it:
        only amtool's own `template "NAME" not defined` counts as missing.
        """
        calls: dict[str, str] = {}
        for receiver in self.config.alertmanager().get("receivers") or []:
            for text in _strings(receiver):
                for m in _TEMPLATE_REF.finditer(text):
                    calls.setdefault(m[1], m[0])
        with tempfile.TemporaryDirectory() as empty:
            # amtool wants a glob even when the config has no template files and its own
            # defaults are built in: an empty folder's stands for none.
            globs = [*self._template_globs(), *default_template_globs()]
            globs = globs or [str(Path(empty) / "*.tmpl")]
            _check_template_files(globs)
            missing = {name for name, text in calls.items() if not _renders(name, text, globs)}
        out: dict[str, list[str]] = {}
        for receiver, names in self.template_references().items():
            if lost := [n for n in names if n in missing]:
                out[receiver] = lost
        return out

    def _template_globs(self) -> list[str]:
        """The config's own template globs, as the adapted config names them."""
        return [str(g) for g in self.adapted().get("templates") or []]


def default_template_globs() -> list[str]:
    """Extra globs amtool needs to see Alertmanager's default templates ([] if it has them).

    Upstream amtool 0.25 embeds default.tmpl; Debian's build does not (its server reads
    /usr/share/prometheus/alertmanager/*.tmpl instead), so those files are passed explicitly,
    and the probe must render with them, or this is an error rather than a guess.
    """
    with tempfile.TemporaryDirectory() as empty:
        nothing = str(Path(empty) / "*.tmpl")
        if _probe([nothing]):
            return []
        for prefix in _install_prefixes():
            candidate = str(prefix / "share" / "prometheus" / "alertmanager" / "*.tmpl")
            if _probe([candidate]):
                return [candidate]
    raise ToolMissing(
        f"amtool {amtool.version()} does not know Alertmanager's default templates and no "
        "default.tmpl was found beside the installed binaries (install prometheus-alertmanager)"
    )


def _install_prefixes() -> list[Path]:
    """Install prefixes (/usr for /usr/bin/amtool) of amtool and the Alertmanager server."""
    from obsgate.stack.alertmanager import alertmanager_binary

    prefixes = [Path(amtool.binary()).resolve().parent.parent]
    with contextlib.suppress(ToolMissing):  # amtool alone is enough when the server is absent
        prefixes.append(Path(alertmanager_binary()).resolve().parent.parent)
    return list(dict.fromkeys(prefixes))


def _probe(globs: list[str]) -> bool:
    return _renders(_DEFAULTS_PROBE, f'{{{{ template "{_DEFAULTS_PROBE}" . }}}}', globs)


def _render(text: str, globs: list[str]) -> ToolResult:
    cmd = [amtool.binary(), "template", "render", *(f"--template.glob={g}" for g in globs)]
    return run_tool([*cmd, f"--template.text={text}"])


def _check_template_files(globs: list[str]) -> None:
    """Template files that do not parse are a config error, not a "missing" verdict."""
    result = _render("ok", globs)
    if not result.ok:
        raise ConfigError(
            f"template files {globs} do not load: {result.output} (rerun: {shlex.join(result.cmd)})"
        )


def _renders(name: str, text: str, globs: list[str]) -> bool:
    """False only if amtool says `name` is not defined; an error inside its body means it exists
    (amtool renders with example data, which a valid template may not suit)."""
    result = _render(text, globs)
    return result.ok or f'template "{name}" not defined' not in result.output


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _key_of(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])

"""The error-budget policy: a ConfigMap whose `data.policy.yaml` holds, per service, the SLO
target, the monthly budget in minutes and the actions at each budget-remaining threshold.

Lines reported are lines of the ConfigMap file, not of the embedded document, so a failing
check points where the user edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError

# Threshold keys as the seed writes them: remaining percent, or the budget exhausted (0 %).
_REMAINING = re.compile(r"^budget(?:_remaining)?_(\d+(?:\.\d+)?)_percent$")
EXHAUSTED = "budget_exhausted"


def threshold_percent(key: str) -> float | None:
    """Budget remaining, in percent, that a threshold key names; None if it names none."""
    if key == EXHAUSTED:
        return 0.0
    m = _REMAINING.match(key)
    return float(m.group(1)) if m else None


@dataclass(frozen=True)
class ServicePolicy:
    service: str
    slo_target: float | None  # percent; None if missing or not a number
    budget_minutes: float | None
    actions: dict[str, list[str]] = field(hash=False)  # threshold key -> actions, file order
    file: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}: policy for {self.service}"


@dataclass(frozen=True)
class Policy:
    services: dict[str, ServicePolicy]
    escalation: dict[str, dict[str, Any]]
    file: Path
    escalation_line: int


def _percent(value: Any) -> float | None:
    try:
        return float(str(value).strip().rstrip("%"))
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _inner(path: Path) -> tuple[Any, int]:
    """The embedded policy document and the file line its first line is on."""
    doc = load_yaml(path)
    text = (doc.get("data") or {}).get("policy.yaml") if isinstance(doc, dict) else None
    if not isinstance(text, str):
        raise ConfigError(f"{path}:1: no data.policy.yaml (the policy is a ConfigMap key)")
    root = yaml.compose(path.read_text(encoding="utf-8"))
    data_node = next(v for k, v in root.value if k.value == "data")
    node = next(v for k, v in data_node.value if k.value == "policy.yaml")
    offset = node.start_mark.line + (1 if node.style in ("|", ">") else 0)
    try:
        return yaml.safe_load(text), offset
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = offset + mark.line + 1 if mark else offset
        raise ConfigError(f"{path}:{line}: policy.yaml: {exc} (fix the YAML)") from None


def load_policy(path: Path) -> Policy:
    inner, offset = _inner(path)
    if not isinstance(inner, dict) or not isinstance(inner.get("services"), dict):
        raise ConfigError(f"{path}:{offset + 1}: policy.yaml needs a 'services' mapping")
    lines = _key_lines(path, offset)
    services = {}
    for name, entry in inner["services"].items():
        raw = entry if isinstance(entry, dict) else {}
        actions = raw.get("actions") or {}
        if not isinstance(actions, dict):
            raise ConfigError(f"{path}:{lines.get(name, offset)}: {name}: 'actions' must map")
        services[str(name)] = ServicePolicy(
            service=str(name),
            slo_target=_percent(raw.get("slo_target")),
            budget_minutes=_number(raw.get("monthly_budget_minutes")),
            actions={str(k): [str(a) for a in (v or [])] for k, v in actions.items()},
            file=path,
            line=lines.get(str(name), offset + 1),
        )
    escalation = inner.get("escalation") or {}
    if not isinstance(escalation, dict):
        raise ConfigError(f"{path}:{lines.get('escalation', offset)}: 'escalation' must map")
    return Policy(services, escalation, path, lines.get("escalation", offset + 1))


def _key_lines(path: Path, offset: int) -> dict[str, int]:
    """File line of each service key and of `escalation` in the embedded document."""
    inner_text = load_yaml(path)["data"]["policy.yaml"]
    root = yaml.compose(inner_text)
    out: dict[str, int] = {}
    for key, value in root.value:
        out[key.value] = offset + key.start_mark.line + 1
        if key.value == "services" and isinstance(value, yaml.MappingNode):
            for skey, _ in value.value:
                out[skey.value] = offset + skey.start_mark.line + 1
    return out


def config_policy(config: ObsConfig) -> Policy:
    return load_policy(config.slo_policy_file())

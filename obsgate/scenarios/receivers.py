"""Receiver intent: what each receiver's integrations are meant to send.

`receivers:` in `<config>/scenarios/routing/*.yaml` states, per receiver and integration
(`slack`, `pagerduty`, `webhook`, ... : the `<kind>_configs` key without `_configs`), the
fields the team means it to send: `{channel: '#platform-alerts', send_resolved: true}`.
Every literal field the config sets on an integration must be stated, and be as stated: a
changed channel, severity or `send_resolved` is then a red gate, not a quiet change of who
hears what. Template fields (`{{ ... }}`) are rendered by Alertmanager and judged live;
URLs, keys and tokens are secrets, never stated in intent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError
from obsgate.scenarios.routing import ROUTING_SCENARIOS
from obsgate.sinks.capture import Notification

# Fields whose values are endpoints or credentials: the adapter points them at the sink.
SECRET_FIELDS = frozenset(
    {"api_url", "api_url_file", "service_key", "service_key_file", "routing_key",
     "routing_key_file", "url", "url_file", "http_config", "auth_password", "api_key",
     "api_key_file", "token", "token_file", "bot_token", "webhook_url", "send_to"}
)  # fmt: skip
# What Alertmanager sends when `send_resolved` is not set, per integration.
SEND_RESOLVED_DEFAULT = {"slack": False, "email": False}


@dataclass(frozen=True)
class ReceiverIntent:
    receiver: str
    integrations: dict[str, list[dict[str, Any]]]  # kind -> one field map per config
    file: Path


def _field_maps(value: Any, where: str) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{where}: expected a mapping of fields (or a list of them)")
    return [dict(i) for i in items]


def load_receiver_intent(config: ObsConfig) -> dict[str, ReceiverIntent] | None:
    """Every receiver's intent from the routing intent files; None where none states any."""
    directory = config.locate(ROUTING_SCENARIOS)
    found: dict[str, ReceiverIntent] = {}
    stated = False
    for file in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        doc = load_yaml(file)
        section = doc.get("receivers") if isinstance(doc, dict) else None
        if section is None:
            continue
        stated = True
        if not isinstance(section, dict):
            raise ConfigError(f"{file}: `receivers:` must map receiver names to integrations")
        for name, integrations in section.items():
            where = f"{file}: receivers: {name}"
            if name in found:
                raise ConfigError(f"{where}: stated twice (also in {found[name].file.name})")
            if not isinstance(integrations, dict):
                raise ConfigError(f"{where}: expected integrations, e.g. {{slack: {{...}}}}")
            found[str(name)] = ReceiverIntent(
                str(name),
                {str(k): _field_maps(v, f"{where}: {k}") for k, v in integrations.items()},
                file,
            )
    return found if stated else None


def by_name(alertmanager: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Alertmanager config's receivers by name."""
    return {str(r.get("name")): r for r in alertmanager.get("receivers") or []}


def configured(receiver: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The receiver's integrations as the config sets them: kind -> each config's fields."""
    return {
        key.removesuffix("_configs"): [dict(c) for c in value or []]
        for key, value in receiver.items()
        if key.endswith("_configs")
    }


def _literal(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in fields.items()
        if k not in SECRET_FIELDS and not (isinstance(v, str) and "{{" in v)
        and not isinstance(v, dict | list)
    }  # fmt: skip


def differences(intent: ReceiverIntent | None, receiver: dict[str, Any]) -> list[str]:
    """How the receiver's literal integration fields differ from its intent."""
    name = str(receiver.get("name"))
    if intent is None:
        return [f"{name}: no intent stated (receivers: {name}: ...)"]
    have = configured(receiver)
    problems = []
    for kind in sorted(set(have) | set(intent.integrations)):
        wanted, got = intent.integrations.get(kind, []), have.get(kind, [])
        if len(wanted) != len(got):
            problems.append(
                f"{name}: {len(got)} {kind} config(s) in the config, {len(wanted)} in the intent"
            )
            continue
        for i, (want, config) in enumerate(zip(wanted, got, strict=True)):
            where = f"{name}: {kind}" + (f"[{i}]" if len(got) > 1 else "")
            literal = _literal(config)
            for key in sorted(set(literal) | set(want)):
                if key not in literal:
                    problems.append(f"{where}: {key} is {want[key]!r} in the intent, unset")
                elif key not in want:
                    problems.append(f"{where}: {key}: {literal[key]!r} is not in the intent")
                elif literal[key] != want[key]:
                    problems.append(
                        f"{where}: {key} is {literal[key]!r}, the intent says {want[key]!r}"
                    )
    return problems


def sends_resolved(receiver: dict[str, Any]) -> dict[str, bool]:
    """Per integration kind, whether it notifies on resolution (its default where unset)."""
    return {
        kind: any(c.get("send_resolved", SEND_RESOLVED_DEFAULT.get(kind, True)) for c in configs)
        for kind, configs in configured(receiver).items()
    }


def intended_channels(intent: dict[str, ReceiverIntent]) -> dict[str, set[str]]:
    """The Slack channels the intent names per receiver (live arrivals are judged on them)."""
    return {
        name: {str(f["channel"]) for f in r.integrations.get("slack", []) if "channel" in f}
        for name, r in intent.items()
        if any("channel" in f for f in r.integrations.get("slack", []))
    }


def sent_differences(
    intent: dict[str, ReceiverIntent], notifications: Sequence[Notification]
) -> list[str]:
    """Each PagerDuty event sent with a severity none of its receiver's stated PagerDuty
    configs names (a Slack channel is judged by the route cases' arrivals already)."""
    problems = set()
    for n in notifications:
        stated = intent.get(n.receiver)
        if n.kind != "pagerduty" or stated is None:
            continue
        wanted = [
            c["severity"] for c in stated.integrations.get("pagerduty", []) if "severity" in c
        ]
        if wanted and n.severity not in wanted:
            problems.add(
                f"{n.receiver}: pagerduty sent severity {n.severity!r}, the intent says "
                f"{' or '.join(map(repr, wanted))}"
            )
    return sorted(problems)

"""What the seed's Fluent Bit config asks of a log pipeline, read from the config under test.

Fluent Bit itself cannot be installed here, so the gate's log shipper (`shipper.py`) does what
this config says, taking every setting it honours from the file: Merge_Log and Keep_Log of
the kubernetes filter, the fields record_modifier adds, the es output's Logstash index
prefix and date format, and the tail input's Skip_Long_Lines. What it cannot do off
Kubernetes, or must not do here (send to Datadog or a remote Elasticsearch), it lists in
`changes`, the way the Alertmanager adapter says what it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from obsgate.config import ObsConfig, load_yaml
from obsgate.errors import ConfigError

CONFIG_FILE = "k8s/monitoring/fluent-bit-config.yaml"
# Fluent Bit's defaults for the settings the config leaves out (tail, es output).
DEFAULT_BUFFER_MAX_SIZE = 32 * 1024
DEFAULT_DATE_FORMAT = "%Y.%m.%d"
DEFAULT_PREFIX_SEPARATOR = "-"
DEFAULT_TIME_KEY = "@timestamp"

Section = tuple[str, dict[str, list[str]]]


def parse_sections(text: str, where: str) -> list[Section]:
    """`[NAME]` headers and `Key Value` lines, keys lower-cased, repeated keys kept in order."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].strip().upper(), {}))
            continue
        if not sections:
            raise ConfigError(f"{where}:{number}: a setting before any [SECTION] (fix the file)")
        key, _, value = line.partition(" ")
        sections[-1][1].setdefault(key.lower(), []).append(value.strip())
    return sections


def plugins(sections: list[Section], kind: str, name: str) -> list[dict[str, list[str]]]:
    return [s for k, s in sections if k == kind and s.get("name", [""])[0].lower() == name]


def first(settings: dict[str, list[str]], key: str, default: str = "") -> str:
    return settings.get(key.lower(), [default])[0]


def is_on(value: str) -> bool:
    return value.lower() in ("on", "true", "yes", "1")


def size_bytes(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = text.strip().lower().removesuffix("b")
    return int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)


@dataclass(frozen=True)
class ShipperSettings:
    """The settings of the config that the gate's shipper honours, and what it leaves out."""

    merge_log: bool
    keep_log: bool
    added_fields: dict[str, str]
    index_prefix: str
    index_date_format: str
    time_key: str
    skip_long_lines: bool
    buffer_max_size: int
    changes: list[str] = field(default_factory=list)

    def index_for(self, date_text: str) -> str:
        return f"{self.index_prefix}{DEFAULT_PREFIX_SEPARATOR}{date_text}"


def shipper_settings(config: ObsConfig) -> ShipperSettings:
    """Read fluent-bit.conf from the ConfigMap in the config dir; ConfigError if it lacks a part."""
    path = config.path(CONFIG_FILE)
    where = str(path)
    conf = (load_yaml(Path(path)) or {}).get("data", {}).get("fluent-bit.conf")
    if not isinstance(conf, str):
        raise ConfigError(f"{where}: no data.fluent-bit.conf in the ConfigMap (fix the file)")
    sections = parse_sections(conf, f"{where} (fluent-bit.conf)")
    es_outputs = [
        o for o in plugins(sections, "OUTPUT", "es") if is_on(first(o, "logstash_format"))
    ]
    if not es_outputs:
        raise ConfigError(f"{where}: no [OUTPUT] es with Logstash_Format On: nothing to ship to")
    es = es_outputs[0]
    kube = plugins(sections, "FILTER", "kubernetes")
    tail = plugins(sections, "INPUT", "tail")
    added = {}
    for modifier in plugins(sections, "FILTER", "record_modifier"):
        for record in modifier.get("record", []):
            key, _, value = record.partition(" ")
            added[key] = value.strip()
    changes = [
        f"tails the files it is given instead of {first(tail[0], 'path')}" if tail else "",
        f"ships to the run's Elasticsearch instead of {first(es, 'host')}:{first(es, 'port')}"
        " (no TLS, no credentials)",
        "does not send to Datadog (nothing leaves 127.0.0.1)",
        "adds no Kubernetes metadata (pod, namespace, container, labels) and so no "
        "`service.name` from the modify filter: there is no Kubernetes API here",
        "record time is the time a line is read (as the docker parser's `time` would be)",
    ]
    return ShipperSettings(
        merge_log=bool(kube) and is_on(first(kube[0], "merge_log", "off")),
        keep_log=not kube or is_on(first(kube[0], "keep_log", "on")),
        added_fields=added,
        index_prefix=first(es, "logstash_prefix", "logstash"),
        index_date_format=first(es, "logstash_dateformat", DEFAULT_DATE_FORMAT),
        time_key=first(es, "time_key", DEFAULT_TIME_KEY),
        skip_long_lines=bool(tail) and is_on(first(tail[0], "skip_long_lines", "off")),
        buffer_max_size=size_bytes(first(tail[0], "buffer_max_size", "32k"))
        if tail
        else DEFAULT_BUFFER_MAX_SIZE,
        changes=[c for c in changes if c],
    )

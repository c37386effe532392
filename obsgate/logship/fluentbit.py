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
from obsgate.logship.fluentbit_conf import Section, is_on, parse_conf, plugins

CONFIG_FILE = "k8s/monitoring/fluent-bit-config.yaml"
# Fluent Bit's defaults for the settings the config leaves out (tail, es output).
DEFAULT_BUFFER_MAX_SIZE = 32 * 1024
DEFAULT_DATE_FORMAT = "%Y.%m.%d"
DEFAULT_PREFIX_SEPARATOR = "-"
DEFAULT_TIME_KEY = "@timestamp"


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


def config_files(config: ObsConfig) -> dict[str, list[Section]]:
    """Each file of the Fluent Bit ConfigMap (fluent-bit.conf, parsers.conf), parsed."""
    path = config.path(CONFIG_FILE)
    data = (load_yaml(Path(path)) or {}).get("data") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: `data` is not a mapping of file names to texts (fix the file)")
    return {name: parse_conf(str(data[name]), f"{path} ({name})") for name in sorted(data)}


def shipper_settings(config: ObsConfig) -> ShipperSettings:
    """Read fluent-bit.conf from the ConfigMap in the config dir; ConfigError if it lacks a part."""
    path = config.path(CONFIG_FILE)
    where = str(path)
    conf = (load_yaml(Path(path)) or {}).get("data", {}).get("fluent-bit.conf")
    if not isinstance(conf, str):
        raise ConfigError(f"{where}: no data.fluent-bit.conf in the ConfigMap (fix the file)")
    sections = parse_conf(conf, f"{where} (fluent-bit.conf)")
    es_outputs = [o for o in plugins(sections, "OUTPUT", "es") if is_on(o.get("Logstash_Format"))]
    if not es_outputs:
        raise ConfigError(f"{where}: no [OUTPUT] es with Logstash_Format On: nothing to ship to")
    es = es_outputs[0]
    kube = plugins(sections, "FILTER", "kubernetes")
    tail = plugins(sections, "INPUT", "tail")
    added = {}
    for modifier in plugins(sections, "FILTER", "record_modifier"):
        for record in modifier.values("Record"):
            key, _, value = record.partition(" ")
            added[key] = value.strip()
    changes = [
        f"tails the files it is given instead of {tail[0].get('Path', '')}" if tail else "",
        f"ships to the run's Elasticsearch instead of {es.get('Host', '')}:{es.get('Port', '')}"
        " (no TLS, no credentials)",
        "does not send to Datadog (nothing leaves 127.0.0.1)",
        "adds no Kubernetes metadata (pod, namespace, container, labels) and so no "
        "`service.name` from the modify filter: there is no Kubernetes API here",
        "record time is the time a line is read (as the docker parser's `time` would be)",
        "reads each line as the service wrote it: no container runtime wraps it (docker "
        "json-file, CRI) and no tail parser unwraps it",
    ]
    return ShipperSettings(
        merge_log=bool(kube) and is_on(kube[0].get("Merge_Log", "off")),
        keep_log=not kube or is_on(kube[0].get("Keep_Log", "on")),
        added_fields=added,
        index_prefix=es.get("Logstash_Prefix", "logstash"),
        index_date_format=es.get("Logstash_DateFormat", DEFAULT_DATE_FORMAT),
        time_key=es.get("Time_Key", DEFAULT_TIME_KEY),
        skip_long_lines=bool(tail) and is_on(tail[0].get("Skip_Long_Lines", "off")),
        buffer_max_size=size_bytes(tail[0].get("Buffer_Max_Size", "32k"))
        if tail
        else DEFAULT_BUFFER_MAX_SIZE,
        changes=[c for c in changes if c],
    )

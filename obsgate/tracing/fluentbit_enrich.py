"""What the seed's Fluent Bit config adds to a MindWeave log record in Kubernetes and the
gate's shipper leaves out (it has no Kubernetes API): the `namespace` the kubernetes and
modify filters write, and the modify filters' conditional `Add`s. Applied to a real line,
it shows whether Elasticsearch keeps the record Fluent Bit would really send.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.logship.fluentbit import CONFIG_FILE
from obsgate.logship.fluentbit_conf import parse_conf, plugins

VARIABLE = re.compile(r"\$\{[^}]+\}")


def conditional_additions(config: ObsConfig) -> list[tuple[list[str], str, str]]:
    """(condition words, key, value) of each `Add` in a modify filter, in config order."""
    path = config.path(CONFIG_FILE)
    conf = (load_yaml(Path(path)) or {}).get("data", {}).get("fluent-bit.conf", "")
    out = []
    for modify in plugins(parse_conf(conf, f"{path} (fluent-bit.conf)"), "FILTER", "modify"):
        conditions = [c.split() for c in modify.values("Condition")]
        for add in modify.values("Add"):
            key, _, value = add.partition(" ")
            out.append(([w for c in conditions for w in c], key, value.strip()))
    return out


def holds(condition: list[str], record: dict[str, Any]) -> bool:
    """Key_value_equals KEY VALUE (the one condition the seed uses); others never hold."""
    if not condition:
        return True
    if len(condition) == 3 and condition[0] == "Key_value_equals":
        return str(record.get(condition[1])) == condition[2]
    return False


def enrich(config: ObsConfig, record: dict[str, Any], namespace: str) -> dict[str, Any]:
    """`record` as Fluent Bit would send it from a pod in `namespace`: a `${...}` in an added
    value stands for the pod's `app` label, here the record's own `service`."""
    out = {**record, "namespace": namespace}
    for condition, key, value in conditional_additions(config):
        if holds(condition, out) and key not in out:  # modify's Add never overwrites
            out[key] = VARIABLE.sub(str(record.get("service", "")), value)
    return out

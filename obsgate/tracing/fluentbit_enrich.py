"""What the seed's Fluent Bit config adds to a MindWeave log record in Kubernetes and the
gate's shipper leaves out (it has no Kubernetes API): the `namespace` the kubernetes and
modify filters write, and the modify filters' conditional `Add`s. Applied to a real line,
it shows whether Elasticsearch keeps the record Fluent Bit would really send.

A `${NAME}` in an added value is read from Fluent Bit's environment once at start, as
Fluent Bit does (obsgate/logship/fluentbit_env.py), never from the record: the caller
says what that environment holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig, load_yaml
from obsgate.logship.fluentbit import CONFIG_FILE
from obsgate.logship.fluentbit_conf import parse_conf, plugins
from obsgate.logship.fluentbit_env import expand, modify_rule_problem, variables


class FluentBitRefusesToStart(Exception):
    """The config, with the given environment, is one Fluent Bit exits on at start."""


def conditional_additions(config: ObsConfig) -> list[tuple[list[str], str, str]]:
    """(condition words, key, value) of each `Add` in a modify filter, in config order; the
    value as written (`key value`, variables unexpanded)."""
    path = config.path(CONFIG_FILE)
    conf = (load_yaml(Path(path)) or {}).get("data", {}).get("fluent-bit.conf", "")
    out = []
    for modify in plugins(parse_conf(conf, f"{path} (fluent-bit.conf)"), "FILTER", "modify"):
        conditions = [c.split() for c in modify.values("Condition")]
        for add in modify.values("Add"):
            out.append(([w for c in conditions for w in c], "Add", add))
    return out


def added_variables(config: ObsConfig) -> list[str]:
    """The environment variables the modify filters' `Add`s read."""
    return sorted({v for _, _, add in conditional_additions(config) for v in variables(add)})


def holds(condition: list[str], record: dict[str, Any]) -> bool:
    """Key_value_equals KEY VALUE (the one condition the seed uses); others never hold."""
    if not condition:
        return True
    if len(condition) == 3 and condition[0] == "Key_value_equals":
        return str(record.get(condition[1])) == condition[2]
    return False


def enrich(
    config: ObsConfig, record: dict[str, Any], namespace: str, env: Mapping[str, str]
) -> dict[str, Any]:
    """`record` as Fluent Bit, started with environment `env`, sends it from a pod in
    `namespace`. FluentBitRefusesToStart where an `Add` expands to one word."""
    out = {**record, "namespace": namespace}
    for condition, rule, written in conditional_additions(config):
        added = expand(written, env)
        problem = modify_rule_problem(rule, added)
        if problem:
            raise FluentBitRefusesToStart(f"{rule} {written} -> {rule} {added!r}: {problem}")
        key, _, value = added.strip().partition(" ")
        if holds(condition, out) and key not in out:  # modify's Add never overwrites
            out[key] = value.strip()
    return out

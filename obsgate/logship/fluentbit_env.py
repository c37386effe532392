"""`${NAME}` in a Fluent Bit config is an environment variable, read once when Fluent Bit
starts (src/flb_env.c, flb_env_var_translate), never a field of the record being processed:
a per-record value needs the record accessor (`$kubernetes['labels']['app']`) where a
plugin takes one. This module expands values as Fluent Bit does, names the settings that
write a record field as a variable, and says what Fluent Bit then does with them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from obsgate.logship.fluentbit_conf import Section, plugins

# flb_env_var_translate: `${NAME}` or `${NAME:-default}`, the first `}` closing it.
VARIABLE = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")
# What the kubernetes filter writes under `kubernetes` (labels and annotations are maps).
KUBERNETES_KEY = "kubernetes"
KUBERNETES_FIELDS = (
    "pod_name", "namespace_name", "pod_id", "pod_ip", "host", "container_name", "docker_id",
    "container_hash", "container_image", "labels", "annotations", "owner_references",
)  # fmt: skip
KUBERNETES_MAPS = ("labels", "annotations")
# filter_modify's rules by the number of words their value takes (plugins/filter_modify).
MODIFY_ONE_WORD = ("remove", "remove_wildcard", "remove_regex", "move_to_start", "move_to_end")
MODIFY_TWO_WORDS = (
    "rename", "hard_rename", "add", "add_if_not_present", "set", "copy", "hard_copy",
)  # fmt: skip
MODIFY_NEW_KEY_SECOND = ("rename", "hard_rename", "copy", "hard_copy")


def variables(value: str) -> list[str]:
    """The environment variables a setting's value reads."""
    return [m["name"] for m in VARIABLE.finditer(value)]


def expand(value: str, env: Mapping[str, str]) -> str:
    """The value as Fluent Bit sets it: each variable replaced by its value in `env`, its
    `:-` default, or nothing (Fluent Bit warns "is used but not set" and goes on)."""

    def one(match: re.Match[str]) -> str:
        found = env.get(match["name"]) or ""
        return found or (match["default"] or "")

    return VARIABLE.sub(one, value)


def record_field_names(sections: list[Section]) -> tuple[set[str], set[str]]:
    """Names under which the pipeline's records hold a field, flattened with `_` as a nest
    lift flattens them: (whole names, map names whose `<name>_<key>` is a field too)."""
    prefixes = {f"{KUBERNETES_KEY}_"}
    for nest in plugins(sections, "FILTER", "nest"):
        lift = (nest.get("Operation") or "").lower() == "lift"
        if lift and (nest.get("Nested_under") or "") == KUBERNETES_KEY:
            prefixes.add(nest.get("Add_prefix") or "")
    names = {p + f for p in prefixes for f in KUBERNETES_FIELDS if p}
    maps = {p + f for p in prefixes for f in KUBERNETES_MAPS if p}
    for section in sections:
        if section.kind != "FILTER":
            continue
        for key, value, _ in section.entries:
            words = value.split()
            if section.name == "record_modifier" and key.lower() == "record" and words:
                names.add(words[0])
            rule = key.lower()
            if section.name == "modify" and rule in MODIFY_TWO_WORDS and len(words) == 2:
                names.add(words[1] if rule in MODIFY_NEW_KEY_SECOND else words[0])
    return names, maps


def names_a_record_field(name: str, fields: tuple[set[str], set[str]]) -> bool:
    whole, maps = fields
    return name in whole or any(name.startswith(f"{m}_") for m in maps)


@dataclass(frozen=True)
class RecordVariable:
    """A setting that writes a record field as an environment variable."""

    section: Section
    key: str
    value: str
    line: int

    @property
    def item(self) -> str:
        return f"[{self.section.kind}] {self.section.name}: {self.key} {self.value}"

    def what_fluent_bit_does(self, env: Mapping[str, str]) -> str:
        """What this setting becomes at start, with Fluent Bit's environment `env`."""
        expanded = expand(self.value, env)
        problem = modify_rule_problem(self.key, expanded) if self.section.name == "modify" else None
        unset = [v for v in variables(self.value) if not env.get(v)]
        read = (
            f"{', '.join('${' + v + '}' for v in unset)} not in Fluent Bit's environment"
            if unset
            else "read once from Fluent Bit's environment"
        )
        head = f"fluent-bit.conf:{self.line}: {self.key} {expanded!r} at start ({read})"
        if problem:
            return f"{head}: {problem}"
        return f"{head}: the same value for every record, not the record's own field"


def record_variables(sections: list[Section]) -> list[RecordVariable]:
    """Every setting of an input, filter or output whose variable names a record field."""
    fields = record_field_names(sections)
    out = []
    for section in sections:
        if section.kind not in ("INPUT", "FILTER", "OUTPUT"):
            continue
        for key, value, line in section.entries:
            if any(names_a_record_field(v, fields) for v in variables(value)):
                out.append(RecordVariable(section, key, value, line))
    return out


def modify_rule_problem(key: str, value: str) -> str | None:
    """Why filter_modify refuses a rule (`Add service.name ` has one word), which makes
    Fluent Bit exit at start ("[engine] filter initialization failed"); None if it takes it."""
    rule = key.lower()
    if rule == "condition":
        return None
    try:
        words = shlex.split(value)
    except ValueError:
        return f"modify cannot split {value!r} (an unclosed quote)"
    wanted = 1 if rule in MODIFY_ONE_WORD else 2 if rule in MODIFY_TWO_WORDS else None
    if wanted is None:
        return None
    if len(words) < wanted:
        return (
            f"modify's {key} takes {wanted} word{'s' if wanted > 1 else ''}, gets {len(words)}: "
            "the filter fails to initialise and Fluent Bit exits at start "
            "([engine] filter initialization failed), so no log is shipped at all"
        )
    return None

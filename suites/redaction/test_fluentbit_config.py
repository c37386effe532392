"""The seed's Fluent Bit config keeps what pino redacted redacted, and lands where searched.

Merge_Log On lifts pino's (already redacted) fields to the record's root and Keep_Log Off
drops the raw line beside them; the JSON parser is meant for the services' container logs;
the es output writes the Logstash index the searches read. The gate's shipper must read
the same settings from the same file and do the same.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.logship import shipper_settings
from obsgate.logship.container_lines import samples, unread_lines
from obsgate.logship.fluentbit import config_files
from obsgate.logship.fluentbit_conf import (
    FluentBitSyntaxError,
    Section,
    is_on,
    parse_conf,
    plugins,
)
from obsgate.logship.fluentbit_env import record_variables
from obsgate.redaction.logstore import LogStore
from obsgate.stack.endpoint import Endpoint

from .conftest import RedactionIntent

pytestmark = [pytest.mark.redaction]


def seed_files(config: ObsConfig) -> dict[str, list[Section]]:
    return config_files(config)


def parsers_of(files: dict[str, list[Section]]) -> dict[str, Section]:
    """The [PARSER]s of the file [SERVICE] Parsers_File names (a key of the ConfigMap)."""
    service = [s for s in files.get("fluent-bit.conf", []) if s.kind == "SERVICE"]
    name = (service[0].get("Parsers_File") if service else None) or "parsers.conf"
    return {p.get("Name") or "": p for p in files.get(name, []) if p.kind == "PARSER"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Name tail\n", ":1: a setting before any [SECTION]"),
        ("[INPUTS]\n    Name tail\n", ":1: unknown section [INPUTS]"),
        ("[INPUT\n    Name tail\n", ":1: '[INPUT' is not a `[SECTION]` header"),
        ("[INPUT]\n    Name tail\n    Path\n", ":3: Path has no value"),
        ("[INPUT]\n    Name tail\n  Path /x\n", ":3: indented 2 spaces, the section's"),
        ("[INPUT]\nName tail\n", ":2: a setting must be indented"),
        ("[INPUT]\n\tName tail\n", ":2: a tab in the indentation"),
        ("[FILTER]\n    Match *\n", ":1: [FILTER] has no Name"),
        ("@INCLUDE other.conf\n", ":1: @INCLUDE is not supported here"),
    ],
)
def test_parser_refuses_what_fluent_bit_refuses(text: str, error: str) -> None:
    with pytest.raises(FluentBitSyntaxError) as caught:
        parse_conf(text, "fluent-bit.conf")
    assert f"fluent-bit.conf{error}" in str(caught.value)


def test_merge_log_on_keep_log_off_on_every_kube_record(obs_config: ObsConfig) -> None:
    conf = seed_files(obs_config)["fluent-bit.conf"]
    [kube] = plugins(conf, "FILTER", "kubernetes")
    assert is_on(kube.get("Merge_Log")), f"line {kube.line}: Merge_Log is {kube.get('Merge_Log')}"
    assert not is_on(kube.get("Keep_Log", "On")), f"line {kube.line}: Keep_Log is not Off"
    [tail] = plugins(conf, "INPUT", "tail")
    tag = (tail.get("Tag") or "").replace("*", "var.log.containers.x.log")
    assert kube.matches(tag), f"the kubernetes filter's Match misses the tail input's tag {tag}"


def test_json_parser_is_a_json_format_parser(obs_config: ObsConfig) -> None:
    files = seed_files(obs_config)
    filters = plugins(files["fluent-bit.conf"], "FILTER", "parser")
    names = {f.get("Parser") for f in filters}
    parsers = {p.get("Name"): p for p in files["parsers.conf"] if p.kind == "PARSER"}
    assert names and names <= set(parsers), f"parser filters use {names}, defined {set(parsers)}"
    for name in names:
        assert parsers[name].get("Format") == "json", f"parser {name}: {parsers[name].entries}"


def test_json_parser_matches_the_services_container_logs(
    obs_config: ObsConfig, redaction_intent: RedactionIntent
) -> None:
    """The tail input tags `kube.<path>`; a service's container log is
    /var/log/containers/<pod>_<namespace>_<container>-<id>.log, its pod `<service>-<hash>`.
    The evidence is the services whose logs the json parser filter never sees."""
    conf = seed_files(obs_config)["fluent-bit.conf"]
    json_filters = [f for f in plugins(conf, "FILTER", "parser") if f.get("Parser") == "json"]
    namespace = redaction_intent.pipeline["namespace"]
    missed = {}
    for service in redaction_intent.pipeline["services"]:
        pod = f"{service}-7d9f8b6c5-x2k4q"
        tag = f"kube.var.log.containers.{pod}_{namespace}_{service}-0123abcd.log"
        if not any(f.matches(tag) for f in json_filters):
            missed[service] = tag
    matches = [f.get("Match") for f in json_filters]
    judge(
        holds=not missed,
        finding=universal_finding(obs_config, "fluentbit-json-parser-matches-services"),
        observed=sorted(missed),
        failure=f"the json parser filter (Match {matches}) never sees {list(missed.values())}",
    )


def test_es_output_writes_the_searched_index(
    obs_config: ObsConfig, redaction_intent: RedactionIntent
) -> None:
    conf = seed_files(obs_config)["fluent-bit.conf"]
    outputs = [o for o in plugins(conf, "OUTPUT", "es") if is_on(o.get("Logstash_Format"))]
    assert outputs, "no es output with Logstash_Format On"
    prefixes = {o.get("Logstash_Prefix") for o in outputs}
    assert prefixes == {redaction_intent.pipeline["index_prefix"]}, prefixes


def test_shipper_reads_the_same_settings(obs_config: ObsConfig) -> None:
    conf = seed_files(obs_config)["fluent-bit.conf"]
    [kube] = plugins(conf, "FILTER", "kubernetes")
    [es] = [o for o in plugins(conf, "OUTPUT", "es") if is_on(o.get("Logstash_Format"))]
    settings = shipper_settings(obs_config)
    ours = (
        is_on(kube.get("Merge_Log")),
        is_on(kube.get("Keep_Log", "On")),
        es.get("Logstash_Prefix"),
    )
    assert (settings.merge_log, settings.keep_log, settings.index_prefix) == ours


@pytest.mark.needs("elasticsearch")
@pytest.mark.writes("ships a test log line into the log store")
def test_shipper_stores_a_redacted_line_at_the_root_without_the_raw_line(
    elasticsearch: Endpoint, obs_config: ObsConfig, tmp_path: Path
) -> None:
    case = uuid.uuid4().hex
    log = tmp_path / "svc.log"
    log.touch()
    store = LogStore(elasticsearch.url, shipper_settings(obs_config), [log])
    log.write_text(json.dumps({"gate_case": case, "password": "[REDACTED]"}) + "\n")
    assert store.ship().shipped == 1
    [doc] = store.docs("gate_case", [case])
    prefix = store.settings.index_prefix
    assert doc["_index"].startswith(f"{prefix}-"), doc["_index"]
    assert doc["password"] == "[REDACTED]" and "log" not in doc, doc


def test_record_fields_are_not_written_as_environment_variables(obs_config: ObsConfig) -> None:
    """`${NAME}` is an environment variable Fluent Bit reads once at start, never a field
    of the record: a setting that means the record's own value (the pod's `app` label)
    gets one value for every record, or none, and modify's `Add KEY ${unset}` is left
    with one word, which makes Fluent Bit refuse to start."""
    conf = seed_files(obs_config)["fluent-bit.conf"]
    found = record_variables(conf)
    judge(
        holds=not found,
        finding=universal_finding(obs_config, "fluentbit-record-field-as-env-var"),
        observed=[f.item for f in found],
        failure="settings that write a record field as an environment variable (use the "
        "record accessor where the plugin takes one, e.g. $kubernetes['labels']['app']):\n"
        + "\n".join(f"    {f.item}\n      {f.what_fluent_bit_does({})}" for f in found),
    )


def test_tail_input_hands_each_runtime_s_line_to_merge_log(obs_config: ObsConfig) -> None:
    """A node writes a container's line as docker's json-file or as CRI (containerd,
    CRI-O); the tail input's parser must leave the service's own line in `log` for both,
    or Merge_Log finds no JSON and the line is stored raw, none of its fields parsed."""
    files = seed_files(obs_config)
    tails = plugins(files["fluent-bit.conf"], "INPUT", "tail")
    lines = samples()
    unread = unread_lines(tails, parsers_of(files), lines)
    judge(
        holds=not unread,
        finding=universal_finding(obs_config, "fluentbit-tail-parser-runtime-formats"),
        observed=unread,
        failure="tail inputs whose parser does not hand the service's line to Merge_Log "
        "(use `multiline.parser docker, cri`):\n"
        + "\n".join(f"    {u}" for u in unread)
        + "".join(f"\n  {line.runtime} line: {line.raw[:120]}..." for line in lines),
    )

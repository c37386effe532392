"""The pure parts of the redaction suite's log-shipping checks, on small Fluent Bit configs:
`${...}` expanded as Fluent Bit does, modify's rule arity, the tail input's parsers on real
runtime lines, and the log paths to each destination with their masking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError
from obsgate.logship.container_lines import (
    CRI_REGEX,
    ContainerLine,
    onigmo_to_python,
    parse_with,
    samples,
    unread_lines,
)
from obsgate.logship.fluentbit_conf import Section, parse_conf, plugins
from obsgate.logship.fluentbit_env import (
    expand,
    modify_rule_problem,
    record_variables,
    variables,
)
from obsgate.logship.topology import (
    agent_paths,
    config_paths,
    fluent_bit_paths,
    in_cluster,
    topology_problems,
)
from obsgate.tracing.fluentbit_enrich import FluentBitRefusesToStart, added_variables, enrich

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "mindweave"
# Fluent Bit's own classic `cri` parser (conf/parsers.conf of fluent/fluent-bit v5.1).
CLASSIC_CRI = (
    "[PARSER]\n    Name cri\n    Format regex\n"
    "    Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>[^ ]*) (?<message>.*)$\n"
)
DOCKER = "[PARSER]\n    Name docker\n    Format json\n    Time_Key time\n"


def conf(text: str) -> list[Section]:
    return parse_conf(text, "fluent-bit.conf")


def tail(**settings: str) -> str:
    lines = ["[INPUT]", "    Name tail", "    Tag kube.*", "    Path /var/log/containers/*.log"]
    return "\n".join(lines + [f"    {k} {v}" for k, v in settings.items()]) + "\n"


# -- ${...}: environment variables, read once at start ---------------------------------------


@pytest.mark.parametrize(
    ("value", "env", "expanded"),
    [
        ("service.name ${kubernetes_labels_app}", {}, "service.name "),
        ("${DD_API_KEY}", {"DD_API_KEY": "k"}, "k"),
        ("${UNSET:-fallback}", {}, "fallback"),
        ("${EMPTY:-fallback}", {"EMPTY": ""}, "fallback"),
        ("a ${X} b ${Y}", {"X": "1", "Y": "2"}, "a 1 b 2"),
        ("no variable", {}, "no variable"),
    ],
)
def test_expand_is_fluent_bit_s_env_translation(
    value: str, env: dict[str, str], expanded: str
) -> None:
    assert expand(value, env) == expanded


def test_variables_names_each_variable_without_its_default() -> None:
    assert variables("x ${A} ${B:-d} y") == ["A", "B"]


@pytest.mark.parametrize(
    ("key", "value", "refused"),
    [
        ("Add", "service.name ", True),
        ("Add", "service.name api-gateway", False),
        ("Set", "level", True),
        ("Rename", "a b", False),
        ("Remove", "password", False),
        ("Remove", "", True),
        ("Condition", "Key_value_equals namespace x", False),
    ],
)
def test_modify_refuses_a_rule_with_too_few_words(key: str, value: str, refused: bool) -> None:
    problem = modify_rule_problem(key, value)
    assert (problem is not None) is refused, problem
    if refused:
        assert "Fluent Bit exits at start" in str(problem)


def test_seed_writes_the_app_label_as_an_environment_variable_twice() -> None:
    found = record_variables(seed_conf())
    assert [f.item for f in found] == [
        "[FILTER] modify: Add service.name ${kubernetes_labels_app}",
        "[OUTPUT] datadog: dd_service ${kubernetes_labels_app}",
    ]
    add, dd = found
    assert "Fluent Bit exits at start" in add.what_fluent_bit_does({})
    assert "'service.name '" in add.what_fluent_bit_does({})
    assert "dd_service ''" in dd.what_fluent_bit_does({})
    set_env = add.what_fluent_bit_does({"kubernetes_labels_app": "x"})
    assert "the same value for every record" in set_env and "exits" not in set_env


def test_secrets_and_hostnames_from_the_environment_are_not_record_fields() -> None:
    text = (
        "[FILTER]\n    Name record_modifier\n    Match *\n    Record host ${HOSTNAME}\n"
        "[OUTPUT]\n    Name es\n    Match *\n    HTTP_Passwd ${ELASTICSEARCH_PASSWORD}\n"
        "[OUTPUT]\n    Name datadog\n    Match *\n    apikey ${DD_API_KEY}\n"
    )
    assert record_variables(conf(text)) == []


def test_a_lifted_field_under_the_nest_filter_s_own_prefix_is_a_record_field() -> None:
    text = (
        "[FILTER]\n    Name nest\n    Match *\n    Operation lift\n    Nested_under kubernetes\n"
        "    Add_prefix k8s_\n"
        "[FILTER]\n    Name modify\n    Match *\n    Add pod ${k8s_pod_name}\n"
        "[FILTER]\n    Name modify\n    Match *\n    Add region ${cluster}\n"
        "[FILTER]\n    Name record_modifier\n    Match *\n    Record cluster prod\n"
    )
    items = [f.item for f in record_variables(conf(text))]
    assert items == [
        "[FILTER] modify: Add pod ${k8s_pod_name}",
        "[FILTER] modify: Add region ${cluster}",
    ]


def test_a_fixed_config_without_record_variables_passes() -> None:
    text = (
        "[FILTER]\n    Name modify\n    Match kube.*\n    Copy kubernetes_labels_app service_name\n"
        "[OUTPUT]\n    Name datadog\n    Match *\n    dd_source kubernetes\n"
    )
    assert record_variables(conf(text)) == []


def test_enrich_reads_variables_from_fluent_bit_s_environment_not_the_record() -> None:
    config = ObsConfig(SEED)
    record = {"service": "api-gateway", "msg": "x"}
    assert added_variables(config) == ["kubernetes_labels_app"]
    with pytest.raises(FluentBitRefusesToStart, match=re.escape("'service.name '")):
        enrich(config, record, "mindweave-services", {})
    out = enrich(config, record, "mindweave-services", {"kubernetes_labels_app": "same"})
    assert out["service.name"] == "same" and out["namespace"] == "mindweave-services"
    other = enrich(config, record, "default", {"kubernetes_labels_app": "same"})
    assert "service.name" not in other


# -- the tail input's parser on real runtime lines ------------------------------------------


def test_fixture_lines_are_what_the_runtimes_write() -> None:
    lines = {line.runtime: line for line in samples()}
    assert sorted(lines) == ["cri", "docker-json-file"]
    app = json.loads(lines["cri"].app_line)
    assert app["msg"] and app["service"] == "api-gateway"
    docker = json.loads(lines["docker-json-file"].raw)
    assert list(docker) == ["log", "stream", "time"] and docker["log"].endswith("\n")
    assert docker["log"] == lines["docker-json-file"].app_line + "\n"
    cri = parse_with("regex", CRI_REGEX, lines["cri"].raw)
    assert cri is not None and (cri["stream"], cri["_p"]) == ("stdout", "F")
    assert cri["log"] == lines["cri"].app_line


def test_onigmo_named_groups_read_as_python_s() -> None:
    assert onigmo_to_python(r"^(?<time>[^ ]+) (?:x)") == r"^(?P<time>[^ ]+) (?:x)"


@pytest.mark.parametrize(
    ("settings", "parsers", "unread"),
    [
        ({"Parser": "docker"}, DOCKER, ["cri line not parsed (Parser docker)"]),
        ({"multiline.parser": "docker, cri"}, "", []),
        ({"multiline.parser": "cri, docker", "Parser": "docker"}, DOCKER, []),
        (
            {"multiline.parser": "cri"},
            "",
            ["docker-json-file line not parsed (multiline.parser cri)"],
        ),
        (
            {"Parser": "cri"},
            CLASSIC_CRI,
            [
                "cri line not parsed (Parser cri)",
                "docker-json-file line not parsed (Parser cri)",
            ],
        ),
        (
            {},
            "",
            [
                "cri line not parsed (no parser)",
                "docker-json-file line not parsed (no parser)",
            ],
        ),
        (
            {"Parser": "nginx"},
            "",
            [
                "cri line not parsed (Parser nginx (not defined))",
                "docker-json-file line not parsed (Parser nginx (not defined))",
            ],
        ),
    ],
)
def test_tail_parser_against_docker_and_cri_lines(
    settings: dict[str, str], parsers: str, unread: list[str]
) -> None:
    tails = plugins(conf(tail(**settings)), "INPUT", "tail")
    defined = {p.get("Name") or "": p for p in conf(parsers)} if parsers else {}
    found = unread_lines(tails, defined, samples())
    assert found == [f"[INPUT] tail /var/log/containers/*.log: {u}" for u in unread]


def test_a_line_whose_log_is_not_the_app_line_is_unread() -> None:
    line = ContainerLine("cri", '2024-05-14T09:26:53Z stdout P {"msg":', '{"msg":"x"}')
    tails = plugins(conf(tail(**{"multiline.parser": "cri"})), "INPUT", "tail")
    assert unread_lines(tails, {}, [line]) == [
        "[INPUT] tail /var/log/containers/*.log: cri line not parsed (multiline.parser cri)"
    ]


# -- log paths to each destination ------------------------------------------------------------

AGENT = {
    "kind": "DatadogAgent",
    "spec": {
        "global": {"site": "datadoghq.com"},
        "features": {"logCollection": {"enabled": True, "containerCollectAll": True}},
    },
}
FLUENT_BIT = tail() + (
    "[OUTPUT]\n    Name datadog\n    Match *\n"
    "[OUTPUT]\n    Name es\n    Match kube.*\n    Host elasticsearch.logging\n    Port 9200\n"
)
LUA = "[FILTER]\n    Name lua\n    Match kube.*\n    script mask.lua\n    call mask\n"


def test_in_cluster_hosts() -> None:
    assert in_cluster("elasticsearch.mindweave-monitoring")
    assert in_cluster("es.logging.svc.cluster.local") and in_cluster("es")
    assert not in_cluster("http-intake.logs.datadoghq.com")


def test_one_destination_two_paths_is_named_once() -> None:
    paths = fluent_bit_paths(conf(FLUENT_BIT)) + agent_paths(AGENT, "agent.yaml")
    assert topology_problems(paths) == [
        "datadog (datadoghq.com): datadog-agent containerCollectAll; fluent-bit [OUTPUT] datadog"
    ]


def test_a_masking_filter_the_agent_path_bypasses_is_named() -> None:
    paths = fluent_bit_paths(conf(FLUENT_BIT + LUA)) + agent_paths(AGENT, "agent.yaml")
    problems = topology_problems(paths)
    assert problems[1:] == [
        "datadog-agent containerCollectAll -> datadog (datadoghq.com): no masking (the other "
        "paths pass fluent-bit [FILTER] lua (line 13))"
    ]


def test_one_path_per_destination_passes() -> None:
    off = {**AGENT, "spec": {**AGENT["spec"], "features": {"logCollection": {"enabled": True}}}}
    assert agent_paths(off, "agent.yaml") == []
    assert topology_problems(fluent_bit_paths(conf(FLUENT_BIT)) + agent_paths(off, "a")) == []
    masked = {
        **AGENT,
        "spec": {
            **AGENT["spec"],
            "override": {"nodeAgent": {"env": [
                {"name": "DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL", "value": "true"},
                {"name": "DD_LOGS_CONFIG_PROCESSING_RULES",
                 "value": '[{"type": "mask_sequences", "name": "keys", "pattern": "mw_"}]'},
            ]}},
        },
    }  # fmt: skip
    only_es = tail() + "[OUTPUT]\n    Name es\n    Match kube.*\n    Host es.logging\n" + LUA
    paths = fluent_bit_paths(conf(only_es)) + agent_paths(masked, "agent.yaml")
    assert [p.masking for p in paths if p.external] == [
        frozenset({"datadog-agent processing rule keys"})
    ]
    assert topology_problems(paths) == []


def test_the_agent_s_env_var_wins_over_the_feature() -> None:
    override = {"nodeAgent": {"env": [
        {"name": "DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL", "value": "false"}]}}  # fmt: skip
    doc = {**AGENT, "spec": {**AGENT["spec"], "override": override}}
    assert agent_paths(doc, "agent.yaml") == []


def test_processing_rules_that_are_not_json_are_one_clear_error() -> None:
    override = {"nodeAgent": {"env": [
        {"name": "DD_LOGS_CONFIG_PROCESSING_RULES", "value": "[{type: mask"}]}}  # fmt: skip
    doc = {**AGENT, "spec": {**AGENT["spec"], "override": override}}
    with pytest.raises(ConfigError, match=r"agent\.yaml: DD_LOGS_CONFIG_PROCESSING_RULES is not"):
        agent_paths(doc, "agent.yaml")


def test_a_config_without_the_agent_has_fluent_bit_s_paths_only(tmp_path: Path) -> None:
    (tmp_path / "k8s" / "monitoring").mkdir(parents=True)
    config = ObsConfig(tmp_path)
    paths = config_paths(config, conf(FLUENT_BIT))
    assert [p.source for p in paths] == ["fluent-bit [OUTPUT] datadog", "fluent-bit [OUTPUT] es"]
    (tmp_path / "k8s" / "monitoring" / "datadog-agent.yaml").write_text(yaml.safe_dump(AGENT))
    assert len(config_paths(config, conf(FLUENT_BIT))) == 3


def seed_conf() -> list[Section]:
    data = yaml.safe_load((SEED / "k8s" / "monitoring" / "fluent-bit-config.yaml").read_text())
    return conf(data["data"]["fluent-bit.conf"])

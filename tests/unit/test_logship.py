"""The log shipper does what the seed's Fluent Bit config says, into a real Elasticsearch.

The redaction and tracing suites will search Elasticsearch for what the app logged, through
this stand-in for Fluent Bit; so here each setting it honours is shown to hold, read from the
config under test, and no line is lost without a reason.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError, ServiceError
from obsgate.logship import LogShipper, shipper_settings
from obsgate.logship.fluentbit import CONFIG_FILE
from obsgate.stack.endpoint import Endpoint

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "mindweave"
SEARCH_TIMEOUT = 15.0

pytestmark = [
    pytest.mark.needs("elasticsearch"),
    pytest.mark.writes("ships test log lines into the mindweave-logs index"),
]


def shipper_for(config_dir: Path, es: Endpoint, log_dir: Path) -> LogShipper:
    return LogShipper(shipper_settings(ObsConfig(config_dir)), es.url, [f"{log_dir}/*.log"])


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def docs_with(es: Endpoint, field: str, value: str) -> list[dict[str, Any]]:
    """The stored documents whose `field` is `value`, waiting (bounded) for at least one."""
    deadline = time.monotonic() + SEARCH_TIMEOUT
    while True:
        requests.post(f"{es.url}/mindweave-logs-*/_refresh", timeout=10)
        search = requests.post(
            f"{es.url}/mindweave-logs-*/_search",
            json={"query": {"match_phrase": {field: value}}},
            timeout=10,
        )
        hits = search.json().get("hits", {}).get("hits", []) if search.ok else []
        if hits or time.monotonic() > deadline:
            return [hit["_source"] | {"_index": hit["_index"]} for hit in hits]
        time.sleep(0.2)


def test_json_line_is_merged_at_the_root_without_the_raw_log(
    elasticsearch: Endpoint, tmp_path: Path
) -> None:
    """Merge_Log On, Keep_Log Off, record_modifier's fields, Logstash prefix and date."""
    marker = uuid.uuid4().hex
    line = {"level": "info", "msg": "incoming request", "marker": marker, "req": {"method": "GET"}}
    append(tmp_path / "api-gateway.log", json.dumps(line))
    shipper = shipper_for(SEED, elasticsearch, tmp_path)
    report = shipper.ship_new_lines()
    assert (report.shipped, report.raw, report.dropped) == (1, 0, []), report
    [doc] = docs_with(elasticsearch, "marker", marker)
    assert doc["msg"] == "incoming request" and doc["req"] == {"method": "GET"}, doc
    assert "log" not in doc, f"Keep_Log Off, yet the raw line was stored: {doc}"
    assert (doc["cluster"], doc["region"]) == ("mindweave-production", "us-east-1"), doc
    date = doc["@timestamp"][:10].replace("-", ".")
    assert doc["_index"] == f"mindweave-logs-{date}" and report.indices == {doc["_index"]}


def test_line_that_is_not_json_is_stored_raw(elasticsearch: Endpoint, tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    append(tmp_path / "worker.log", f"panic: not json {marker}", "")
    report = shipper_for(SEED, elasticsearch, tmp_path).ship_new_lines()
    assert (report.shipped, report.raw) == (1, 1), report
    assert [d for d in report.dropped if "empty line" in d], report  # counted, not lost
    [doc] = docs_with(elasticsearch, "log", f"panic: not json {marker}")
    assert doc["cluster"] == "mindweave-production", doc


def test_tail_ships_each_complete_line_once(elasticsearch: Endpoint, tmp_path: Path) -> None:
    """A line still being written waits for its newline; a shipped line is not shipped again."""
    log, marker = tmp_path / "svc.log", uuid.uuid4().hex
    shipper = shipper_for(SEED, elasticsearch, tmp_path)
    append(log, json.dumps({"marker": marker, "n": 1}))
    with log.open("a") as handle:
        handle.write(json.dumps({"marker": marker, "n": 2})[:10])  # half a line
    assert shipper.ship_new_lines().shipped == 1
    with log.open("a") as handle:
        handle.write(json.dumps({"marker": marker, "n": 2})[10:] + "\n")
    second = shipper.ship_new_lines()
    assert second.shipped == 1 and second.dropped == [], second
    assert shipper.ship_new_lines().shipped == 0
    assert sorted(d["n"] for d in docs_with(elasticsearch, "marker", marker)) == [1, 2]


def test_lines_not_stored_are_named_with_the_reason(
    elasticsearch: Endpoint, tmp_path: Path
) -> None:
    """Skip_Long_Lines, and a document Elasticsearch rejects: each named, with file and line."""
    field, log = f"f{uuid.uuid4().hex}", tmp_path / "svc.log"
    append(
        log,
        json.dumps({field: 1}),
        json.dumps({field: {"nested": "object"}}),  # a mapping conflict with line 1
        json.dumps({"big": "x" * 40_000}),
    )
    report = shipper_for(SEED, elasticsearch, tmp_path).ship_new_lines()
    assert report.shipped == 1, report
    assert len(report.dropped) == 2, report
    assert report.dropped[0].startswith(f"{log}:3: longer than 32768 bytes"), report.dropped
    assert report.dropped[1].startswith(f"{log}:2: rejected by Elasticsearch:"), report.dropped


def test_settings_come_from_the_config_under_test(elasticsearch: Endpoint, tmp_path: Path) -> None:
    """Change the prefix and Keep_Log in a copy of the config: the shipper follows the file."""
    config = tmp_path / "config"
    shutil.copytree(SEED, config)
    fluent = config / CONFIG_FILE
    text = fluent.read_text()
    for old, new in [
        ("Logstash_Prefix   mindweave-logs", "Logstash_Prefix   mindweave-logs-keep"),
        ("Keep_Log            Off", "Keep_Log            On"),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    fluent.write_text(text)
    (tmp_path / "logs").mkdir()
    marker = uuid.uuid4().hex
    append(tmp_path / "logs" / "svc.log", json.dumps({"marker": marker}))
    report = shipper_for(config, elasticsearch, tmp_path / "logs").ship_new_lines()
    [doc] = docs_with(elasticsearch, "marker", marker)
    assert doc["_index"].startswith("mindweave-logs-keep-"), doc
    assert json.loads(doc["log"]) == {"marker": marker}, doc
    assert report.indices == {doc["_index"]}


def test_config_without_an_es_output_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(SEED, config)
    fluent = config / CONFIG_FILE
    fluent.write_text(fluent.read_text().replace("Logstash_Format   On", "Logstash_Format   Off"))
    with pytest.raises(ConfigError, match="no \\[OUTPUT\\] es with Logstash_Format On"):
        shipper_settings(ObsConfig(config))


def test_config_fluent_bit_would_refuse_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    """The shipper reads fluent-bit.conf as strictly as Fluent Bit starts from it."""
    config = tmp_path / "config"
    shutil.copytree(SEED, config)
    fluent = config / CONFIG_FILE
    fluent.write_text(fluent.read_text().replace("[SERVICE]", "[SERVICES]", 1))
    where = r"fluent-bit-config\.yaml \(fluent-bit\.conf\):1: unknown section \[SERVICES\]"
    with pytest.raises(ConfigError, match=where):
        shipper_settings(ObsConfig(config))


def test_running_in_the_background_ships_what_the_app_writes(
    elasticsearch: Endpoint, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    shipper = shipper_for(SEED, elasticsearch, tmp_path)
    with shipper.running(interval=0.2):
        append(tmp_path / "svc.log", json.dumps({"marker": marker}))
        assert docs_with(elasticsearch, "marker", marker), "not shipped while running"
    assert shipper.total.shipped == 1 and shipper.errors == [], shipper.total


def test_elasticsearch_away_keeps_the_lines_for_later(
    elasticsearch: Endpoint, tmp_path: Path
) -> None:
    """An unreachable store is an error, and the lines are shipped once it is back."""
    marker = uuid.uuid4().hex
    append(tmp_path / "svc.log", json.dumps({"marker": marker}))
    shipper = shipper_for(SEED, elasticsearch, tmp_path)
    shipper.es_url = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(ServiceError, match="unreachable, nothing shipped"):
        shipper.ship_new_lines()
    shipper.es_url = elasticsearch.url
    assert shipper.ship_new_lines().shipped == 1
    assert docs_with(elasticsearch, "marker", marker)

"""Lines that are not clean JSON: nothing is lost silently (stored raw, or counted as
dropped with its reason), and no secret the app redacted comes back through the raw path.

The lines are written as a container's log holds them: pino's lines (made by the services'
logger from the config under test) beside whatever else the process printed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from obsgate.config import ObsConfig, load_yaml
from obsgate.findings import judge, universal_finding
from obsgate.logship import shipper_settings
from obsgate.logship.fluentbit import CONFIG_FILE
from obsgate.logship.fluentbit_conf import Section, is_on, parse_conf, plugins
from obsgate.redaction.events import logged_line
from obsgate.redaction.logstore import LogStore, Placement, new_secret
from obsgate.stack.endpoint import Endpoint

from .conftest import RedactionIntent

pytestmark = [
    pytest.mark.redaction,
    pytest.mark.needs("elasticsearch"),
    pytest.mark.writes("ships malformed log lines into the log store"),
]
ONE_MB = 1024 * 1024


@pytest.fixture
def container_log(
    elasticsearch: Endpoint, obs_config: ObsConfig, tmp_path: Path
) -> tuple[Path, LogStore]:
    path = tmp_path / "container.log"
    path.touch()
    return path, LogStore(elasticsearch.url, shipper_settings(obs_config), [path])


PinoLine = Callable[[dict[str, object]], bytes]


@pytest.fixture
def pino_line(obs_config: ObsConfig, tmp_path: Path) -> PinoLine:
    """The line the services' logger writes for an object, redacted as the config says."""
    return lambda obj: logged_line(obs_config.root, tmp_path, obj, "bad input case")


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_line_that_is_not_json_is_stored_raw(container_log: tuple[Path, LogStore]) -> None:
    path, store = container_log
    text = f"FATAL ERROR: Reached heap limit {uuid.uuid4().hex}"
    append(path, text.encode() + b"\n")
    report = store.ship()
    assert (report.shipped, report.raw, report.dropped) == (1, 1, []), report
    found = store.where([text.rsplit(maxsplit=1)[-1]])
    assert found, f"the raw line {text!r} was counted as shipped but is not in the store"


def test_one_megabyte_line_leaks_nothing_and_the_next_line_is_kept(
    container_log: tuple[Path, LogStore], pino_line: PinoLine
) -> None:
    path, store = container_log
    secret, case, after = new_secret("password"), uuid.uuid4().hex, uuid.uuid4().hex
    obj = {"gate_case": case, "password": secret, "blob": "x" * ONE_MB}
    append(path, pino_line(obj))
    append(path, pino_line({"gate_case": after}))
    report = store.ship()
    stored = {d["gate_case"] for d in store.docs("gate_case", [case, after])}
    dropped = [d for d in report.dropped if d.startswith(f"{path}:1:")]
    assert case in stored or dropped, f"the 1 MB line is neither stored nor named: {report}"
    assert after in stored, f"the line after the long one was lost: {report}"
    store.assert_nowhere([Placement(secret, "a 1 MB pino line", ("password",), "password")])


def joined_runtimes(tail: Section) -> set[str]:
    """The runtimes whose split lines a tail input joins: its multiline parsers', and
    docker's with the older `Docker_Mode On` (which knows no CRI line)."""
    parsers = {p.strip() for v in tail.values("multiline.parser") for p in v.split(",")}
    return parsers | ({"docker"} if is_on(tail.get("Docker_Mode")) else set())


def test_tail_input_joins_the_runtime_s_split_lines(obs_config: ObsConfig) -> None:
    """In Kubernetes, docker (json-file) and containerd (CRI) split a line longer than
    16 KiB into fragments before Fluent Bit reads it, so no line reaches Skip_Long_Lines;
    the tail input must join the fragments with a multiline parser (`docker`, `cri`), or
    each fragment fails Merge_Log (not JSON) and is stored raw, its fields unparsed."""
    path = obs_config.path(CONFIG_FILE)
    data = (load_yaml(Path(path)) or {}).get("data") or {}
    conf = parse_conf(data["fluent-bit.conf"], f"{path} (fluent-bit.conf)")
    unjoined = [
        f"[INPUT] tail {tail.get('Path')} (line {tail.line})"
        for tail in plugins(conf, "INPUT", "tail")
        if not {"docker", "cri"} <= joined_runtimes(tail)
    ]
    judge(
        holds=not unjoined,
        finding=universal_finding(obs_config, "fluentbit-split-lines-not-joined"),
        observed=[u.split(" (line")[0] for u in unjoined],
        failure=f"tail inputs without `multiline.parser docker, cri`: {unjoined}",
    )


def test_invalid_utf8_is_stored_and_stays_redacted(
    container_log: tuple[Path, LogStore], pino_line: PinoLine, redaction_intent: RedactionIntent
) -> None:
    path, store = container_log
    secret, case, raw_marker = new_secret("token"), uuid.uuid4().hex, uuid.uuid4().hex
    line = pino_line({"gate_case": case, "token": secret, "note": "@@"})
    append(path, line.replace(b"@@", b"\xff\xfe\xc3"))  # a binary value inside a JSON string
    append(path, b"\xff\xfe panic " + raw_marker.encode() + b"\n")  # and outside any JSON
    report = store.ship()
    assert report.shipped == 2 and not report.dropped, report
    [doc] = store.docs("gate_case", [case])
    assert doc["token"] == redaction_intent.censor, doc
    assert "\ufffd" in doc["note"], f"invalid bytes should read as U+FFFD: {doc['note']!r}"
    assert store.where([raw_marker]), "the invalid UTF-8 raw line is not in the store"
    store.assert_nowhere([Placement(secret, "a pino line with invalid UTF-8", ("token",), "token")])


def test_secret_in_a_raw_line_of_the_container_log(
    container_log: tuple[Path, LogStore], obs_config: ObsConfig
) -> None:
    """What a service prints outside pino (a crash's trace on stderr) is shipped as is."""
    path, store = container_log
    secret = new_secret("token")
    append(path, f"Error: request failed: token={secret}\n    at fetch (/app/x.js:1:1)\n".encode())
    report = store.ship()
    assert report.raw == 2 and not report.dropped, report
    leaks = store.leaks([Placement(secret, "a raw stderr line", ("log",), "raw line")])
    judge(
        holds=not leaks,
        finding=universal_finding(obs_config, "raw-lines-unredacted"),
        observed=leaks,
        failure="a secret in a raw line reached the log store:\n" + "\n".join(leaks),
    )

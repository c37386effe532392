"""The reference app's redaction does what pino's `redact` does, limits included.

Expectations are pino's documented semantics (fast-redact paths: top-level keys, nested
paths, a leading `*` one level deep, exact-case keys, null left alone) and the seed's
config (logging/redaction.yaml): the redaction suite states these limits as findings, so
the app must reproduce them, not improve on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsgate.config import DEFAULT_CONFIG_DIR
from obsgate.refapp.logs import JsonLineSink, PinoLogger, hash_email, make_logger
from obsgate.refapp.middleware import parse_query
from obsgate.refapp.redaction import PinoRedactor, parse_path
from obsgate.refapp.settings import load_settings

SEED = load_settings(DEFAULT_CONFIG_DIR)
CENSOR = SEED.censor


@pytest.fixture
def seed_redactor() -> PinoRedactor:
    return PinoRedactor(SEED.redact_paths, SEED.censor)


def test_seed_config_is_the_pino_config_of_the_seed() -> None:
    assert CENSOR == "[REDACTED]"
    assert "*.password" in SEED.redact_paths
    assert "authorization" in SEED.redact_paths


@pytest.mark.parametrize("key", ["password", "token", "email", "apiKey", "secret", "ssn"])
def test_top_level_key_is_censored_whatever_its_value(
    seed_redactor: PinoRedactor, key: str
) -> None:
    for value in ("s3cret", {"nested": 1}, ["a"], None, 0):
        assert seed_redactor.value(key, value) == CENSOR


def test_leading_wildcard_censors_one_level_deep(seed_redactor: PinoRedactor) -> None:
    assert seed_redactor.value("user", {"password": "x", "name": "n"}) == {
        "password": CENSOR,
        "name": "n",
    }
    assert seed_redactor.value("body", {"api_key": "k"}) == {"api_key": CENSOR}


def test_leading_wildcard_does_not_reach_two_levels_or_arrays(
    seed_redactor: PinoRedactor,
) -> None:
    deep = {"user": {"password": "x"}}
    assert seed_redactor.value("body", deep) == deep
    listed = [{"password": "x"}]
    assert seed_redactor.value("users", listed) == listed


def test_keys_are_exact_case(seed_redactor: PinoRedactor) -> None:
    assert seed_redactor.value("Password", "x") == "x"
    assert seed_redactor.value("user", {"Password": "x"}) == {"Password": "x"}


def test_wildcard_only_for_the_keys_the_config_names(seed_redactor: PinoRedactor) -> None:
    """`secret`, `email`, `authorization` are top-level paths only in the seed."""
    nested = {"secret": "s", "email": "e@x", "authorization": "Bearer t"}
    assert seed_redactor.value("context", nested) == nested


def test_nested_null_is_left_alone_as_fast_redact_does(seed_redactor: PinoRedactor) -> None:
    assert seed_redactor.value("user", {"password": None}) == {"password": None}


def test_strings_are_never_searched(seed_redactor: PinoRedactor) -> None:
    url = "/x?token=abc&password=p"
    assert seed_redactor.value("url", url) == url


def test_redaction_never_mutates_the_logged_object(seed_redactor: PinoRedactor) -> None:
    obj = {"password": "x"}
    seed_redactor.value("user", obj)
    assert obj == {"password": "x"}


def test_static_bracket_and_terminal_wildcard_paths() -> None:
    assert parse_path('req.headers["x-api-key"]') == ["req", "headers", "x-api-key"]
    redactor = PinoRedactor(['req.headers["x-api-key"]', "keys.*", "a[0].b"], "X")
    assert redactor.value("req", {"headers": {"x-api-key": "k", "h": 1}}) == {
        "headers": {"x-api-key": "X", "h": 1}
    }
    assert redactor.value("keys", {"a": 1, "b": None}) == {"a": "X", "b": "X"}
    assert redactor.value("a", [{"b": 1}, {"b": 2}]) == [{"b": "X"}, {"b": 2}]


def test_log_line_layout_and_bindings_are_redacted(tmp_path: Path) -> None:
    """level label, time, base and child bindings (redacted too), object, msg; a key
    given twice is written twice, as pino concatenates."""
    path = tmp_path / "app.jsonl"
    redactor = PinoRedactor(SEED.redact_paths, SEED.censor)
    log = make_logger(path, redactor, {"service": "api-gateway"}).child(
        {"email": "a@b.c", "path": "/p"}
    )
    log.info({"user": {"token": "t"}, "path": "/q"}, "hello")
    line = path.read_text().strip()
    assert line.startswith('{"level":"info","time":"')
    assert line.count('"path":') == 2
    data = json.loads(line)
    assert data["email"] == CENSOR
    assert data["user"] == {"token": CENSOR}
    assert data["msg"] == "hello"
    assert data["path"] == "/q"  # the object wins when the line is parsed
    assert "trace_id" not in data  # no active span, no ids (the seed's mixin)


def test_req_serializer_keeps_three_headers_only(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    log = make_logger(path, PinoRedactor(SEED.redact_paths, CENSOR), {})
    headers = {"authorization": "Bearer t", "user-agent": "ua", "cookie": "c"}
    log.info({"req": {"method": "GET", "url": "/", "path": "/", "query": {}, "headers": headers}})
    assert json.loads(path.read_text())["req"]["headers"] == {"user-agent": "ua"}


def test_level_threshold(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    log = PinoLogger(
        sink=JsonLineSink(path), redactor=PinoRedactor([], CENSOR), serializers={}, level="warn"
    )
    log.info({}, "dropped")
    log.warn({}, "kept")
    assert [json.loads(x)["msg"] for x in path.read_text().splitlines()] == ["kept"]


def test_hash_email_is_the_seeds() -> None:
    """sha256 of the lower-cased email, first 16 hex characters (log-patterns.ts)."""
    import hashlib

    expected = hashlib.sha256(b"ann@example.com").hexdigest()[:16]
    assert hash_email("Ann@Example.com", SEED.email_hash) == expected


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("a=1&b=2", {"a": "1", "b": "2"}),
        ("a=1&a=2", {"a": ["1", "2"]}),  # repeats make a list
        ("user[password]=p&user[name]=n", {"user": {"password": "p", "name": "n"}}),
        ("ids[]=1&ids[]=2", {"ids": ["1", "2"]}),
        ("token=", {"token": ""}),
    ],
)
def test_query_is_parsed_as_express_qs_does(query: str, parsed: dict) -> None:
    """`req.query` in the seed's req serializer is qs's object: brackets nest, so a
    secret in `?user[password]=` sits two levels below `req`, beyond `*.password`."""
    assert parse_query(query) == parsed

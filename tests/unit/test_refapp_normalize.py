"""normalizePath in the reference app behaves as the seed's JavaScript does.

The expectations are JavaScript's String.replace semantics and the seed's three rules as
instrumentation.ts writes them: `g` replaces all, no `g` only the first match, `i` ignores
case, `\\d` is ASCII only, rules run in order on each other's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import ConfigError
from obsgate.refapp.normalize import PathNormalizer
from obsgate.refapp.settings import PathRule, js_regex, load_settings

SEED = PathNormalizer(load_settings(DEFAULT_CONFIG_DIR).path_rules)
UUID = "123e4567-e89b-12d3-a456-426614174000"


def rule(pattern: str, flags: str, replacement: str) -> PathRule:
    compiled, replace_all = js_regex(ObsConfig(DEFAULT_CONFIG_DIR), pattern, flags)
    return PathRule(compiled, replace_all, replacement)


@pytest.mark.parametrize(
    ("path", "label"),
    [
        (f"/orgs/{UUID}/projects/42", "/orgs/:id/projects/:id"),
        (f"/orgs/{UUID.upper()}", "/orgs/:id"),  # the uuid rule's `i` flag
        ("/a/1/b/2/c/3", "/a/:id/b/:id/c/:id"),  # `g`: every match
        ("/keys/mw_live_AbC123", "/keys/:key"),
        ("/v1/health", "/v1/health"),  # no slash before the digit: untouched
        ("/usage/2024-06-01", "/usage/:id-06-01"),  # not anchored: the finding
        ("/keys/mw_live_abc_def", "/keys/:key_def"),  # [a-zA-Z0-9]+ stops at "_"
        ("/n/\u0663\u0664", "/n/\u0663\u0664"),  # Arabic-Indic digits: JS \d is ASCII
    ],
)
def test_seed_rules(path: str, label: str) -> None:
    assert SEED(path) == label


def test_digit_led_uuid_needs_the_uuid_rule_first() -> None:
    """The order matters: digits first would leave the rest of a digit-led UUID."""
    digits = rule(r"/\d+", "g", "/:id")
    uuid = rule("/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "gi", "/:id")
    assert PathNormalizer([uuid, digits])(f"/x/{UUID}") == "/x/:id"
    assert PathNormalizer([digits, uuid])(f"/x/{UUID}") == "/x/:ide4567-e89b-12d3-a456-426614174000"


def test_without_g_only_the_first_match_is_replaced() -> None:
    assert PathNormalizer([rule(r"/\d+", "", "/:id")])("/1/2") == "/:id/2"


def test_js_replacement_patterns() -> None:
    assert PathNormalizer([rule(r"/(\d+)", "g", "/<$1>")])("/7") == "/<7>"
    assert PathNormalizer([rule(r"/\d+", "g", "[$&]")])("/7") == "[/7]"


def test_unknown_flag_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="flags"):
        rule(r"/\d+", "gy", "/:id")


def test_settings_name_the_file_of_a_bad_pattern(tmp_path: Path) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    settings = config / "metrics" / "instrumentation.yaml"
    settings.write_text(settings.read_text().replace(r"'/\d+'", "'/(\\d+'"))
    with pytest.raises(ConfigError, match=r"instrumentation\.yaml"):
        load_settings(config)

"""Universal checks of any config's redact settings (logging/redaction.yaml), no servers.

A path fast-redact cannot read makes pino throw at start (or, worse, redact nothing where
meant); an empty censor writes "" where a secret was, indistinguishable from no value.
"""

from __future__ import annotations

import re

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.refapp.settings import load_settings

from .conftest import RedactionIntent

pytestmark = [pytest.mark.redaction]

_KEY = r"[A-Za-z_$][\w$-]*|\*"
_BRACKET = r"""\[(?:"[^"\]]+"|'[^'\]]+'|\d+|\*)\]"""
REDACT_PATH = re.compile(rf"(?:{_KEY}|{_BRACKET})(?:\.(?:{_KEY})|{_BRACKET})*")


def redact_path_problem(path: object) -> str | None:
    """Why `path` is not a fast-redact path pattern, or None."""
    if not isinstance(path, str) or not path:
        return f"{path!r} is not a non-empty string"
    if not REDACT_PATH.fullmatch(path):
        return (
            f'{path!r} is not a path pattern: keys joined by `.`, `["quoted"]` or `[0]`, '
            "and `*` only as a whole segment"
        )
    return None


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ("password", True),
        ("*.password", True),
        ("req.headers.authorization", True),
        ('req.headers["x-api-key"]', True),
        ("users[0].email", True),
        ("a.*.b", True),
        ("pass*", False),
        ("a..b", False),
        (".a", False),
        ("a.", False),
        ("a[b", False),
        ("", False),
    ],
)
def test_path_pattern_check_knows_valid_from_invalid(path: str, valid: bool) -> None:
    assert (redact_path_problem(path) is None) is valid


def test_every_redact_path_is_a_valid_path_pattern(obs_config: ObsConfig) -> None:
    paths = obs_config.app_settings("logging").get("paths") or []
    problems = {str(p): why for p in paths if (why := redact_path_problem(p))}
    judge(
        holds=bool(paths) and not problems,
        finding=universal_finding(obs_config, "redact-paths-valid"),
        observed=sorted(problems) if paths else ["no paths given"],
        failure=f"logging/redaction.yaml paths: {list(problems.values()) or 'none given'}",
    )


def test_censor_is_a_non_empty_string(obs_config: ObsConfig) -> None:
    censor = obs_config.app_settings("logging").get("censor")
    judge(
        holds=isinstance(censor, str) and bool(censor.strip()),
        finding=universal_finding(obs_config, "redact-censor-non-empty"),
        observed=[repr(censor)],
        failure=f"logging/redaction.yaml censor is {censor!r}",
    )


def test_config_redacts_every_path_the_intent_names(
    obs_config: ObsConfig, redaction_intent: RedactionIntent
) -> None:
    settings = load_settings(obs_config.root)
    missing = [p for p in redaction_intent.never_in_clear if p not in settings.redact_paths]
    assert not missing, f"logging/redaction.yaml does not redact {missing} (the intent does)"
    assert settings.censor == redaction_intent.censor

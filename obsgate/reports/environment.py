"""The facts that judged a run: config dir, backend, server and tool versions, time scale,
seeds. Computed once per process at session start (not in the report header, which `-q`
and xdist workers never print), stashed, and shown in the header, in pytest-html's
Environment table and on the landing page."""

from __future__ import annotations

import pytest

from obsgate.options import config_dir, fast_lane, server_versions, time_scale
from obsgate.stack.backends import resolve_backend
from obsgate.stack.versions import binary_versions
from obsgate.tools.versions_line import describe_line

try:  # pytest-html's Environment table comes from pytest-metadata
    from pytest_metadata.plugin import metadata_key
except ImportError:  # pragma: no cover - pytest-html is a dependency
    metadata_key = None

FACTS = pytest.StashKey[dict[str, str]]()
METADATA_PREFIX = "gate "


def gate_facts(config: pytest.Config) -> dict[str, str]:
    """The run's facts, computed on first use and kept in the config's stash."""
    facts = config.stash.get(FACTS, None)
    if facts is not None:
        return facts
    stack = config.getoption("stack")
    seed = config.getoption("hypothesis_seed", default=None)
    versions = binary_versions()
    facts = {
        "obs-config": str(config_dir(config)),
        "stack": f"{resolve_backend(stack)} (requested {stack})",
        "server versions": describe_line(server_versions(config)),
        "versions": ", ".join(f"{name} {v}" for name, v in versions.items()),
        "time scale (live layer)": _time_scales(config),
        "hypothesis seed": str(seed) if seed is not None else "random (printed on failure)",
    }
    config.stash[FACTS] = facts
    return facts


def _time_scales(config: pytest.Config) -> str:
    base, fast = time_scale(config), fast_lane(config)
    text = f"every rule duration divided by {base:g}"
    if fast > 1:
        text += (
            f"; long scenarios of rules with no duration under 5 minutes by {base * fast:g} "
            f"(--fast-lane {fast:g})"
        )
    return text


def feed_metadata(config: pytest.Config) -> None:
    """Put the facts into pytest-metadata's dict, which pytest-html shows as Environment."""
    metadata = config.stash.get(metadata_key, None) if metadata_key else None
    if metadata is not None:
        metadata.update({f"{METADATA_PREFIX}{k}": v for k, v in gate_facts(config).items()})

"""What the gate's Alertmanager adapter must change to run the config, where the change
changes meaning: each is checked on the config as written, so the report says what
production does, while the rest of the routing suite runs on the adapted config."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.config.alertmanager import env_references
from obsgate.findings import judge, universal_finding
from obsgate.tools import amtool

pytestmark = [pytest.mark.routing]
_FAILED = re.compile(r"FAILED: (?P<why>.+)")
V1_KEYS = ("service_key", "service_key_file")


def test_alertmanager_loads_the_config_as_written(obs_config: ObsConfig) -> None:
    """Alertmanager expands no `${VAR}`: each is used as its literal text, which amtool
    refuses in a URL and accepts in a password (that then fails at send time). The evidence
    is every setting that writes one, and amtool's verdict on the file as written. (The
    adapter substitutes each variable so the rest of the gate can run.) The copy that amtool
    reads goes to the run's own dir, which no exit path leaves behind: the config may hold
    secrets."""
    source = obs_config.alertmanager_source()
    with tempfile.TemporaryDirectory(dir=os.environ.get("OBS_GATE_RUN_DIR")) as tmp:
        as_written = Path(tmp) / "alertmanager.yaml"
        as_written.write_text(source.text)
        result = amtool.check_config(as_written)
    errors = sorted({m["why"].strip() for m in _FAILED.finditer(result.output)})
    unexpanded = env_references(source.load())
    refused = [f"amtool check-config: {e}" for e in errors or [result.output.strip()]]
    judge(
        holds=result.ok and not unexpanded,
        finding=universal_finding(obs_config, "alertmanager-env-vars-not-expanded"),
        observed=unexpanded + ([] if result.ok else refused),
        failure=f"{source.describe()} as written: settings Alertmanager reads literally: "
        f"{unexpanded}\n{result.describe()}",
    )


def test_pagerduty_receivers_use_events_api_v2(obs_config: ObsConfig) -> None:
    """`service_key` selects PagerDuty's Events API v1, at an endpoint built into
    Alertmanager: it ignores `pagerduty_url` and the v1 event carries no `severity`. (The
    adapter turns it into a v2 `routing_key`, so the gate can point it at its sink.)"""
    offenders = sorted(
        f"{receiver.get('name')}: {key}"
        for receiver in obs_config.alertmanager().get("receivers") or []
        for entry in receiver.get("pagerduty_configs") or []
        for key in V1_KEYS
        if key in entry
    )
    judge(
        holds=not offenders,
        finding=universal_finding(obs_config, "pagerduty-events-api-v1"),
        observed=offenders,
        failure=f"{obs_config.alertmanager_source().describe()}: PagerDuty receivers on "
        f"Events API v1 (use routing_key, Events API v2): {offenders}",
    )

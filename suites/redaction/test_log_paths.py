"""Each log destination is reached by one path, and every path out of the cluster passes
the same masking (no secret the pipeline masks on one path leaves in clear on another).

The paths are read from the config alone: Fluent Bit's outputs that the container logs'
tag reaches (fluent-bit-config.yaml), and the Datadog agent's container log collection
(datadog-agent.yaml, where the config has one).
"""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.findings import judge, universal_finding
from obsgate.logship.fluentbit import config_files
from obsgate.logship.topology import config_paths, topology_problems

pytestmark = [pytest.mark.redaction]


def test_each_destination_one_path_and_every_external_path_masked_alike(
    obs_config: ObsConfig,
) -> None:
    paths = config_paths(obs_config, config_files(obs_config)["fluent-bit.conf"])
    problems = topology_problems(paths)
    judge(
        holds=not problems,
        finding=universal_finding(obs_config, "log-shipping-one-path-per-destination"),
        observed=problems,
        failure="container logs reach a destination twice, or leave unmasked on one path:\n"
        + "\n".join(f"    {p}" for p in problems)
        + "\n  paths:\n"
        + "\n".join(
            f"    {p.source} -> {p.destination}"
            f"{' (external)' if p.external else ''}, masking: {sorted(p.masking) or 'none'}"
            for p in paths
        ),
    )

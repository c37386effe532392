"""Fixtures of the SLO suite: the config's SLO specs, policy and intent, one test per SLO.

Tests that take `slo` run once per SLO of the config, with its Sloth id as the test id, so a
failure names the SLO. An SLO file that does not load becomes one failing test per check,
its one-line error the message, rather than a collection traceback for the whole gate.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from fixtures.config import ObsConfig
from fixtures.errors import GateError
from fixtures.plugin import config_dir
from fixtures.slo import oracle
from fixtures.slo.intent import SLOIntent, judge, load_intent
from fixtures.slo.policy import Policy, config_policy
from fixtures.slo.spec import SLO, config_slos

UNLOADABLE = "slo-file-does-not-load"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "slo" in metafunc.fixturenames:
        try:
            ids = [s.id for s in config_slos(ObsConfig(config_dir(metafunc.config)))]
        except GateError:
            ids = [UNLOADABLE]
        metafunc.parametrize("slo", ids, indirect=True)


@pytest.fixture(scope="session")
def slos(obs_config: ObsConfig) -> dict[str, SLO]:
    return {s.id: s for s in config_slos(obs_config)}


@pytest.fixture
def slo(request: pytest.FixtureRequest, slos: dict[str, SLO]) -> SLO:
    return slos[request.param]


@pytest.fixture(scope="session")
def sloth_output(slos: dict[str, SLO]) -> dict[str, tuple[list, str]]:
    """Sloth's rules (or refusal) for each SLO alone, run two at a time, once per run."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(slos, pool.map(oracle.sloth_groups, slos.values()), strict=True))


@pytest.fixture(scope="session")
def policy(obs_config: ObsConfig) -> Policy:
    return config_policy(obs_config)


@pytest.fixture(scope="session")
def slo_intent(obs_config: ObsConfig) -> SLOIntent:
    intent = load_intent(obs_config)
    if intent is None:
        raise GateError(
            f"{obs_config.root}/scenarios/slo: no SLO intent (add the good and bad events of "
            "each SLO, as fixtures/config/mindweave/scenarios/slo/slis.yaml does)"
        )
    return intent


@pytest.fixture
def judge_slo(slo_intent: SLOIntent, slo: SLO):
    """`judge_slo(check, ok, failure)`: pass, fail, or an expected failure if the config
    declares a finding of `check` for this SLO and the failure shows it."""

    def verdict(check: str, ok: bool, failure: str) -> None:
        judge(ok, failure, slo_intent.finding(check, slo.id), check)

    return verdict

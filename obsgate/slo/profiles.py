"""Hypothesis settings of the SLO properties: 200 examples each in CI (the suite's bar),
SLO_EXAMPLES (default 100) locally for a quicker loop."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from obsgate.options import is_ci

CI_EXAMPLES = 200
settings.register_profile("slo-ci", max_examples=CI_EXAMPLES, deadline=None)
settings.register_profile(
    "slo-local",
    max_examples=int(os.environ.get("SLO_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def property_settings() -> settings:
    return settings.get_profile("slo-ci" if is_ci() else "slo-local")

"""Capacity, a benchmark and not a gate: `pytest -m capacity` (never in plain runs).

The sustained request rate and p99 of the Claude messages route at which the reference
app still meets its SLOs on this machine, stepping Locust's users up; and wrk on the same
endpoint at the same concurrency, in the same run, for comparison. The figures go to
reports/load/capacity.md and the summary; docs/measurements.md quotes them, dated.
"""

from __future__ import annotations

import pytest

from obsgate.config import ObsConfig
from obsgate.load.capacity import WrkResult, run_wrk
from obsgate.load.fixtures import LoadSummary, load_dir
from obsgate.load.locust_run import LoadPhase, LoadProfile, LocustResult, run_locust
from obsgate.load.stack import HEALTHY_UPSTREAM, LoadStack

pytestmark = [
    pytest.mark.load,
    pytest.mark.capacity,
    pytest.mark.needs("redis", "kafka"),
    pytest.mark.writes("starts its own app and servers and drives load through them"),
    pytest.mark.xdist_group("load"),
]
# Locust's API clients wait 50 to 250 ms between requests: 500 req/s needs about 80 of them
STEPS = (20, 40, 80, 120, 160, 200, 240)
STEP_S = 20
MESSAGES = "/api/v1/orgs/:id/projects/:id/messages"


def step_line(users: int, result: LocustResult) -> str:
    route = result.route(MESSAGES) or {}
    verdicts = "; ".join(
        f"{'ok' if v['ok'] else 'FAIL'} {v['slo_id']} ({v['measured']})"
        for v in result.report["verdicts"]
    )
    return (
        f"Locust {users} users: {route.get('rps')} req/s, p50 {route.get('p50_ms')} ms, "
        f"p99 {route.get('p99_ms')} ms; {verdicts}"
    )


def wrk_line(wrk: WrkResult) -> str:
    return (
        f"wrk {wrk.connections} connections, {wrk.duration_s} s: {wrk.requests_per_s:.1f} req/s, "
        f"p50 {wrk.p50_ms:.1f} ms, p99 {wrk.p99_ms:.1f} ms, non-2xx {wrk.non_2xx}"
        + (f", socket errors {wrk.socket_errors}" if wrk.socket_errors else "")
    )


def test_sustained_rate_within_slos(
    request: pytest.FixtureRequest,
    load_stack: LoadStack,
    obs_config: ObsConfig,
    load_summary: LoadSummary,
) -> None:
    out_dir = load_dir(request.config)
    lines: list[str] = []
    best: tuple[int, LocustResult] | None = None
    load_stack.set_faults(**HEALTHY_UPSTREAM)
    try:
        for users in STEPS:
            result = run_locust(
                LoadPhase(
                    name=f"capacity-{users}",
                    host=load_stack.gateway.url,
                    profile=LoadProfile(users=users, spawn_rate=users, run_time_s=STEP_S),
                    config_dir=obs_config.root,
                    out_dir=out_dir,
                    extra=("ApiClient", "--tags", "messages"),
                )
            )
            lines.append(step_line(users, result))
            if not result.verdicts_ok:
                break
            best = (users, result)
        connections = best[0] if best else STEPS[0]
        wrk = run_wrk(
            f"{load_stack.gateway.url}/api/v1/orgs/0b6ad3b6-2a3f-4a8e-9a57-3f2f1c9d7e11"
            "/projects/42/messages",
            connections,
            STEP_S,
            out_dir,
        )
        lines.append(wrk_line(wrk))
    finally:
        load_stack.clear_faults()
    if best:
        users, result = best
        route = result.route(MESSAGES) or {}
        ratio = float(route.get("rps") or 0) / wrk.requests_per_s if wrk.requests_per_s else 0
        lines.insert(
            0,
            f"sustained within the SLOs: {route.get('rps')} req/s at p99 {route.get('p99_ms')} "
            f"ms ({users} Locust users); wrk at {connections} connections: "
            f"{wrk.requests_per_s:.1f} req/s at p99 {wrk.p99_ms:.1f} ms; Locust/wrk "
            f"{ratio:.2f} (Locust's users think between requests, wrk's connections do not)",
        )
    (out_dir / "capacity.md").write_text("# Capacity\n\n" + "".join(f"- {x}\n" for x in lines))
    load_summary.add("capacity (messages route)", lines)
    assert best is not None, "the gateway misses its SLOs even at the first step:\n" + "\n".join(
        lines
    )
    assert wrk.non_2xx == 0 and not wrk.socket_errors, wrk_line(wrk)

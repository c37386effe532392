"""A stack started outside pytest, the staging stand-in: `python -m obsgate.stack.standalone`.

It starts the capture sink, Alertmanager (the config's alertmanager.yaml through the same
adapter as the gate's, unscaled), Prometheus (the config's rule files as a deployment loads
them, alerting to that Alertmanager) and Redis, each on 127.0.0.1; writes an env file with
OBS_STACK=external and every OBS_*_URL; and runs until SIGTERM or SIGINT, then stops them.
`scripts/staging-standin` points the gate at it, as a user points it at staging.

`--every-server` adds Kafka, Elasticsearch and Jaeger (all six servers, started together);
`--check` starts them, prints how long each took to be ready, stops them and fails if any
process is left behind:  python -m obsgate.stack.standalone --every-server --check
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from obsgate.config import DEFAULT_CONFIG_DIR, ObsConfig
from obsgate.errors import GateError
from obsgate.stack import prometheus as prom
from obsgate.stack import redis as rd
from obsgate.stack.alerting_stack import (
    AlertingStackSettings,
    start_alertmanager,
    start_prometheus,
    start_sink,
)
from obsgate.stack.backends import ProcessBackend
from obsgate.stack.endpoint import Endpoint
from obsgate.stack.process import stop_process_group
from obsgate.stack.registry import StackRegistry


def write_deployed(config: ObsConfig, factor: float, workdir: Path, alertmanager: Endpoint) -> Path:
    """Prometheus as a deployment runs the config: nothing scaled (`factor` is 1)."""
    return prom.write_deployed_config(config, workdir, alertmanager)


def start_stack(
    config: ObsConfig, workdir: Path, every_server: bool = False
) -> tuple[list[Endpoint], dict[str, float]]:
    """The stack as a deployment would run the config, each server started concurrently;
    with `every_server`, Kafka, Elasticsearch and Jaeger too (all six servers).
    Returns the endpoints and each server's seconds from the start until it was ready."""
    registry, backend = StackRegistry(workdir), ProcessBackend()
    ready: dict[str, float] = {}
    began = time.monotonic()

    def timed(service: str, start: Callable[[Path], Endpoint]) -> Callable[[Path], Endpoint]:
        def run(path: Path) -> Endpoint:
            endpoint = start(path)
            ready[service] = time.monotonic() - began
            return endpoint

        return run

    settings = AlertingStackSettings(config=config, factor=1.0, write_config=write_deployed)

    def alerting() -> None:  # the sink, then Alertmanager notifying it, then Prometheus
        start_sink(registry, settings)
        ready["sink"] = time.monotonic() - began
        alertmanager = start_alertmanager(registry, backend, settings)
        ready["alertmanager"] = time.monotonic() - began
        start_prometheus(registry, backend, settings, alertmanager)
        ready["prometheus"] = time.monotonic() - began

    starters = [
        alerting,
        lambda: registry.get_or_start("redis", timed("redis", lambda p: rd.start(backend, p))),
    ]
    if every_server:
        from obsgate.stack import elasticsearch as es
        from obsgate.stack import jaeger as jg
        from obsgate.stack import kafka as kf

        for service, module in (("kafka", kf), ("elasticsearch", es), ("jaeger", jg)):
            start = timed(service, lambda p, m=module: m.start(backend, p))
            starters.append(lambda s=service, f=start: registry.get_or_start(s, f))
    with ThreadPoolExecutor(max_workers=len(starters)) as pool:
        futures = [pool.submit(start) for start in starters]
        errors = [f.exception() for f in futures if f.exception() is not None]
    started = registry.started()
    if errors:
        stop(started)
        gate_errors = [e for e in errors if isinstance(e, GateError)]
        raise gate_errors[0] if gate_errors else errors[0]
    return started, ready


def left_running(endpoints: list[Endpoint]) -> list[str]:
    """Services whose process group still exists after stop()."""
    alive = []
    for endpoint in endpoints:
        if endpoint.pid:
            try:
                os.killpg(endpoint.pid, 0)
                alive.append(f"{endpoint.service} (process group {endpoint.pid})")
            except ProcessLookupError:
                pass
    return alive


def stop(endpoints: list[Endpoint]) -> None:
    for endpoint in reversed(endpoints):
        if endpoint.pid:
            stop_process_group(endpoint.pid)


def env_lines(endpoints: list[Endpoint], config: ObsConfig) -> list[str]:
    lines = ["OBS_STACK=external", f"OBS_CONFIG_DIR={shlex.quote(str(config.root))}"]
    for ep in endpoints:
        if ep.service != "sink":
            lines.append(f"OBS_{ep.service.upper()}_URL={ep.url}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsgate.stack.standalone", description=__doc__)
    parser.add_argument("--env-file", help="where to write OBS_* for the gate")
    parser.add_argument("--obs-config", default=str(DEFAULT_CONFIG_DIR), help="config dir")
    parser.add_argument(
        "--every-server", action="store_true", help="Kafka, Elasticsearch and Jaeger too"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="start, say how long each server took to be ready, stop, and fail if any "
        "process is left behind",
    )
    args = parser.parse_args(argv)
    if not args.check and not args.env_file:
        parser.error("give --env-file (to serve the gate) or --check (to time a start)")
    workdir = Path(tempfile.mkdtemp(prefix="obs-standin-"))
    began = time.monotonic()
    try:
        config = ObsConfig(Path(args.obs_config))
        endpoints, ready = start_stack(config, workdir, args.every_server)
    except GateError as exc:
        print(f"staging stand-in: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - began
    for ep in endpoints:
        print(
            f"staging stand-in: {ep.service} at {ep.url} ({ep.version}), "
            f"ready after {ready[ep.service]:.1f} s",
            flush=True,
        )
    print(f"staging stand-in: {len(endpoints)} servers ready in {took:.1f} s wall", flush=True)
    if args.check:
        stop(endpoints)
        alive = left_running(endpoints)
        print(f"staging stand-in: stopped; left running: {', '.join(alive) or 'nothing'}")
        return 1 if alive else 0
    env_file = Path(args.env_file)  # written whole, then renamed: a reader never sees half
    env_file.with_suffix(".tmp").write_text("\n".join(env_lines(endpoints, config)) + "\n")
    env_file.with_suffix(".tmp").replace(env_file)
    print(f"staging stand-in: ready; logs in {workdir}; stop with SIGTERM", flush=True)
    # sigwait rather than a handler (see obsgate/sinks/service.py). Blocked only now: the
    # servers started above must not inherit a mask that blocks the SIGTERM that stops them.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    signal.sigwait(stop_signals)
    stop(endpoints)
    print("staging stand-in: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

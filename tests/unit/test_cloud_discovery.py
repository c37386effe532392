"""Cloud discovery: the `current` line's Prometheus and promtool are built without the cloud
providers' discovery (half of Prometheus' build time; scripts/install/prometheus.sh), so a
config that uses it gets promtool built with every discovery for its config check, and
set-up builds that only for such a config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from obsgate.config import ObsConfig
from obsgate.errors import ToolMissing
from obsgate.tools import promtool, versions_line
from obsgate.tools.versions_line import cloud_discovery
from tests.gate_subprocess import clean_env, copy_config, run_gate

EC2_JOB = {"job_name": "ec2-nodes", "ec2_sd_configs": [{"region": "eu-west-1", "port": 9100}]}


def config_with_cloud_discovery(tmp_path: Path) -> Path:
    """MindWeave's config with one more scrape job, whose targets are discovered in EC2."""
    config = copy_config(tmp_path / "config")
    path = ObsConfig(config).prometheus_file()
    doc = yaml.safe_load(path.read_text())
    doc["scrape_configs"].append(EC2_JOB)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def plan(tmp_path: Path, *args: str) -> dict[str, str]:
    out = tmp_path / "plan.txt"
    run = run_gate(*args, "--obs-install-plan", str(out), suite="suites", timeout=120)
    assert run.returncode == 0, run.describe()
    return dict(line.split(" ", 1) for line in out.read_text().splitlines())


def test_cloud_discovery_is_found_anywhere_in_the_config() -> None:
    """Scrape jobs and alerting's Alertmanagers alike; an empty list discovers nothing;
    Kubernetes, DNS and the rest are in the build."""
    config = {
        "scrape_configs": [
            {"job_name": "a", "kubernetes_sd_configs": [{"role": "pod"}], "dns_sd_configs": [{}]},
            EC2_JOB,
        ],
        "alerting": {"alertmanagers": [{"azure_sd_configs": [{"subscription_id": "s"}]}]},
        "other": {"gce_sd_configs": []},
    }
    assert cloud_discovery(config) == ["azure_sd_configs", "ec2_sd_configs"]
    assert cloud_discovery({"scrape_configs": [{"job_name": "a", "consul_sd_configs": [{}]}]}) == []


def test_the_current_promtool_knows_every_discovery_but_the_clouds(tmp_path: Path) -> None:
    """The real build: DNS, Consul, Docker and Kubernetes load, EC2 is an unknown field (so
    a config with it needs promtool-all-sd), and promtool-all-sd loads it."""
    kept = tmp_path / "kept.yaml"
    jobs = [
        {"job_name": "dns", "dns_sd_configs": [{"names": ["x.example.org"], "port": 9100}]},
        {"job_name": "consul", "consul_sd_configs": [{"server": "127.0.0.1:8500"}]},
        {"job_name": "docker", "docker_sd_configs": [{"host": "unix:///var/run/docker.sock"}]},
        {"job_name": "kube", "kubernetes_sd_configs": [{"role": "pod"}]},
    ]
    kept.write_text(yaml.safe_dump({"scrape_configs": jobs}))
    cloud = tmp_path / "cloud.yaml"
    cloud.write_text(yaml.safe_dump({"scrape_configs": [EC2_JOB]}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBS_SERVER_VERSIONS", "current")
        patch.delenv("PROMTOOL", raising=False)
        assert promtool.check_config(kept, syntax_only=True).ok
        refused = promtool.check_config(cloud, syntax_only=True)
        assert not refused.ok and "field ec2_sd_configs not found" in refused.output, refused
        every = promtool.check_config(cloud, syntax_only=True, cloud_discovery=True)
        assert every.ok, every.describe()


def test_promtool_with_every_discovery_missing_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_GATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PROMTOOL", raising=False)
    with pytest.raises(ToolMissing) as caught:
        versions_line.promtool_all_sd()
    assert str(caught.value) == (
        "promtool 3.16.0 with the cloud providers' discovery not built: run "
        "scripts/install-backends promtool-all-sd (scripts/gate does, for a config that uses it)"
    )


def test_a_config_with_cloud_discovery_gets_promtool_with_it_for_its_config_check(
    tmp_path: Path,
) -> None:
    """In the plan: the config check of such a config needs promtool-all-sd; no other test
    does, nor a config without it, nor the Debian line (its promtool is Debian's)."""
    config = config_with_cloud_discovery(tmp_path)
    check = ("-k", "scrape_config_loads", "--obs-config", str(config))
    assert plan(tmp_path, *check) == {"prometheus": "metrics", "promtool-all-sd": "metrics"}
    assert "promtool-all-sd" not in plan(tmp_path, "-k", "alerts", "--obs-config", str(config))
    assert plan(tmp_path, "-k", "scrape_config_loads") == {"prometheus": "metrics"}
    debian = plan(tmp_path, *check, "--server-versions", "debian")
    assert debian == {"prometheus-debian": "metrics"}


def test_the_config_check_of_such_a_config_passes_and_says_so_when_it_cannot(
    tmp_path: Path,
) -> None:
    """The whole gate: the check passes with promtool-all-sd built (set-up built it); in a
    cache with only the current build, the run stops before its first test, in one line
    naming the step to run, rather than failing the config for a field it does have."""
    config = config_with_cloud_discovery(tmp_path)
    args = ("-k", "scrape_config_loads", "--obs-config", str(config))
    run = run_gate(*args, suite="suites/metrics", timeout=120)
    assert run.returncode == 0 and "1 passed" in run.output, run.describe()
    cache = tmp_path / "cache" / "backends"
    cache.mkdir(parents=True)
    build = versions_line.build_dir("prometheus")
    (cache / build.name).symlink_to(build)
    run = run_gate(*args, suite="suites/metrics", env=clean_env(OBS_GATE_CACHE=str(cache.parent)))
    assert run.returncode == 4, run.describe()
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "scripts/install-backends promtool-all-sd" in errors[0], (
        run.describe()
    )
    assert "Traceback" not in run.output and not re.search(r"\b1 (passed|failed)", run.output)


def config_with_scrape_jobs(tmp_path: Path, jobs: list[dict[str, object]]) -> Path:
    """MindWeave's config with its scrape jobs replaced by `jobs`."""
    config = copy_config(tmp_path / "config")
    path = ObsConfig(config).prometheus_file()
    doc = yaml.safe_load(path.read_text())
    doc["scrape_configs"] = jobs
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


@pytest.mark.parametrize(
    ("job", "passes"),
    [
        ({"job_name": "nodes", "static_configs": [{"targets": ["127.0.0.1:9100"]}]}, True),
        ({"job_name": "nodes", "static_configs": [{"targetz": ["127.0.0.1:9100"]}]}, False),
    ],
    ids=["static", "static-misspelt"],
)
def test_a_config_without_kubernetes_discovery_is_checked_as_it_is(
    tmp_path: Path, job: dict[str, object], passes: bool
) -> None:
    """Nothing to swap is no failure (a team's static targets are a config like any other),
    and the check still fails on what promtool refuses."""
    config = config_with_scrape_jobs(tmp_path, [job])
    args = ("-k", "scrape_config_loads", "--obs-config", str(config))
    run = run_gate(*args, suite="suites/metrics", timeout=120)
    if passes:
        assert run.returncode == 0 and "1 passed" in run.output, run.describe()
    else:
        assert run.returncode == 1 and "1 failed" in run.output, run.describe()
        assert "field targetz not found" in run.output, run.describe()

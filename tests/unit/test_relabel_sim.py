"""obs-relabel (obsgate/relabel): Prometheus' own relabel code on hand-written relabel configs
with known answers, its build and cache, and the scrape-label check built on it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from obsgate.config import ObsConfig
from obsgate.errors import ConfigError, GateError, ToolMissing
from obsgate.relabel import build
from obsgate.relabel.simulate import DiscoveredTarget, Scrape, Simulation, run_relabel, simulate
from obsgate.scrape_labels import AppMetrics, unattached_in_query, unattached_labels
from obsgate.tools import gobuild

MINDWEAVE = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "mindweave"
POD = {
    "__address__": "192.0.2.10:8080",
    "__meta_kubernetes_namespace": "shop",
    "__meta_kubernetes_pod_name": "cart-1",
    "__meta_kubernetes_pod_label_app": "cart",
    "__meta_kubernetes_pod_label_tier": "web",
    "__meta_kubernetes_pod_annotation_scrape": "true",
}


def relabel(tmp_path: Path, job_yaml: str, labels: dict[str, str], series=()) -> dict[str, Any]:
    """One scrape of one target by job `j` of a config holding `job_yaml`."""
    config = tmp_path / "prometheus.yaml"
    config.write_text("global:\n  scrape_interval: 30s\nscrape_configs:\n" + job_yaml)
    answer = run_relabel(
        config, [{"job": "j", "target": "t", "labels": labels, "series": list(series)}]
    )
    return answer["scrapes"][0]


def test_keep_keeps_a_match_and_drops_the_rest(tmp_path: Path) -> None:
    job = """\
  - job_name: j
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_scrape]
        action: keep
        regex: true
"""
    kept = relabel(tmp_path, job, POD)
    assert kept["kept"] and kept["target_labels"] == {"job": "j", "instance": "192.0.2.10:8080"}
    dropped = relabel(tmp_path, job, {**POD, "__meta_kubernetes_pod_annotation_scrape": "no"})
    assert not dropped["kept"] and dropped["series"] is None


def test_drop_drops_a_match(tmp_path: Path) -> None:
    job = """\
  - job_name: j
    relabel_configs:
      - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_label_tier]
        regex: shop;web
        action: drop
"""
    assert not relabel(tmp_path, job, POD)["kept"]
    assert relabel(tmp_path, job, {**POD, "__meta_kubernetes_pod_label_tier": "db"})["kept"]


def test_replace_rewrites_the_address_and_instance_follows(tmp_path: Path) -> None:
    """The seed's port rewrite: `instance` defaults to the address after relabelling, and the
    default replace (regex (.*), $1) copies a meta label before meta labels go."""
    job = """\
  - job_name: j
    metrics_path: /stats
    relabel_configs:
      - source_labels: [__address__, __meta_kubernetes_pod_annotation_port]
        regex: ([^:]+)(?::\\d+)?;(\\d+)
        replacement: $1:$2
        target_label: __address__
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - target_label: __meta_kubernetes_pod_container_port_number
        replacement: "9999"
"""
    out = relabel(tmp_path, job, {**POD, "__meta_kubernetes_pod_annotation_port": "9102"})
    assert out["target_labels"] == {"job": "j", "instance": "192.0.2.10:9102", "namespace": "shop"}
    assert out["labels"]["__address__"] == "192.0.2.10:9102"
    assert out["labels"]["__metrics_path__"] == "/stats"
    assert out["labels"]["__scrape_interval__"] == "30s"
    assert out["labels"]["__scrape_timeout__"] == "10s"
    assert not any(name.startswith("__meta_") for name in out["labels"])


def test_labelmap_copies_the_pod_labels(tmp_path: Path) -> None:
    job = """\
  - job_name: j
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
        replacement: k8s_$1
"""
    out = relabel(tmp_path, job, POD)
    assert out["target_labels"] == {
        "job": "j", "instance": "192.0.2.10:8080", "k8s_app": "cart", "k8s_tier": "web",
    }  # fmt: skip


def _hashmod(value: str, modulus: int) -> int:
    """Prometheus' documented hashmod: the md5 of the joined source values, its low 64 bits
    (big-endian) modulo `modulus`."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus


@pytest.mark.parametrize("address", ["192.0.2.10:8080", "192.0.2.11:8080", "192.0.2.12:9090"])
def test_hashmod_shards_as_documented(tmp_path: Path, address: str) -> None:
    job = """\
  - job_name: j
    relabel_configs:
      - source_labels: [__address__]
        modulus: 7
        target_label: shard
        action: hashmod
"""
    out = relabel(tmp_path, job, {**POD, "__address__": address})
    assert out["target_labels"]["shard"] == str(_hashmod(address, 7))


def test_metric_relabelling_and_exported_labels(tmp_path: Path) -> None:
    """A series' own label that the target also sets is kept as exported_<name>, then
    metric_relabel_configs run on the joined labels; a dropped series is null."""
    job = """\
  - job_name: j
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_label_app]
        target_label: app
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
      - source_labels: [exported_app]
        target_label: origin
"""
    series = [{"__name__": "hits_total", "app": "self", "code": "200"}, {"__name__": "go_gc"}]
    out = relabel(tmp_path, job, POD, series)
    assert out["series"] == [
        {"__name__": "hits_total", "app": "cart", "exported_app": "self", "origin": "self",
         "code": "200", "instance": "192.0.2.10:8080", "job": "j"},
        None,
    ]  # fmt: skip
    assert out["up"] == {"__name__": "up", "app": "cart", "instance": "192.0.2.10:8080", "job": "j"}


def test_honor_labels_keeps_the_series_own(tmp_path: Path) -> None:
    job = """\
  - job_name: j
    honor_labels: true
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_label_app]
        target_label: app
"""
    out = relabel(tmp_path, job, POD, [{"__name__": "hits_total", "app": "self"}])
    assert out["series"][0]["app"] == "self" and "exported_app" not in out["series"][0]


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("      - source_labels: [a]\n        target_lable: b\n",
         "line 5: field target_lable not found"),
        ("      - source_labels: [a]\n        regex: '('\n", "error parsing regexp"),
        ("      - action: hashmod\n        source_labels: [a]\n        target_label: b\n",
         "relabel configuration for hashmod requires non-zero modulus"),
    ],
)  # fmt: skip
def test_a_config_prometheus_refuses_is_one_line_naming_the_file(
    tmp_path: Path, rule: str, says: str
) -> None:
    config = tmp_path / "prometheus.yaml"
    config.write_text("scrape_configs:\n  - job_name: j\n    relabel_configs:\n" + rule)
    with pytest.raises(ConfigError) as err:
        run_relabel(config, [])
    assert str(config) in str(err.value) and says in str(err.value)
    assert "\n" not in str(err.value)


def test_the_build_is_cached_and_a_failed_build_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_GATE_CACHE", str(tmp_path / "cache"))
    broken = tmp_path / "sim"
    shutil.copytree(build.SOURCE_DIR, broken)
    (broken / "main.go").write_text((broken / "main.go").read_text() + "\nfunc broken() {\n")
    with pytest.raises(GateError, match=r"go build of obs-relabel .* failed"):
        build.relabel_binary(broken)
    assert build.built(broken) is None
    assert not build.build_dir(broken).exists()
    assert build.build_dir(broken) != build.build_dir(build.SOURCE_DIR)  # keyed by content
    assert build.prometheus_module_version(broken) in build.build_dir(broken).name


def test_without_go_one_line_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_GATE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(gobuild.ENV_VAR, raising=False)
    monkeypatch.setattr(gobuild, "GO_DEFAULT_DIR", str(tmp_path))
    with pytest.raises(ToolMissing, match=r"^go not found: .*prometheus@v0\.3\d+\.\d+"):
        build.relabel_binary()


def test_mindweave_s_jobs_on_its_discovered_targets() -> None:
    """The seed's relabelling, as Prometheus runs it: the pods get their labels mapped and
    the namespace as kubernetes_namespace, the Services only job and instance, the app's
    endpoint is dropped by the API-server job, and no series of the app carries namespace."""
    sim = simulate(ObsConfig(MINDWEAVE))
    by = {(s.job, s.target.name): s for s in sim.scrapes}
    pod = by["kubernetes-pods", "api-gateway pod"]
    assert pod.target_labels == {
        "job": "kubernetes-pods", "instance": "192.0.2.10:3000", "app": "api-gateway",
        "pod_template_hash": "7c9d5b8f4", "kubernetes_namespace": "mindweave-services",
        "kubernetes_pod_name": "api-gateway-7c9d5b8f4-q2x7k",
    }  # fmt: skip
    service = by["mindweave-services", "api-gateway Service"]
    assert service.target_labels == {
        "job": "mindweave-services", "instance": "api-gateway.mindweave-services.svc:3000",
    }  # fmt: skip
    assert not by["kubernetes-apiservers", "api-gateway endpoint"].kept
    assert by["kubernetes-apiservers", "kubernetes API server endpoint"].kept
    requests = sim.series("http_requests_total")
    assert len(requests) == 4  # two services, each scraped by both jobs
    assert not any("namespace" in s for s in requests)


def _sim(*target_labels: dict[str, str]) -> Simulation:
    target = DiscoveredTarget(name="t", role="pod", labels={"__address__": "x"}, service="s")
    scrapes = tuple(
        Scrape(
            job="j", target=target, kept=True, target_labels=labels,
            up={"__name__": "up", **labels},
            series=({"__name__": "hits_total", "code": "200", **labels},),
        )
        for labels in target_labels
    )  # fmt: skip
    return Simulation(scrapes=scrapes, jobs=("j",))


APP = AppMetrics({"hits_total": {"type": "counter", "labelNames": ["code"]}})


@pytest.mark.parametrize(
    ("expr", "offenders"),
    [
        ('sum(rate(hits_total{namespace="shop"}[5m]))', set()),
        ('sum(rate(hits_total{namespace="other"}[5m]))', {"q: hits_total namespace"}),
        ('sum(rate(hits_total{namespace=~"sh.*"}[5m])) by (service)',
         {"q: hits_total service"}),
        ('sum(rate(hits_total{service!="x",code=~"5.."}[5m]))', set()),
        ('up{zone="a"} == 0', {"q: up zone"}),
        ('sum(container_cpu{zone="a"})', set()),
    ],
)  # fmt: skip
def test_a_query_s_labels_against_the_stored_series(expr: str, offenders: set[str]) -> None:
    """A matcher the empty value fails, or a grouping label, needs the label on some series of
    its metric with a value the matchers accept; an exporter's metric brings its own."""
    sim = _sim({"job": "j", "namespace": "shop"})
    assert set(unattached_in_query(sim, APP, "q", expr, "q")) == offenders


def test_the_mindweave_offenders() -> None:
    _, offenders = unattached_labels(ObsConfig(MINDWEAVE))
    assert set(offenders) == {
        "HighErrorRate: http_requests_total namespace",
        "HighLatency: http_request_duration_seconds_bucket namespace",
        "HighLatency: http_request_duration_seconds_bucket service",
        "ServiceDown: up namespace",
    }


@pytest.mark.parametrize(("scheme", "refused"), [("legacy", True), ("utf8", False)])
def test_the_name_validation_scheme_is_the_config_s(
    tmp_path: Path, scheme: str, refused: bool
) -> None:
    """A dotted target label is valid under Prometheus 3's default UTF-8 names only."""
    config = tmp_path / "prometheus.yaml"
    config.write_text(
        f"global:\n  metric_name_validation_scheme: {scheme}\nscrape_configs:\n  - job_name: j\n"
        "    relabel_configs:\n      - target_label: k8s.app\n        replacement: x\n"
    )
    if refused:
        with pytest.raises(ConfigError, match=r'"k8s\.app" is invalid'):
            run_relabel(config, [])
    else:
        labels = {"__address__": "192.0.2.1:80"}
        out = run_relabel(config, [{"job": "j", "target": "t", "labels": labels, "series": []}])
        assert out["scrapes"][0]["target_labels"]["k8s.app"] == "x"

"""The exact-layer and SLO burn figures, drawn from real promtool runs of the seed config (and
of a copy with one line changed): the parts a reader looks for are there, by id, and say
what promtool really found."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import Future
from pathlib import Path

import pytest

from obsgate.config import ObsConfig
from obsgate.reports import drawing
from obsgate.reports.burn_plot import BurnPicture, burn_picture, burn_prefix, burn_svg, signed
from obsgate.reports.exact_plot import exact_picture, exact_prefix, exact_svg
from obsgate.scenarios.exact import run_exact
from obsgate.scenarios.model import load_scenarios
from obsgate.slo.detection import CASES, TIMELINES, DetectionRun, write_probe, write_test
from obsgate.slo.intent import load_intent
from obsgate.slo.spec import config_slos
from obsgate.tools import ToolResult, promtool
from tests.gate_subprocess import RULES, SEED_CONFIG, copy_config, edit

SCENARIO = "high-error-rate-below-threshold-quiet"
THRESHOLD_OLD = 'sum(rate(http_requests_total{namespace="mindweave-services"}[5m])) > 0.05'
THRESHOLD_NEW = 'sum(rate(http_requests_total{namespace="mindweave-services"}[5m])) > 0.04'


def parts(svg: str) -> dict[str, str]:
    """Each element with an id, as its text (empty for a shape)."""
    root = ET.fromstring(svg)
    return {
        el.get("id"): " ".join("".join(el.itertext()).split()) for el in root.iter() if el.get("id")
    }


def exact_parts(config: Path, tmp_path: Path) -> dict[str, str]:
    obs = ObsConfig(config)
    scenario = next(s for s in load_scenarios(config / "scenarios" / "alerts") if s.id == SCENARIO)
    result = run_exact(scenario, obs.rule_files(), tmp_path)
    return parts(exact_svg(exact_picture(scenario, result, obs.alert_rules())))


def test_exact_figure_marks_the_checkpoints_promtool_disagrees_with(tmp_path: Path) -> None:
    """4.8% errors against a threshold lowered to 4%: promtool fires at 10m and 15m, where the
    scenario expects quiet; on the seed config every checkpoint agrees."""
    prefix = exact_prefix(SCENARIO)
    seed = exact_parts(SEED_CONFIG, tmp_path / "seed")
    assert [seed[f"{prefix}-promtool-label-{n}"] for n in range(3)] == ["quiet"] * 3
    assert "threshold > 0.05" in seed[f"{prefix}-rule-0"]

    config = copy_config(tmp_path / "config")
    edit(config / RULES, THRESHOLD_OLD, THRESHOLD_NEW)
    found = exact_parts(config, tmp_path / "mutated")
    assert {f"{prefix}-series-0", f"{prefix}-series-1"} <= found.keys()  # 2xx and 5xx
    assert f"{prefix}-series-2" not in found
    assert [found[f"{prefix}-expected-label-{n}"] for n in range(3)] == [
        "5m: quiet",
        "10m: quiet",
        "15m: quiet",
    ]
    assert [found[f"{prefix}-promtool-label-{n}"] for n in range(3)] == [
        "quiet",
        "FIRING",
        "FIRING",
    ]
    assert {f"{prefix}-checkpoint-{n}" for n in range(3)} <= found.keys()
    assert "threshold > 0.04, for 5m" in found[f"{prefix}-rule-0"]


def detection_run(slo_id: str, case_id: str, severities: set[str], workdir: Path):
    """The detection test's promtool run and the figure's probe runs, for real."""
    config = ObsConfig(SEED_CONFIG)
    slo = next(s for s in config_slos(config) if s.id == slo_id)
    sli = load_intent(config).slis[slo_id]  # type: ignore[union-attr]
    case = next(c for c in CASES if c.id == case_id)
    timelines = [t for t in TIMELINES if t.severity in severities]
    files = {t.severity: write_test(slo, sli, case, t, workdir) for t in timelines}
    probes = {t.severity: write_probe(slo, sli, case, t, workdir) for t in timelines}

    def done(result: ToolResult) -> Future[ToolResult]:
        future: Future[ToolResult] = Future()
        future.set_result(result)
        return future

    run = DetectionRun(
        files, {k: done(promtool.test_rules(f, timeout=120)) for k, f in files.items()}
    )
    run.probes = {k: done(promtool.test_rules(f, timeout=120)) for k, f in probes.items()}
    return slo, case, run


def test_burn_figure_shows_when_the_ticket_fired(tmp_path: Path) -> None:
    """A 2x burn of the gateway's availability SLO: no page; the ticket fires within the
    workbook's tolerance of its detection time (36 h), with 20 % of the budget spent by 3 d."""
    slo, case, run = detection_run("api-gateway-availability", "2x", {"page", "ticket"}, tmp_path)
    picture: BurnPicture = burn_picture(slo, case, run)
    page, ticket = picture.panels
    assert run.checks["ticket"].result().ok, run.checks["ticket"].result().describe()
    assert not page.firing and page.expected is None
    assert ticket.expected == pytest.approx(36 * 3600)
    assert ticket.fired is not None
    assert abs(ticket.fired - ticket.expected) <= ticket.tolerance
    assert ticket.consumed[-1][1] == pytest.approx(20.0, rel=0.05)  # 2 x 72 h of 720 h
    found = parts(burn_svg(picture, "passed"))
    p, t = burn_prefix(slo.id, "2x", "page"), burn_prefix(slo.id, "2x", "ticket")
    assert found[f"{p}-fired-label"] == "the page alert never fired (promtool)"
    assert found[f"{p}-expected-label"] == "workbook: this burn never fires the page alert"
    assert f"{p}-firing-0" not in found and f"{p}-fired" not in found
    assert found[f"{t}-fired-label"] == f"fired at {signed(ticket.fired)} (promtool)"
    assert found[f"{t}-expected-label"] == "expected at +1d12h (workbook)"
    assert {f"{t}-firing-0", f"{t}-fired", f"{t}-expected", f"{t}-consumed", f"{t}-served"} <= (
        found.keys()
    )
    labels = [found[k] for k in sorted(found) if k.startswith(f"{t}-promtool-label-")]
    assert labels and all(text in ("quiet", "firing") for text in labels), labels


def test_burn_figure_shows_a_page_on_clean_traffic(tmp_path: Path) -> None:
    """The gateway latency SLO counts good events as errors (a finding): its page fires on
    the clean traffic, hours before the burn, and the budget runs out before the burn."""
    slo, case, run = detection_run("api-gateway-latency", "0.1x", {"page"}, tmp_path)
    picture = burn_picture(slo, case, run)
    (page,) = picture.panels
    assert page.fired is not None and page.fired < -5 * 3600
    before = [v for t, v in page.consumed if t <= page.start]
    assert before[-1] > 80  # % of the budget, on clean traffic alone
    found = parts(burn_svg(picture, "xfailed"))
    prefix = burn_prefix(slo.id, "0.1x", "page")
    assert found[f"{prefix}-fired-label"].startswith("fired at -5h")
    assert [found[f"{prefix}-promtool-label-{n}"] for n in range(3)] == ["FIRING"] * 3


def test_a_figure_is_drawn_by_the_drawing_process_and_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker draws exactly what the test process would (a figure is a function of its
    data), keeps it under its key, and the key changes with the data and the outcome."""
    monkeypatch.setattr(drawing, "FIGURE_CACHE", tmp_path / "cache")
    obs = ObsConfig(SEED_CONFIG)
    scenarios = {s.id: s for s in load_scenarios(SEED_CONFIG / "scenarios" / "alerts")}
    pictures = {
        sid: exact_picture(scenarios[sid], run_exact(scenarios[sid], obs.rule_files(),
                           tmp_path / sid), obs.alert_rules())
        for sid in (SCENARIO, "high-error-rate-fires")
    }  # fmt: skip
    key = drawing.figure_key(exact_svg, pictures[SCENARIO], "passed")
    assert drawing.cached_svg(key) is None
    out = tmp_path / "reports" / "exact" / "figure.svg"
    drawer = drawing.Drawer()
    drawer.submit(exact_svg, pictures[SCENARIO], "passed", out, drawing.cached_path(key))
    assert drawer.finish() == []
    assert out.read_text() == exact_svg(pictures[SCENARIO], "passed")
    assert drawing.cached_svg(key) == out.read_text()
    assert drawing.figure_key(exact_svg, pictures[SCENARIO], "passed") == key
    others = {
        drawing.figure_key(exact_svg, pictures[SCENARIO], "xfailed"),
        drawing.figure_key(exact_svg, pictures["high-error-rate-fires"], "passed"),
    }
    assert key not in others and len(others) == 2


def test_a_figure_the_drawing_process_could_not_draw_is_named(tmp_path: Path) -> None:
    drawer = drawing.Drawer()
    out = tmp_path / "broken.svg"
    drawer.submit(exact_svg, None, "passed", out, None)  # no picture: the worker raises
    (line,) = drawer.finish()
    assert line.startswith(f"could not write {out}: AttributeError"), line
    assert not out.exists()

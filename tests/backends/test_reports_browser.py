"""The reports as a person sees them: a red run's index.html and report.html rendered in
headless Chromium (Debian's chromium and chromium-driver, driven by Selenium).

The child gate runs HighErrorRate's live and exact scenarios on a copy of the seed config
whose threshold is lowered by one line (5% -> 4%), so the scenario "4.8% of requests fail:
nobody is paged" fires and fails in both layers (and "exactly 5 %" in the exact layer); and
one SLO burn case (the gateway's availability under a 2x burn, which tickets and does not
page). Both pages must load with
no console error and no request outside the reports dir, show that scenario's timeline with
the threshold and the firing span and its exact figure with the checkpoints promtool found
firing, and not be blank; the landing page also shows the burn case with when its ticket
fired.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.gate_subprocess import REPO_ROOT, RULES, clean_env, copy_config, edit

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCENARIO = "high-error-rate-below-threshold-quiet"
FAILING = f"test_scenario_live[{SCENARIO}]"
THRESHOLD_OLD = 'sum(rate(http_requests_total{namespace="mindweave-services"}[5m])) > 0.05'
THRESHOLD_NEW = 'sum(rate(http_requests_total{namespace="mindweave-services"}[5m])) > 0.04'
PREFIX = f"timeline-{SCENARIO}"
EXACT = f"exact-{SCENARIO}"
BURN = "burn-api-gateway-availability-2x"

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -e '.[dev]'")
PILImage = pytest.importorskip("PIL.Image", reason="pip install -e '.[dev]'")
By = pytest.importorskip("selenium.webdriver.common.by").By


@pytest.fixture(scope="module")
def red_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reports dir of a child gate run with one lowered threshold."""
    base = tmp_path_factory.mktemp("browser")
    config = copy_config(base / "config")
    edit(config / RULES, THRESHOLD_OLD, THRESHOLD_NEW)
    reports = base / "reports"
    cmd = [sys.executable, "-m", "pytest", "suites/alerts/test_alerts_live.py", "-q"]
    cmd += ["suites/alerts/test_alerts_exact.py", "suites/slo/test_slo_detection.py"]
    cmd += ["-k", "high-error-rate or api-gateway-availability-2x"]
    cmd += ["-p", "no:cacheprovider", "-p", "no:locust", "-o"]
    cmd += ["addopts=", "--obs-config", str(config), "--reports-dir", str(reports)]
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=clean_env(OBS_GATE_FIGURES="on"),  # the figures are what it looks at
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    failed = {
        f"FAILED suites/alerts/test_alerts_live.py::{FAILING}",
        f"FAILED suites/alerts/test_alerts_exact.py::test_alert_scenario_exact[{SCENARIO}]",
    }
    assert proc.returncode == 1 and all(f in output for f in failed), output[-4000:]
    assert "could not write" not in output, output[-4000:]  # every figure was drawn
    return reports


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Chromium and its driver are missing: scripts/install-backends browser")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # The driver's path given: Selenium Manager (which would download one) is not run.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def requests_made(driver) -> list[str]:  # type: ignore[no-untyped-def]
    """Every URL the page asked for since the last call (Chromium's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def outside(urls: list[str], reports: Path) -> list[str]:
    """The URLs that leave the reports dir (data: URIs are inside the page itself)."""
    found = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "data" or url == "about:blank":
            continue
        path = Path(unquote(parts.path))
        if parts.scheme != "file" or reports.resolve() not in path.resolve().parents:
            found.append(url)
    return found


def open_page(driver, page: Path) -> tuple[list[dict[str, object]], list[str]]:  # type: ignore[no-untyped-def]
    """Open `page`; the console errors it logged and the URLs it requested."""
    driver.get_log("browser")
    requests_made(driver)
    driver.get(page.as_uri())
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    return errors, requests_made(driver)


def distinct_colours(path: Path) -> int:
    with PILImage.open(path) as image:
        return len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def assert_shows_the_timeline(driver, where: str) -> None:  # type: ignore[no-untyped-def]
    label = driver.find_element(By.CSS_SELECTOR, f'[id="{PREFIX}-threshold-label"]')
    assert "threshold > 0.04" in label.text, f"{where}: {label.text!r}"
    assert label.is_displayed(), f"{where}: the threshold's label is hidden"
    bands = driver.find_elements(By.CSS_SELECTOR, f'[id^="{PREFIX}-firing-"]')
    assert bands, f"{where}: no firing span in the timeline of {SCENARIO}"
    box = bands[0].rect
    assert box["width"] > 5 and box["height"] > 5, f"{where}: firing span drawn as {box}"


def text_of(driver, element_id: str, where: str) -> str:  # type: ignore[no-untyped-def]
    """The text of a figure's part, opening the <details> it sits in; it must be drawn."""
    element = driver.find_element(By.CSS_SELECTOR, f'[id="{element_id}"]')
    for details in element.find_elements(By.XPATH, "ancestor::details[not(@open)]"):
        details.find_element(By.TAG_NAME, "summary").click()
    assert element.is_displayed(), f"{where}: {element_id} is hidden"
    box = element.rect
    assert box["width"] > 1 and box["height"] > 1, f"{where}: {element_id} drawn as {box}"
    return element.text


def assert_shows_the_exact_checkpoints(driver, where: str) -> None:  # type: ignore[no-untyped-def]
    """At 10m and 15m the scenario expects quiet and promtool found the alert firing."""
    found = [text_of(driver, f"{EXACT}-promtool-label-{n}", where) for n in range(3)]
    assert found == ["quiet", "FIRING", "FIRING"], f"{where}: {found}"
    expected = [text_of(driver, f"{EXACT}-expected-label-{n}", where) for n in range(3)]
    assert expected == ["5m: quiet", "10m: quiet", "15m: quiet"], f"{where}: {expected}"
    assert "threshold > 0.04" in text_of(driver, f"{EXACT}-rule-0", where)


def test_index_html_in_chromium(red_run: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    errors, urls = open_page(browser, red_run / "index.html")
    assert errors == [], errors
    assert urls and outside(urls, red_run) == [], urls
    verdict = browser.find_element(By.ID, "verdict").text
    # below-threshold-quiet (4.8 %) live and exact, and at-threshold-quiet (5 %) exact
    assert verdict.startswith("red: some tests failed (3 failed"), verdict
    assert_shows_the_timeline(browser, "index.html")
    assert_shows_the_exact_checkpoints(browser, "index.html")
    fired = text_of(browser, f"{BURN}-ticket-fired-label", "index.html")
    assert fired.startswith("fired at +1d1") and fired.endswith("(promtool)"), fired
    never = text_of(browser, f"{BURN}-page-fired-label", "index.html")
    assert never == "the page alert never fired (promtool)", never
    shot = tmp_path / "index.png"
    browser.save_screenshot(str(shot))
    browser.get("about:blank")
    blank = tmp_path / "blank.png"
    browser.save_screenshot(str(blank))
    assert distinct_colours(blank) <= 2
    assert distinct_colours(shot) > 50, "the screenshot of index.html is (nearly) blank"


def test_failing_row_of_report_html_in_chromium(red_run: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    errors, urls = open_page(browser, red_run / "report.html")
    assert errors == [], errors
    assert outside(urls, red_run) == [], urls
    assert_shows_the_timeline(browser, "report.html")
    assert_shows_the_exact_checkpoints(browser, "report.html")
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    assert distinct_colours(shot) > 50, "the screenshot of report.html is (nearly) blank"

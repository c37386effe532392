"""reports/index.html: written by the run's owner in every mode (serial, xdist, -q), with the
verdict, the counts per suite, the findings, the skips, the environment and the artifacts;
and a page that cannot be written is one warning line, never a changed verdict.

Each test runs a child pytest with the gate's plugin on a few tests of its own (a pass, a
failure, a finding, a skip), so the page is built from the reports pytest really makes.
"""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.gate_subprocess import REPO_ROOT, clean_env

TESTS = """
import pytest

@pytest.mark.alerts
def test_passes():
    pass

@pytest.mark.alerts
def test_fails():
    assert 1 + 1 == 3, "arithmetic is broken"

@pytest.mark.routing
@pytest.mark.xfail(strict=True, reason="finding: demo-finding: the demo config routes nowhere")
def test_finding():
    raise AssertionError("the alert reached no receiver")

@pytest.mark.routing
@pytest.mark.xfail(strict=True, reason="finding: demo-advice (hardening, seed:12): add a route")
def test_advice():
    raise AssertionError("no demo route")

@pytest.mark.routing
def test_not_applicable():
    pytest.skip("not applicable: the routing tree has no demo")
"""


class PageText(HTMLParser):
    """The visible text of a page and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.extend(v for k, v in attrs if k == "href" and v)


def run_child(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    (tmp_path / "test_demo.py").write_text(TESTS)
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "pytest", "test_demo.py", "-p", "no:cacheprovider"]
    cmd += ["-p", "no:locust", "-o", "addopts=", "--reports-dir", str(reports), *args]
    env = clean_env(OBS_CONFIG_DIR=str(REPO_ROOT / "fixtures" / "config" / "mindweave"))
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    return proc, reports


@pytest.mark.parametrize("mode", [[], ["-q"], ["-q", "-n", "2"]], ids=["serial", "q", "xdist"])
def test_landing_page_in_every_mode(tmp_path: Path, mode: list[str]) -> None:
    proc, reports = run_child(tmp_path, *mode)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    page = (reports / "index.html").read_text()
    parsed = PageText()
    parsed.feed(page)
    text = " ".join(" ".join(parsed.text).split())
    assert "red: some tests failed (1 failed, 1 passed, 2 xfailed, 1 skipped)" in text
    # grouped by category, defects and risks before hardening, uncategorised last
    assert text.index("hardening (1) demo-advice") < text.index("uncategorised (1) demo-finding")
    assert "demo-finding" in text and "the demo config routes nowhere" in text
    assert "the alert reached no receiver" in text  # the finding's evidence
    assert "arithmetic is broken" in text  # the failure's evidence
    assert "not applicable: the routing tree has no demo" in text
    assert "time scale (live layer)" in text and "server versions" in text
    for name in ("junit.xml", "report.html", "findings.md"):
        assert name in parsed.links and (reports / name).is_file(), name
    assert "http" not in " ".join(parsed.links)
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    # pytest-html's Environment table has the gate's facts even where no header was printed
    assert "gate time scale (live layer)" in (reports / "report.html").read_text()


def test_a_page_that_cannot_be_written_is_one_warning_line(tmp_path: Path) -> None:
    (tmp_path / "reports" / "index.html").mkdir(parents=True)  # a directory in the way
    proc, reports = run_child(tmp_path, "-q")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the verdict of the tests alone
    lines = [line for line in proc.stderr.splitlines() if "index.html" in line]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"obs-gate: could not write {reports / 'index.html'}: "), lines
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_collect_only_run_writes_no_verdict(tmp_path: Path) -> None:
    proc, reports = run_child(tmp_path, "-q", "--collect-only")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test_demo.py::test_fails" in proc.stdout
    assert not (reports / "index.html").exists()

"""The flake check names a test whose outcome varies between runs, and only that one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_test_that_fails_on_its_second_run_is_named(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    (tmp_path / "test_sample.py").write_text(
        textwrap.dedent(
            f"""\
            from pathlib import Path

            COUNTER = Path({str(counter)!r})

            def test_steady():
                assert True

            def test_flaky():
                runs = int(COUNTER.read_text()) if COUNTER.exists() else 0
                COUNTER.write_text(str(runs + 1))
                assert runs == 0, "fails from the second run on"
            """
        )
    )
    out = tmp_path / "flakes"
    run = subprocess.run(
        [sys.executable, "-m", "tools.flake_check", "--runs", "2", f"--out={out}",
         str(tmp_path), "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "VARIED test_sample::test_flaky: passed / failed" in run.stdout
    assert "test_steady" not in run.stdout.split("VARIED", 1)[1]
    assert "1 of 2 tests varied over 2 runs" in run.stdout

"""Child gates share machine-wide slots: with one slot, a second child waits for the first."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests import gate_subprocess
from tests.gate_subprocess import child_slot, child_slots


def test_a_second_child_waits_for_the_slot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(gate_subprocess.CHILD_SLOTS_ENV, "1")
    monkeypatch.setattr(gate_subprocess, "CHILD_SLOTS_DIR", tmp_path / "slots")
    first_in, release, second_in = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with child_slot():
            first_in.set()
            release.wait(10)

    def second() -> None:
        assert first_in.wait(10)
        with child_slot():
            second_in.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    assert first_in.wait(10), "the first child never got a slot"
    assert not second_in.wait(1.0), "the second child ran while the only slot was held"
    release.set()
    assert second_in.wait(10), "the second child did not get the slot once it was free"
    for t in threads:
        t.join(10)


@pytest.mark.parametrize(("value", "slots"), [("3", 3), ("0", None), ("x", None), ("", None)])
def test_slots_from_the_environment_or_the_cores(
    monkeypatch: pytest.MonkeyPatch, value: str, slots: int | None
) -> None:
    monkeypatch.setenv(gate_subprocess.CHILD_SLOTS_ENV, value)
    monkeypatch.setattr(gate_subprocess.os, "cpu_count", lambda: 2)
    assert child_slots() == (slots if slots is not None else 3)

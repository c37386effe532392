"""Materialized rule files are written by several threads of one run at once (the exact
layer's promtool runs each read the config): no write may lose another's temp file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from obsgate.config.rules import _write_if_changed


def test_threads_writing_one_rule_file_at_once_all_succeed(tmp_path: Path) -> None:
    target = tmp_path / "materialized" / "rules.0.yaml"
    texts = [f"groups: []  # {i % 2}\n" for i in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda text: _write_if_changed(target, text), texts))
    assert target.read_text() in set(texts)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left

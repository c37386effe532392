"""A promtool probe: expressions read at chosen times, with no server, by testing each
against no samples. promtool prints what a failed `promql_expr_test` got, so a check that
expects nothing reports the expression's value, which obsgate.tools.promtool_failures reads
back. The SLI check, the dashboard readings, the self-test's threshold sweep and the burn
figures read values this way."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


def reads(exprs_at: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """`promql_expr_test` entries that expect nothing: one per (expression, eval time)."""
    return [{"expr": expr, "eval_time": at, "exp_samples": []} for expr, at in exprs_at]


def probe_document(
    rule_files: list[Path],
    interval: str,
    series: list[dict[str, str]],
    exprs_at: Iterable[tuple[str, str]],
) -> dict[str, Any]:
    """A `promtool test rules` document: `series` every `interval`, each expression read once
    at its eval time, with `rule_files` loaded (recorded series the expressions may read)."""
    return {
        "rule_files": [str(path) for path in rule_files],
        "evaluation_interval": interval,
        "tests": [
            {"interval": interval, "input_series": series, "promql_expr_test": reads(exprs_at)}
        ],
    }


def no_rules(workdir: Path) -> Path:
    """A rule file with no group: promtool wants one, a probe of raw series needs none."""
    path = workdir / "no-rules.yaml"
    path.write_text("groups: []\n")
    return path

"""The routing tree as a figure: every route of Alertmanager's tree, the path one label set
takes through it highlighted (the gate's model of Alertmanager's walk, which amtool agrees
with), the receivers it ends at, the receivers the test expected where they differ, and the
receivers that live notifications really reached.

Ids: `<prefix>-route-<n>` per route box (tree order), `<prefix>-path-<n>` per highlighted
edge, with `<prefix>` = `routes-<case id>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from obsgate.reports.plots import RC, svg_of
from obsgate.scenarios.route_tree import Route

ON_PATH = "#1f77b4"
MISSED = "#f0a020"  # expected, not reached
WRONG = "#d62728"  # reached, not expected


@dataclass(frozen=True)
class RoutedCase:
    """One routing check: the label set, where the tree sends it, what was expected, and
    (live) where notifications arrived; None where the test did not look."""

    case_id: str
    labels: dict[str, str]
    expected: tuple[str, ...]
    delivered: tuple[str, ...] | None = None


def route_prefix(case_id: str) -> str:
    return "routes-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", case_id)


def _layout(root: Route) -> dict[str, tuple[float, float]]:
    """(depth, row) per route path: leaves take successive rows, a parent sits by its first
    child's row, so the tree reads top-down like the YAML."""
    places: dict[str, tuple[float, float]] = {}
    row = 0.0

    def place(route: Route, depth: int) -> None:
        nonlocal row
        places[route.path] = (depth, row)
        if not route.routes:
            row += 1
        for child in route.routes:
            place(child, depth + 1)
        if route.routes and places[route.path][1] == row:
            row += 1

    place(root, 0)
    return places


def _text(route: Route) -> str:
    match = ", ".join(str(m) for m in route.matchers) or "(root: every alert)"
    flags = "  continue" if route.cont else ""
    return f"{route.receiver}\n{match}{flags}"


def _on_path(root: Route, ends: list[Route]) -> set[str]:
    """The paths of the routes from the root to each end route."""
    wanted = {r.path for r in ends}
    found: set[str] = set()
    for route in root.walk():
        if any(end == route.path or end.startswith(route.path + ".") for end in wanted):
            found.add(route.path)
    return found


def route_tree_svg(root: Route, routed: RoutedCase, outcome: str = "") -> str:
    """The tree with the case's path, its receivers and the expected ones, as SVG."""
    import matplotlib
    from matplotlib.figure import Figure

    prefix = route_prefix(routed.case_id)
    ends = root.match(routed.labels)
    path = _on_path(root, ends)
    reached = {r.receiver for r in ends}
    expected = set(routed.expected)
    delivered = set(routed.delivered) if routed.delivered is not None else None
    places = _layout(root)
    rows = max(r for _, r in places.values()) + 1
    depth = max(d for d, _ in places.values()) + 1
    routes = list(root.walk())
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(3.2 * depth + 2.6, 0.62 * rows + 1.6), layout="constrained")
        ax, notes = fig.subplots(2, 1, height_ratios=[rows, 1.6])
        ax.set_axis_off()
        notes.set_axis_off()
        ax.set_xlim(-0.1, depth - 0.2)
        ax.set_ylim(rows - 0.5, -0.5)
        n_edge = 0
        for route in routes:
            x, y = places[route.path]
            for child in route.routes:
                cx, cy = places[child.path]
                hot = child.path in path
                ax.plot(
                    [x + 0.05, x + 0.05, cx],
                    [y + 0.25, cy, cy],
                    color=ON_PATH if hot else "#bbb",
                    lw=2.5 if hot else 1,
                    gid=f"{prefix}-path-{n_edge}" if hot else None,
                )
                n_edge += hot
        for n, route in enumerate(routes):
            x, y = places[route.path]
            end = any(route.path == e.path for e in ends)
            colour = "#e8f0fa" if route.path in path else "white"
            edge = ON_PATH if end else "#999"
            if route.receiver in expected - reached:
                edge = MISSED
            elif end and route.receiver not in expected:
                edge = WRONG
            ax.text(
                x,
                y,
                _text(route),
                va="center",
                ha="left",
                fontsize=8,
                bbox={
                    "boxstyle": "round,pad=0.35",
                    "fc": colour,
                    "ec": edge,
                    "lw": 2 if end else 1,
                },
                gid=f"{prefix}-route-{n}",
            )
        legend = [
            f"labels: {', '.join(f'{k}={v}' for k, v in sorted(routed.labels.items()))}",
            f"the tree sends them to: {', '.join(sorted(reached)) or 'nothing'}",
            f"expected: {', '.join(sorted(expected)) or 'nothing'}",
        ]
        if delivered is not None:
            legend.append(f"notifications arrived at: {', '.join(sorted(delivered)) or 'none'}")
        legend.append(
            "blue: the path and the routes it ends at; orange outline: expected, not reached; "
            "red outline: reached, not expected"
        )
        notes.text(0, 1, "\n".join(legend), fontsize=8, va="top", gid=f"{prefix}-legend")
        title = f"routing: {routed.case_id}"
        fig.suptitle(f"{title} ({outcome})" if outcome else title, x=0.01, ha="left", fontsize=10)
        return svg_of(fig)

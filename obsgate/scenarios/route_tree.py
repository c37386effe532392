"""An Alertmanager routing tree as Alertmanager walks it (dispatch/route.go), and the label
sets that reach each of its routes, so routing tests take their alerts from the config
under test rather than from names someone typed.

A child inherits its parent's receiver, group_by and timings; the root's absent timings are
Alertmanager's defaults. `Route.match` follows `Route.Match`: the first matching child ends
the walk unless it has `continue: true`, and a route no child matches takes the alert itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from obsgate.config import parse_duration
from obsgate.errors import ConfigError
from obsgate.scenarios.inhibition import LabelSet, Matcher, parse_matcher
from obsgate.stack.alertmanager_config import ROUTE_DEFAULTS, ROUTE_DURATIONS

ALL_LABELS = "..."  # group_by: ['...'] groups by every label
_LITERAL_ALTERNATIVES = re.compile(r"^[\w.:/@ -]+(\|[\w.:/@ -]+)*$")


@dataclass(frozen=True)
class Route:
    """One route with what it inherits resolved: receiver, group_by, timings in seconds."""

    path: str
    matchers: tuple[Matcher, ...]
    receiver: str
    cont: bool
    group_by: tuple[str, ...]
    timings: dict[str, float]
    routes: tuple[Route, ...] = ()

    def match(self, labels: LabelSet) -> list[Route]:
        """The routes an alert with `labels` ends at, in tree order (Alertmanager's Match)."""
        if not all(m.matches(labels) for m in self.matchers):
            return []
        found: list[Route] = []
        for child in self.routes:
            got = child.match(labels)
            found += got
            if got and not child.cont:
                break
        return found or [self]

    def groups_by(self, label: str) -> bool:
        return ALL_LABELS in self.group_by or label in self.group_by

    def walk(self) -> Iterator[Route]:
        yield self
        for child in self.routes:
            yield from child.walk()


def _matchers(raw: dict[str, Any], where: str) -> tuple[Matcher, ...]:
    found = [Matcher(str(k), "=", str(v)) for k, v in (raw.get("match") or {}).items()]
    found += [Matcher(str(k), "=~", str(v)) for k, v in (raw.get("match_re") or {}).items()]
    for i, text in enumerate(raw.get("matchers") or []):
        found.append(parse_matcher(str(text), f"{where}.matchers[{i}]"))
    return tuple(found)


def _route(raw: Any, parent: Route | None, path: str, source: str) -> Route:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {path}: a route must be a mapping (fix the config)")
    timings = dict(parent.timings) if parent else {}
    for key in ROUTE_DURATIONS:
        value = raw.get(key)
        if value is None and parent is None:
            value = ROUTE_DEFAULTS[key]
        if value is not None:
            timings[key] = parse_duration(str(value), f"{source}: {path}.{key}")
    group_by = raw.get("group_by")
    inherited = parent.group_by if parent else ()
    route = Route(
        path=path,
        matchers=_matchers(raw, f"{source}: {path}") if parent else (),
        receiver=str(raw.get("receiver") or (parent.receiver if parent else "")),
        cont=bool(raw.get("continue")),
        group_by=tuple(map(str, group_by)) if group_by is not None else inherited,
        timings=timings,
    )
    children = tuple(
        _route(child, route, f"{path}.routes[{i}]", source)
        for i, child in enumerate(raw.get("routes") or [])
    )
    return Route(**{**route.__dict__, "routes": children})


def route_tree(cfg: dict[str, Any], source: str) -> Route:
    """The config's routing tree; a config without `route:` is a one-line error."""
    if not isinstance(cfg.get("route"), dict):
        raise ConfigError(f"{source}: no 'route:' mapping (Alertmanager needs a routing tree)")
    return _route(cfg["route"], None, "route", source)


def _satisfying(matcher: Matcher) -> str | None:
    """A value that satisfies a positive matcher, where one is plain to see."""
    if matcher.op == "=":
        return matcher.value
    if matcher.op == "=~" and _LITERAL_ALTERNATIVES.match(matcher.value):
        return matcher.value.split("|")[0]
    return None  # negative matchers hold for an absent label


def reaching_label_sets(root: Route) -> list[tuple[Route, LabelSet]]:
    """For each route below the root, a label set built from the matchers on its path that
    the tree really routes to it (checked with `match`), in tree order."""
    out = []

    def visit(route: Route, labels: LabelSet) -> None:
        for child in route.routes:
            own = {m.name: v for m in child.matchers if (v := _satisfying(m)) is not None}
            merged = {**labels, **own}
            if any(r is child for r in root.match(merged)):
                out.append((child, merged))
            visit(child, merged)

    visit(root, {})
    return out


@dataclass(frozen=True)
class RoutedLabels:
    """A label set, the receivers Alertmanager routes it to (in order) and the routes it
    ends at, whose timings and grouping the live test waits by."""

    labels: LabelSet
    receivers: tuple[str, ...]
    routes: tuple[Route, ...]

    def timing(self, key: str) -> float:
        """The longest of the reached routes' `key` timing, in seconds."""
        return max(r.timings[key] for r in self.routes)

    def ungrouped_label(self) -> str | None:
        """A label no reached route groups by (so alerts differing in it share a group)."""
        label = "gate_instance"
        return None if any(r.groups_by(label) for r in self.routes) else label


@dataclass(frozen=True)
class GroupingCase:
    """Two alerts that differ only in `label`, `values[0]` and `values[1]`, both routed to
    `routed`'s receivers: meant to be two groups (the intent separates `label`, or every
    route they reach groups by it), so each receiver is notified of each apart."""

    label: str
    routed: RoutedLabels
    values: tuple[str, str]


def group_by_labels(root: Route) -> list[str]:
    """Every label some route of the tree groups by, besides alertname (`...` stands for a
    label of the gate's own, `gate_group`)."""
    names = {n for r in root.walk() for n in r.group_by if n != "alertname"}
    return sorted({"gate_group" if n == ALL_LABELS else n for n in names})


def _tree_values(root: Route, label: str) -> list[str]:
    return sorted({v for r in root.walk() for m in r.matchers if m.name == label
                   and (v := _satisfying(m)) is not None})  # fmt: skip


@dataclass(frozen=True)
class RoutingPlan:
    """Label sets for the routing-semantics tests, taken from the config's own tree; None
    where the tree has no such shape (no `continue`, no catch-all default)."""

    root: Route
    fan_out: RoutedLabels | None  # reaches two receivers or more (a `continue` route)
    single: RoutedLabels | None  # ends at one child route, without `continue`
    fallback: RoutedLabels | None  # no child route matches: the root's receiver
    richest: RoutedLabels | None  # most kinds of integration, then most receivers
    grouping: dict[str, GroupingCase] = field(default_factory=dict)  # by group_by label


def routing_plan(
    root: Route,
    routes_to: Callable[[LabelSet], list[str]],  # the real routing code (amtool)
    kinds: dict[str, frozenset[str]],
    undeliverable: set[str],
    separate: Sequence[str] | None = None,
) -> RoutingPlan:
    """Pick the plan's label sets among those that reach each route (and pairs of them).
    Label sets that reach a receiver in `undeliverable` (a template that fails to render, no
    integration) are left out, so the tests judge routing, not notification. A grouping case
    for each label of `separate` (the intent), else for each group_by label of the tree on a
    label set whose routes all group by it."""
    paths = [labels for _, labels in reaching_label_sets(root) if "alertname" not in labels]
    pairs = [
        {**a, **b}
        for i, a in enumerate(paths)
        for b in paths[i + 1 :]
        if all(a.get(k, v) == v for k, v in b.items())
    ]
    seen: list[RoutedLabels] = []
    for labels in [*paths, *pairs]:
        if any(s.labels == labels for s in seen):
            continue
        receivers = tuple(routes_to(labels))
        if receivers and not set(receivers) & undeliverable:
            seen.append(RoutedLabels(labels, receivers, tuple(root.match(labels))))
    from_paths = [s for s in seen if s.labels in paths]
    fan_out = next((s for s in seen if len(set(s.receivers)) >= 2), None)  # paths first
    single = next(
        (
            s
            for s in from_paths
            if len(s.receivers) == 1
            and s.receivers[0] != root.receiver
            and len(s.routes) == 1
            and not s.routes[0].cont
        ),
        None,
    )
    nothing = tuple(routes_to({}))
    fallback = None
    if nothing == (root.receiver,) and root.receiver not in undeliverable:
        fallback = RoutedLabels({}, nothing, (root,))

    def richness(s: RoutedLabels) -> tuple[int, int]:
        integrations = frozenset().union(*(kinds.get(r, frozenset()) for r in s.receivers))
        return len(integrations), len(set(s.receivers))

    richest = max(seen, key=richness, default=None)
    grouping = {}
    for label in separate if separate is not None else group_by_labels(root):
        for routed in sorted(seen, key=richness, reverse=True):
            if separate is None and not all(r.groups_by(label) for r in routed.routes):
                continue
            candidates = ["gate-a", "gate-b", *_tree_values(root, label)]
            kept = [
                v for v in candidates
                if tuple(routes_to({**routed.labels, label: v})) == routed.receivers
            ]  # fmt: skip
            if len(kept) >= 2:
                grouping[label] = GroupingCase(label, routed, (kept[0], kept[1]))
                break
    return RoutingPlan(root, fan_out, single, fallback, richest, grouping)

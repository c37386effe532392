"""normalizePath keeps the `path` label bounded: ids and keys never reach it.

Examples and identifier shapes come from scenarios/metrics/paths.yaml. Hypothesis builds
paths from static words and identifier slots, requests each path with two different values
in its slots, and reads the labels back from /metrics: they must be exactly the template
(the shape's placeholder in each slot), and one label for both values. Each example's
paths start with their own prefix, so the labels it made are told apart from all others.
"""

from __future__ import annotations

import itertools
import os
import re
import string
import uuid
from dataclasses import dataclass

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from obsgate.config import ObsConfig
from obsgate.findings import declared_finding, judge, parse_finding_reason
from obsgate.params import parametrize_from_config
from obsgate.refapp.client import scrape
from obsgate.refapp.intent import IdentifierIntent, PathExample, identifier_intents
from obsgate.stack.endpoint import Endpoint

pytestmark = [pytest.mark.metrics, pytest.mark.needs("redis")]

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
EXAMPLES = 200 if CI else 25
WORDS = ("api", "v1", "orgs", "projects", "usage", "reports", "daily", "tools", "keys", "invoke")
HEX = "0123456789abcdef"
SHAPES: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "uuid-uppercase": st.uuids().map(lambda u: str(u).upper()),
    "integer": st.integers(0, 10**15).map(str),
    "mindweave-key": st.tuples(
        st.text(string.ascii_lowercase, min_size=2, max_size=8),
        st.text(string.ascii_letters + string.digits, min_size=8, max_size=32),
    ).map(lambda parts: f"mw_{parts[0]}_{parts[1]}"),
    "date": st.dates().map(lambda d: d.isoformat()),
    # a 24-hex id (a MongoDB ObjectId's shape) that starts with a digit and has a letter
    "digit-led-hex": st.tuples(
        st.sampled_from("0123456789"),
        st.sampled_from("abcdef"),
        st.text(HEX, min_size=22, max_size=22),
    ).map("".join),
}
SLOT = None  # a template element that holds an identifier
_prefixes = itertools.count()
_RUN = uuid.uuid4().hex[:8]
_PARTIAL = re.compile(r":(id|key)[^/]")


@dataclass(frozen=True)
class Shape:
    """What one parametrisation generates: identifier shapes and their placeholder."""

    name: str
    shapes: tuple[str, ...]
    placeholder: dict[str, str | None]
    finding: str | None


def shape_params(config: ObsConfig) -> list[Shape]:
    intents = identifier_intents(config)
    out = [Shape(i.shape, (i.shape,), {i.shape: i.placeholder}, i.finding) for i in intents]
    exact: list[IdentifierIntent] = [i for i in intents if not i.finding]
    if len(exact) > 1:
        out.append(
            Shape(
                "exact-shapes-mixed",
                tuple(i.shape for i in exact),
                {i.shape: i.placeholder for i in exact},
                None,
            )
        )
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_from_config(metafunc, "shape", shape_params, id_of=lambda s: s.name)


def labels_by_prefix(metrics_url: str, run_prefix: str) -> dict[str, set[str]]:
    """`path` label values of http_requests_total under `run_prefix`, by example prefix."""
    text = requests.get(metrics_url, timeout=30).text
    wanted = f'path="{run_prefix}'
    lines = [line for line in text.splitlines() if "_total{" in line and wanted in line]
    body = "# TYPE http_requests_total counter\n" + "\n".join(lines) + "\n"
    out: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            path = sample.labels["path"]
            out.setdefault(path[: path.index("/", 1) + 1], set()).add(path)
    return out


def test_example_path_gets_its_label(refapp: Endpoint, example: PathExample) -> None:
    """Each example of paths.yaml, requested on the app, is counted under its label."""

    def count() -> float:
        return sum(
            s.value
            for s in scrape(refapp.metrics_url).of("http_requests_total")
            if s.labels.get("path") == example.label and s.labels.get("method") == "GET"
        )

    before = count()
    requests.get(f"{refapp.url}{example.path}", timeout=30)
    after_labels = scrape(refapp.metrics_url).path_labels()
    assert count() >= before + 1, (
        f"GET {example.path} was not counted under path={example.label!r}; "
        f"labels served: {sorted(after_labels)}"
    )
    if example.path != example.label:
        assert example.path not in after_labels


def test_generated_paths_keep_path_label_bounded(
    flooded_gateway: Endpoint, shape: Shape, obs_config: ObsConfig
) -> None:
    """Two values in the same slots give one label, the template, never the values.

    Hypothesis only generates and sends; one scrape afterwards judges every example (a
    scrape per example would cost more than the requests)."""
    session = requests.Session()
    run_prefix = f"/hyp-{_RUN}-{shape.name}-"
    sent: dict[str, tuple[list[str], str | None]] = {}  # example prefix -> paths, template
    elements = st.one_of(st.sampled_from(WORDS), st.sampled_from(shape.shapes).map(lambda s: (s,)))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        template=st.lists(elements, min_size=1, max_size=5).filter(
            lambda t: any(isinstance(e, tuple) for e in t)
        ),
        data=st.data(),
    )
    def send(template: list[str | tuple[str]], data: st.DataObject) -> None:
        prefix = f"{run_prefix}{next(_prefixes)}/"
        paths = []
        for _ in range(2):
            segments = [data.draw(SHAPES[e[0]]) if isinstance(e, tuple) else e for e in template]
            paths.append(prefix + "/".join(segments))
            session.get(f"{flooded_gateway.url}{paths[-1]}", timeout=30)
        expected = None
        if all(shape.placeholder.get(e[0]) for e in template if isinstance(e, tuple)):
            expected = prefix + "/".join(
                str(shape.placeholder[e[0]]) if isinstance(e, tuple) else e for e in template
            )
        sent[prefix] = (paths, expected)

    send()
    labels = labels_by_prefix(flooded_gateway.metrics_url, run_prefix)
    violations = []
    for prefix, (paths, expected) in sent.items():
        got = labels.get(prefix, set())
        if len(got) != 1 or (expected is not None and got != {expected}):
            violations.append(f"{paths} -> labels {sorted(got)}, intent {expected or 'one label'}")
    finding = parse_finding_reason(f"finding: {shape.finding}") if shape.finding else None
    judge(
        holds=not violations,
        # hypothesis draws the paths: the finding pins the cause (each violation a segment
        # half replaced), not which paths were drawn
        observed=all(_PARTIAL.search(v.split("-> labels")[1]) for v in violations),
        finding=declared_finding(
            obs_config, finding[0] if finding else shape.name, finding[1] if finding else None
        ),
        failure=f"{len(violations)} of {len(sent)} generated paths made unbounded `path` "
        "labels, e.g.:\n" + "\n".join(violations[:5]),
    )

"""No secret reaches Elasticsearch from any place the redact list covers.

Hypothesis draws requests to the real gateway (secrets in the body it logs and in headers)
and log events through the app's logger (top-level keys, child bindings, one level down),
each secret unique; a sweep first puts one secret at every path of the intent, so each path
is exercised in every run. Then the lines are shipped once, the store refreshed once, and
each secret searched for in every index: none may be found, and each covered field must
read the censor. The places come from the intent, never from the config's own list, so a
path removed from the logger's redact list is a secret found, named with its path.
"""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from obsgate.options import is_ci
from obsgate.redaction.events import EventLogger
from obsgate.redaction.logstore import LogStore, Placement, value_at
from obsgate.redaction.senders import EventCase, RequestCase, log_event_case, send_request_case
from obsgate.stack.endpoint import Endpoint

from .conftest import RedactionIntent

pytestmark = [
    pytest.mark.redaction,
    pytest.mark.needs("elasticsearch"),
    pytest.mark.writes("ships test log lines with secrets into the log store"),
]
CI_EXAMPLES = 200  # CI's bar for the main property; each example is one request and one event
# fewer only where a run says so (the gate's breakage self-tests), never under CI=true
EXAMPLES = int(os.environ.get("REDACTION_EXAMPLES", CI_EXAMPLES))
CONTAINERS = ("user", "body", "params", "credentials", "data", "config")  # a few, fixed:
# every new key is a new field in the index, whose mapping is limited to 1000 fields
LEVELS = ("info", "warn", "error")


def sweep(
    app: Endpoint, logger: EventLogger, intent: RedactionIntent, batch: str
) -> list[Placement]:
    """One secret at every path of the intent, by every channel that can carry it."""
    top, nested = intent.top_level(), intent.one_level_down()
    out = log_event_case(logger, f"{batch}-sweep-top", EventCase(top=top))
    out += log_event_case(logger, f"{batch}-sweep-bound", EventCase(bound=top))
    nested_case = EventCase(nested=[("data", k) for k in nested])
    out += log_event_case(logger, f"{batch}-sweep-nested", nested_case)
    headers = list(intent.headers_never_logged)
    for route in ("usage", "policy"):
        case = RequestCase(route=route, keys=nested, headers=headers, intent="*.{key}")
        out += send_request_case(app, case)
    return out


def censored_where_logged(store: LogStore, placements: list[Placement], censor: str) -> list[str]:
    """Each placement's own log line is stored, and its field reads the censor."""
    by_trace = [p.locator["trace_id"] for p in placements if "trace_id" in p.locator]
    by_case = [p.locator["gate_case"] for p in placements if "gate_case" in p.locator]
    docs = store.docs("trace_id", sorted(set(by_trace))) if by_trace else []
    docs += store.docs("gate_case", sorted(set(by_case))) if by_case else []
    problems = []
    for p in placements:
        if not p.locator:
            continue
        mine = [d for d in docs if all(d.get(k) == v for k, v in p.locator.items())]
        if not mine:
            problems.append(f"{p.describe()}: no stored log line has {p.locator}")
            continue
        seen = [value_at(d, p.path) for d in mine]
        if any(v != censor for v in seen):
            problems.append(f"{p.describe()}: stored as {seen}, expected {censor!r}")
    return problems


@pytest.mark.requires("node_build")  # runs the services' own pino logger
def test_no_secret_from_a_covered_place_reaches_the_store(
    refapp: Endpoint,
    log_store: LogStore,
    event_logger: EventLogger,
    redaction_intent: RedactionIntent,
) -> None:
    assert not (is_ci() and EXAMPLES < CI_EXAMPLES), f"CI runs at least {CI_EXAMPLES} examples"
    intent, batch = redaction_intent, uuid.uuid4().hex[:12]
    placements = sweep(refapp, event_logger, intent, batch)
    counter = iter(range(10**9))
    top, nested = intent.top_level(), intent.one_level_down()

    event_case = st.tuples(
        st.lists(st.sampled_from(top), unique=True, max_size=4),
        st.lists(st.sampled_from(top), unique=True, max_size=2),
        st.lists(
            st.tuples(st.sampled_from(CONTAINERS), st.sampled_from(nested)),
            unique=True,
            max_size=4,
        ),
        st.sampled_from(LEVELS),
    ).filter(lambda c: c[0] or c[1] or c[2])
    request_case = st.tuples(
        st.sampled_from(("usage", "policy")),
        st.lists(st.sampled_from(nested), unique=True, min_size=1),
        st.lists(st.sampled_from(intent.headers_never_logged), unique=True),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # judged after all are shipped: nothing to shrink against
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(event=event_case, request=request_case)
    def send(event: tuple, request: tuple) -> None:
        n = next(counter)
        ev_top, ev_bound, ev_nested, level = event
        bound = [k for k in ev_bound if k not in ev_top]
        case = EventCase(top=ev_top, bound=bound, nested=ev_nested, level=level)
        placements.extend(log_event_case(event_logger, f"{batch}-{n}", case))
        route, keys, headers = request
        sent = RequestCase(route=route, keys=keys, headers=headers, intent="*.{key}")
        placements.extend(send_request_case(refapp, sent))

    send()
    examples = next(counter)
    assert examples >= EXAMPLES, f"Hypothesis ran {examples} examples, the bar is {EXAMPLES}"
    report = log_store.ship()
    assert not report.dropped, f"log lines were not stored: {report.dropped[:10]}"
    log_store.assert_nowhere(placements)
    problems = censored_where_logged(log_store, placements, intent.censor)
    assert not problems, "\n".join(problems[:40])

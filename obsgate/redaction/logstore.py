"""The log store as the redaction suite reads it: ship what the app wrote, refresh, and
search the whole store for a value, naming every document and field where it was found.

Secrets are lower-case letters and digits only, so Elasticsearch's standard analyzer keeps
each one a single token wherever it lands (a URL, a header, a stack trace), and a phrase
query for it finds every occurrence in any text field of any index.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from obsgate.errors import ServiceError
from obsgate.logship import LogShipper, ShipperSettings, ShipReport

ALL_INDICES = "*"
MAX_DOCS = 10_000
# Ship again after this pause until a pass finds no new line (at most this many passes).
SETTLE_SECONDS = 0.1
SETTLE_PASSES = 20


def new_secret(kind: str) -> str:
    """A unique, high-entropy value: 128 random bits, tagged with what it stands for."""
    tag = "".join(c for c in kind.lower() if c.isalnum())[:10]
    return f"mw{tag}{uuid.uuid4().hex}"


class LeakFound(AssertionError):
    """A secret was found in the log store (the failure a redaction finding documents)."""


@dataclass(frozen=True)
class Placement:
    """Where a test put one secret, and the intent it exercises."""

    secret: str
    channel: str  # how it was sent: "POST /api/v1/usage/events body", "log event", ...
    path: tuple[str, ...]  # where in the logged object (or request) it was put
    intent: str  # the redact path (or limit) this placement exercises
    locator: dict[str, str] = field(default_factory=dict)  # fields that find its document

    def describe(self) -> str:
        return f"`{self.intent}` (placed at `{'.'.join(self.path)}` by {self.channel})"


def field_paths(value: Any, needle: str, prefix: str = "") -> list[str]:
    """Dotted paths of every string in `value` that contains `needle`."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in field_paths(v, needle, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in field_paths(v, needle, f"{prefix}{i}.")]
    return [prefix.rstrip(".")] if needle in str(value) else []


def _fields(hits: list[dict[str, Any]], value: str) -> set[str]:
    """The fields of the hits' documents that hold `value` (a match only the analyser saw is
    named as such)."""
    return {f for hit in hits for f in field_paths(hit["_source"], value) or ["(analysed text)"]}


def value_at(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


class LogStore:
    """Elasticsearch behind the gate's Fluent Bit stand-in, tailing the given files from
    their current end (what other tests wrote before is not this test's business)."""

    def __init__(self, es_url: str, settings: ShipperSettings, files: list[Path]):
        self.es_url = es_url.rstrip("/")
        self.settings = settings
        self.shipper = LogShipper(settings, self.es_url, [str(f) for f in files])
        self.shipper.start_at_end()

    def ship(self) -> ShipReport:
        """Ship every complete new line, until a pass finds none, then refresh so that a
        search sees them. pino writes asynchronously (sonic-boom): a line logged before a
        response was sent may reach the file a moment after the client has its answer."""
        report = ShipReport()
        for _ in range(SETTLE_PASSES):
            time.sleep(SETTLE_SECONDS)
            new = self.shipper.ship_new_lines()
            report.add(new)
            if not (new.shipped or new.dropped):
                break
        self.refresh()
        return report

    def refresh(self) -> None:
        requests.post(f"{self.es_url}/_refresh", timeout=30).raise_for_status()

    def _post(self, path: str, body: str | dict[str, Any]) -> dict[str, Any]:
        data = body if isinstance(body, str) else json.dumps(body)
        resp = requests.post(
            f"{self.es_url}/{path}",
            data=data.encode(),
            headers={"Content-Type": "application/x-ndjson"},
            timeout=60,
        )
        if not resp.ok:
            raise ServiceError(f"Elasticsearch {path} answered {resp.status_code}: {resp.text}")
        return resp.json()

    def hits(self, values: list[str]) -> dict[str, list[dict[str, Any]]]:
        """For each value, the stored documents that hold it: one _msearch over every
        index, a phrase query on every field."""
        if not values:
            return {}
        lines = []
        for value in values:
            lines.append(json.dumps({"index": ALL_INDICES}))
            query = {"query_string": {"query": json.dumps(value), "lenient": True}}
            lines.append(json.dumps({"query": query, "size": 50}))
        answer = self._post("_msearch", "\n".join(lines) + "\n")
        found: dict[str, list[dict[str, Any]]] = {}
        for value, response in zip(values, answer["responses"], strict=True):
            if "error" in response:
                raise ServiceError(f"Elasticsearch search for a secret failed: {response}")
            if response["hits"]["hits"]:
                found[value] = response["hits"]["hits"]
        return found

    def where(self, values: list[str]) -> dict[str, list[str]]:
        """For each value, `index/id at field` for every stored document that holds it."""
        found: dict[str, list[str]] = {}
        for value, hits in self.hits(values).items():
            for hit in hits:
                fields = field_paths(hit["_source"], value) or ["(analysed text)"]
                where = f"{hit['_index']}/{hit['_id']} at {', '.join(f'`{f}`' for f in fields)}"
                found.setdefault(value, []).append(where)
        return found

    def fields_holding(self, value: str) -> set[str]:
        """The fields, as dotted paths, that hold `value` in any stored document."""
        return _fields(self.hits([value]).get(value, []), value)

    def docs(self, field_name: str, values: list[str]) -> list[dict[str, Any]]:
        """The stored documents whose keyword `field_name` is one of `values`."""
        query = {"terms": {f"{field_name}.keyword": values}}
        answer = self._post(f"{ALL_INDICES}/_search", {"query": query, "size": MAX_DOCS})
        return [hit["_source"] | {"_index": hit["_index"]} for hit in answer["hits"]["hits"]]

    def leaks(self, placements: list[Placement]) -> list[str]:
        """Each placement whose secret is in the store, with the fields that hold it: the
        evidence a leak finding pins (no secret, no document id, so it reads the same on
        every run)."""
        hits = self.hits([p.secret for p in placements])
        out = []
        for p in placements:
            if p.secret in hits:
                fields = _fields(hits[p.secret], p.secret)
                out.append(f"{p.describe()}: in {', '.join(f'`{f}`' for f in sorted(fields))}")
        return sorted(out)

    def assert_nowhere(self, placements: list[Placement]) -> None:
        """Raise LeakFound naming each placement whose secret is anywhere in the store."""
        found = self.where([p.secret for p in placements])
        leaks = [
            f"{p.describe()}: found in {'; '.join(found[p.secret])}"
            for p in placements
            if p.secret in found
        ]
        if leaks:
            intents = sorted({f"`{p.intent}`" for p in placements if p.secret in found})
            raise LeakFound(
                f"{len(leaks)} of {len(placements)} secrets reached the log store, "
                f"from {', '.join(intents)}:\n" + "\n".join(leaks[:40])
            )

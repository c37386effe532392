"""The gate's log shipper: a named stand-in for Fluent Bit, which cannot be installed here.

It tails JSON-lines log files and bulks each line into Elasticsearch as the seed's Fluent Bit
config says (`fluentbit.py` reads those settings): a line that is a JSON object is merged
into the record's root (Merge_Log), its raw text dropped unless Keep_Log; a line that is not
JSON is stored raw as `log`; record_modifier's fields are added; the index is the Logstash
prefix plus the date. No line is lost silently: every one is shipped, stored raw, or named in
`ShipReport.dropped` with the reason (too long, rejected by Elasticsearch, ...).
"""

from __future__ import annotations

import glob
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from obsgate.errors import ServiceError
from obsgate.logship.fluentbit import ShipperSettings


@dataclass
class ShipReport:
    """What became of the lines: shipped (raw ones counted apart), or dropped with a reason."""

    shipped: int = 0
    raw: int = 0
    dropped: list[str] = field(default_factory=list)
    duplicate_keys: list[str] = field(default_factory=list)
    indices: set[str] = field(default_factory=set)

    def add(self, other: ShipReport) -> None:
        self.shipped += other.shipped
        self.raw += other.raw
        self.dropped += other.dropped
        self.duplicate_keys += other.duplicate_keys
        self.indices |= other.indices


@dataclass(frozen=True)
class Line:
    path: Path
    number: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.number}"


class LogShipper:
    """Ships the new complete lines of the files matching `patterns` on each `ship_new_lines`."""

    def __init__(self, settings: ShipperSettings, es_url: str, patterns: list[str]):
        self.settings = settings
        self.es_url = es_url.rstrip("/")
        self.patterns = patterns
        self.positions: dict[Path, tuple[int, int]] = {}  # byte offset, lines read so far
        self.total = ShipReport()
        self.errors: list[str] = []  # Elasticsearch unreachable while running in the background
        self._lock = threading.Lock()

    def start_at_end(self) -> None:
        """Ship only lines written from now on (files that others already wrote to)."""
        for name in {p for pattern in self.patterns for p in glob.glob(pattern)}:
            data = Path(name).read_bytes()
            end = data.rfind(b"\n") + 1
            self.positions[Path(name)] = (end, data[:end].count(b"\n"))

    def new_lines(self) -> tuple[list[Line], dict[Path, tuple[int, int]]]:
        """Complete lines written since the last ship (each file read from its start, the
        gate's log files being new each run); a partial last line waits for its newline."""
        lines, positions = [], {}
        for name in sorted({p for pattern in self.patterns for p in glob.glob(pattern)}):
            path = Path(name)
            start, number = self.positions.get(path, (0, 0))
            with path.open("rb") as handle:
                handle.seek(start)
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1]
            for raw in complete.splitlines():
                number += 1
                lines.append(Line(path, number, raw.decode("utf-8", errors="replace")))
            positions[path] = (start + len(complete), number)
        return lines, positions

    def record(self, line: Line, now: datetime, report: ShipReport) -> dict[str, Any]:
        """The document Fluent Bit would store for `line` (Merge_Log, Keep_Log, Record)."""
        parsed = parse_object(line.text, line.where, report) if self.settings.merge_log else None
        if parsed is None:
            report.raw += 1
            doc: dict[str, Any] = {"log": line.text}
        else:
            doc = {**parsed, "log": line.text} if self.settings.keep_log else parsed
        for key, value in self.settings.added_fields.items():
            doc.setdefault(key, value)  # a field the app set itself is left as it is
        doc.setdefault(self.settings.time_key, now.isoformat(timespec="milliseconds"))
        return doc

    def ship_new_lines(self) -> ShipReport:
        """Read, build and bulk the new lines; offsets move on only once Elasticsearch answered."""
        with self._lock:
            report = ShipReport()
            lines, positions = self.new_lines()
            now = datetime.now(UTC)
            index = self.settings.index_for(now.strftime(self.settings.index_date_format))
            batch = []
            for line in lines:
                if not line.text.strip():
                    report.dropped.append(f"{line.where}: empty line (Fluent Bit's tail skips it)")
                elif len(line.text.encode()) > self.settings.buffer_max_size:
                    report.dropped.append(
                        f"{line.where}: longer than {self.settings.buffer_max_size} bytes "
                        "(Skip_Long_Lines)"
                    )
                else:
                    batch.append((line, self.record(line, now, report)))
            if batch:
                self.bulk(index, batch, report)
            self.positions.update(positions)
            self.total.add(report)
            return report

    def bulk(
        self, index: str, batch: list[tuple[Line, dict[str, Any]]], report: ShipReport
    ) -> None:
        """One _bulk request of `create` actions (Fluent Bit's default write operation)."""
        body = "".join(
            json.dumps({"create": {"_index": index}}) + "\n" + json.dumps(doc) + "\n"
            for _, doc in batch
        )
        url = f"{self.es_url}/_bulk"
        try:
            response = requests.post(
                url,
                data=body.encode(),
                headers={"Content-Type": "application/x-ndjson"},
                timeout=30,
            )
        except requests.RequestException as exc:
            raise ServiceError(f"log shipper: {url} unreachable, nothing shipped: {exc}") from None
        if not response.ok:
            raise ServiceError(
                f"log shipper: {url} answered {response.status_code}: {response.text}"
            )
        for (line, _), item in zip(batch, response.json()["items"], strict=True):
            result = item["create"]
            if result.get("error"):
                error = result["error"]
                report.dropped.append(
                    f"{line.where}: rejected by Elasticsearch: {error['type']}: {error['reason']}"
                )
            else:
                report.shipped += 1
                report.indices.add(index)

    @contextmanager
    def running(self, interval: float) -> Iterator[LogShipper]:
        """Ship every `interval` seconds in a thread (Fluent Bit's Flush), and once more at exit."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.ship_new_lines()
                except ServiceError as exc:  # Elasticsearch away: the lines wait, retried
                    self.errors.append(str(exc))

        thread = threading.Thread(target=loop, name="log-shipper", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.ship_new_lines()  # raises if Elasticsearch is still away: nothing is lost quietly


def parse_object(text: str, where: str, report: ShipReport) -> dict[str, Any] | None:
    """A JSON object line's fields (the last of a duplicated key wins, and is reported)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                report.duplicate_keys.append(f"{where}: {key}")
            seen.add(key)
        return dict(items)

    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

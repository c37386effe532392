"""What Fluent Bit's tail input makes of a container log line, as a node's runtime writes it.

docker (json-file) writes `{"log":"<line>\\n","stream":"stdout","time":"..."}`; containerd and
CRI-O (CRI) write `<time> <stream> <F|P> <line>`. The kubernetes filter's Merge_Log reads only
the record's `log` key (plugins/filter_kubernetes), so a service's JSON line is merged only
where the tail input's parser puts exactly that line in `log`. The parsers are Fluent Bit's
own: `Parser NAME` from the config's parsers file (json and regex formats), and the built-in
multiline parsers `docker` and `cri` (src/multiline/flb_ml_parser_docker.c and
flb_ml_parser_cri.c, fluent/fluent-bit v5.1): the first that parses a line wins, and a line
that no parser takes is kept whole in `log` (in_tail's raw record).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsgate.logship.fluentbit_conf import Section

LOG_KEY = "log"  # in_tail's `Key` default, and the key Merge_Log reads
# flb_ml_parser_cri.c, FLB_ML_CRI_REGEX (Onigmo's `(?<name>` written as Python's `(?P<name>`).
CRI_REGEX = r"^(?P<time>.+?) (?P<stream>stdout|stderr) (?P<_p>F|P) (?P<log>.*)$"
BUILTIN_MULTILINE = {"docker": ("json", None), "cri": ("regex", CRI_REGEX)}
# Built-in multiline parsers that join stack traces: they parse no runtime format.
BUILTIN_TRACE_JOINERS = ("go", "java", "python", "ruby")
SAMPLES_DIR = Path(__file__).resolve().with_name("container-lines")


@dataclass(frozen=True)
class ContainerLine:
    """One line as a runtime writes it to /var/log/containers/, and the app line inside."""

    runtime: str  # the fixture's name: "cri", "docker-json-file"
    raw: str
    app_line: str


def samples(folder: Path = SAMPLES_DIR) -> list[ContainerLine]:
    """The fixture lines: `<runtime>.log` holds one line as that runtime writes it, and
    `app-line.json` the line the service wrote, which each runtime's line carries."""
    app_line = (folder / "app-line.json").read_text(encoding="utf-8").rstrip("\n")
    out = []
    for path in sorted(folder.glob("*.log")):
        raw = path.read_text(encoding="utf-8").rstrip("\n")
        out.append(ContainerLine(path.stem, raw, app_line))
    return out


def onigmo_to_python(regex: str) -> str:
    """Fluent Bit's (Onigmo) named groups `(?<name>...)` in Python's spelling."""
    return re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", regex)


def parse_with(kind: str, regex: str | None, line: str) -> dict[str, Any] | None:
    """One Fluent Bit parser on one line: the record, or None where the parser fails (a
    json parser needs an object at the root, flb_parser_json.c; a regex one, a match)."""
    if kind == "json":
        try:
            value = json.loads(line)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    if kind == "regex" and regex:
        try:
            match = re.search(onigmo_to_python(regex), line)
        except re.error:
            return None
        return match.groupdict() if match else None
    return None


@dataclass(frozen=True)
class TailReading:
    """How one tail input reads lines: the parsers in the order it tries them."""

    how: str  # "Parser docker", "multiline.parser docker, cri", "no parser"
    parsers: tuple[tuple[str, str | None], ...]  # (format, regex) of each

    def record(self, line: str) -> dict[str, Any]:
        for kind, regex in self.parsers:
            parsed = parse_with(kind, regex, line)
            if parsed is not None:
                return parsed
        return {LOG_KEY: line}


def tail_reading(tail: Section, parsers: dict[str, Section]) -> TailReading:
    """The parsers a tail input applies: `multiline.parser` where set (in_tail then ignores
    `Parser`), else `Parser`, else none. A parser the gate does not model parses nothing."""
    multiline = [
        p.strip() for v in tail.values("multiline.parser") for p in v.split(",") if p.strip()
    ]
    if multiline:
        chosen = tuple(
            BUILTIN_MULTILINE.get(name, ("trace joiner" if name in BUILTIN_TRACE_JOINERS
                                         else "unknown", None))
            for name in multiline
        )  # fmt: skip
        return TailReading(f"multiline.parser {', '.join(multiline)}", chosen)
    name = tail.get("Parser")
    if not name:
        return TailReading("no parser", ())
    parser = parsers.get(name)
    if parser is None:
        return TailReading(f"Parser {name} (not defined)", ())
    fmt = (parser.get("Format") or "").lower()
    return TailReading(f"Parser {name}", ((fmt, parser.get("Regex")),))


def app_line_in_log(record: dict[str, Any], line: ContainerLine) -> bool:
    """Merge_Log sees the app's line: `log` holds it (Merge_Log_Trim drops the newline)."""
    value = record.get(LOG_KEY)
    return isinstance(value, str) and value.rstrip("\r\n") == line.app_line


def unread_lines(
    tails: list[Section], parsers: dict[str, Section], lines: list[ContainerLine]
) -> list[str]:
    """For each tail input and runtime whose line it does not hand to Merge_Log, one item:
    `[INPUT] tail <Path>: <runtime> line not parsed (<how>)`."""
    out = []
    for tail in tails:
        reading = tail_reading(tail, parsers)
        for line in lines:
            if not app_line_in_log(reading.record(line.raw), line):
                out.append(f"[INPUT] tail {tail.get('Path')}: {line.runtime} line not parsed "
                           f"({reading.how})")  # fmt: skip
    return out

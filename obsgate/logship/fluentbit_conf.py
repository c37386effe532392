"""A small, strict reader of Fluent Bit's classic config format: what the log shipper
applies, and what the redaction and tracing checks read. Strict where Fluent Bit is (it
refuses to start): a setting outside a section, an unknown section, a key without a value,
entries of one section indented differently, tabs; each error names the file and line.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from obsgate.errors import ConfigError

SECTIONS = ("SERVICE", "INPUT", "FILTER", "OUTPUT", "PARSER", "MULTILINE_PARSER", "UPSTREAM")
NAMED = ("INPUT", "FILTER", "OUTPUT", "PARSER", "MULTILINE_PARSER")


class FluentBitSyntaxError(ConfigError):
    """The config would not load in Fluent Bit."""


@dataclass
class Section:
    kind: str
    line: int
    entries: list[tuple[str, str, int]] = field(default_factory=list)

    def values(self, key: str) -> list[str]:
        return [v for k, v, _ in self.entries if k.lower() == key.lower()]

    def get(self, key: str, default: str | None = None) -> str | None:
        found = self.values(key)
        return found[0] if found else default

    def line_of(self, key: str) -> int | None:
        return next((n for k, _, n in self.entries if k.lower() == key.lower()), None)

    @property
    def name(self) -> str:
        return (self.get("Name") or "").lower()

    def matches(self, tag: str) -> bool:
        """Fluent Bit's Match: a glob where only `*` is special."""
        pattern = (self.get("Match") or "").replace("[", "[[]").replace("?", "[?]")
        return fnmatch.fnmatchcase(tag, pattern)


def parse_conf(text: str, where: str) -> list[Section]:
    sections: list[Section] = []
    indent: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.lstrip(" ")
        here = f"{where}:{number}"
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" in line[: len(line) - len(stripped) + 1]:
            raise FluentBitSyntaxError(f"{here}: a tab in the indentation (use spaces)")
        if stripped.startswith("["):
            if not stripped.endswith("]") or stripped != line:
                raise FluentBitSyntaxError(f"{here}: {line!r} is not a `[SECTION]` header")
            kind = stripped[1:-1].strip().upper()
            if kind not in SECTIONS:
                raise FluentBitSyntaxError(f"{here}: unknown section [{kind}] ({SECTIONS})")
            sections.append(Section(kind, number))
            indent = None
            continue
        if stripped.startswith("@"):
            raise FluentBitSyntaxError(f"{here}: {stripped.split()[0]} is not supported here")
        if not sections:
            raise FluentBitSyntaxError(f"{here}: a setting before any [SECTION]")
        this = line[: len(line) - len(stripped)]
        if not this:
            raise FluentBitSyntaxError(f"{here}: a setting must be indented under its section")
        if indent is not None and this != indent:
            raise FluentBitSyntaxError(
                f"{here}: indented {len(this)} spaces, the section's entries use {len(indent)}"
            )
        indent = this
        key, _, value = stripped.partition(" ")
        if not value.strip():
            raise FluentBitSyntaxError(f"{here}: {key} has no value")
        sections[-1].entries.append((key, value.strip(), number))
    for section in sections:
        if section.kind in NAMED and not section.get("Name"):
            raise FluentBitSyntaxError(f"{where}:{section.line}: [{section.kind}] has no Name")
    return sections


def plugins(sections: list[Section], kind: str, name: str) -> list[Section]:
    return [s for s in sections if s.kind == kind and s.name == name.lower()]


def is_on(value: str | None) -> bool:
    return (value or "").lower() in ("on", "true", "yes", "1")

"""A mutant: one line of one file of the config under test replaced by another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from obsgate.config.files import read_text
from obsgate.errors import ConfigError


@dataclass(frozen=True)
class Mutant:
    """Line `line` (1-based) of `file` (relative to the config dir) changed from `old` to
    `new`; `part` is the config part it belongs to, `subject` what it mutates (an alert,
    a route, an SLO); `equivalent` says why it provably behaves as the original, if it does."""

    part: str
    file: str
    line: int
    old: str
    new: str
    operator: str
    description: str
    subject: str = ""
    equivalent: str | None = None

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.operator}:{abs(hash(self.new)) % 10**6:06d}"

    def apply(self, root: Path) -> None:
        """Write this mutant into the config copy at `root` (its line must be unchanged)."""
        path = root / self.file
        lines = read_text(path).split("\n")
        if lines[self.line - 1] != self.old:
            raise ConfigError(f"{path}:{self.line}: not the line the mutant was made from")
        lines[self.line - 1] = self.new
        path.write_text("\n".join(lines), encoding="utf-8")

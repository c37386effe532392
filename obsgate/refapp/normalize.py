"""The seed's normalizePath: the `path` label of the HTTP metrics, from the configured rules.

JavaScript's String.replace with a regex: without the `g` flag only the first match is
replaced. The rules run in the configured order, each on the previous one's output.
"""

from __future__ import annotations

from collections.abc import Sequence

from obsgate.refapp.settings import PathRule


def _js_replacement(replacement: str) -> str:
    """JavaScript replacement text as a Python one: `$&`/`$1` patterns, `\\` literal."""
    out = replacement.replace("\\", "\\\\").replace("$&", r"\g<0>")
    for n in range(9, 0, -1):
        out = out.replace(f"${n}", rf"\g<{n}>")
    return out.replace("$$", "$")


class PathNormalizer:
    def __init__(self, rules: Sequence[PathRule]):
        self.rules = [(r.pattern, _js_replacement(r.replacement), r.replace_all) for r in rules]

    def __call__(self, path: str) -> str:
        for pattern, replacement, replace_all in self.rules:
            path = pattern.sub(replacement, path, count=0 if replace_all else 1)
        return path

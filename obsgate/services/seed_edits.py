"""Every edit the build makes to the seed's TypeScript before `tsc`, listed in the run's output.

The seed's modules use Express's `Request`, `Response` and `NextFunction` types without
importing them. Under @types/node 20 the first two resolve to the global fetch types, which
have no `res.set`, `res.on` or `req.path`, and `NextFunction` does not exist: `tsc` refuses
all three files. A type-only import changes no emitted JavaScript, so no behaviour changes.
An edit whose `old` text is absent (a config dir whose code already imports them) is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

EXPRESS_TYPES = "import type { Request, Response, NextFunction } from 'express';\n"


@dataclass(frozen=True)
class SeedEdit:
    file: str  # relative to the config dir's services/src
    old: str
    new: str
    why: str
    changes_behaviour: bool = False

    def describe(self) -> str:
        kind = "changes behaviour: a finding" if self.changes_behaviour else "types only"
        return f"{self.file}: {self.why} ({kind})"


SEED_EDITS = (
    SeedEdit(
        "metrics/metrics.service.ts",
        "// src/metrics/metrics.service.ts\n",
        "// src/metrics/metrics.service.ts\n"
        + "import type { Request, Response } from 'express';\n",
        "import type { Request, Response } from 'express' (used, never imported)",
    ),
    SeedEdit(
        "metrics/instrumentation.ts",
        "// src/metrics/instrumentation.ts\n",
        "// src/metrics/instrumentation.ts\n" + EXPRESS_TYPES,
        "import type { Request, Response, NextFunction } from 'express' (used, never imported)",
    ),
    SeedEdit(
        "logging/logger.ts",
        "// src/logging/logger.ts\n",
        "// src/logging/logger.ts\n" + EXPRESS_TYPES,
        "import type { Request, Response, NextFunction } from 'express' (used, never imported)",
    ),
)


def apply_edits(file: str, text: str) -> tuple[str, list[SeedEdit]]:
    """`text` of `file` with its edits made, and the edits that applied."""
    applied = []
    for edit in SEED_EDITS:
        if edit.file == file and edit.old in text and edit.new not in text:
            text = text.replace(edit.old, edit.new, 1)
            applied.append(edit)
    return text, applied

"""Every edit the build makes to the seed's TypeScript before `tsc`, listed in the run's output.

The seed's modules use Express's `Request`, `Response` and `NextFunction` types without
importing them. Under @types/node 20 the first two resolve to the global fetch types, which
have no `res.set`, `res.on` or `req.path`, and `NextFunction` does not exist: `tsc` refuses
all three files. A type-only import changes no emitted JavaScript, so no behaviour changes.
An edit whose `old` text is absent (a config dir whose code already imports them) is skipped.

One edit is about time only: the batch span processor's 5 s export delay becomes
`OBS_GATE_BSP_DELAY_MS` when that is set (the gate sets 200 ms, as it scales Prometheus'
time), so a tracing test reads its spans in a fifth of a second instead of five. Unset, the
value is the seed's own.
"""

from __future__ import annotations

from dataclasses import dataclass

EXPRESS_TYPES = "import type { Request, Response, NextFunction } from 'express';\n"
BSP_DELAY_ENV = "OBS_GATE_BSP_DELAY_MS"
BSP_DELAY_MS = "200"  # the batch span processor's export delay under test


@dataclass(frozen=True)
class SeedEdit:
    file: str  # relative to the config dir's services/src
    old: str
    new: str
    why: str
    kind: str = "types only"

    def describe(self) -> str:
        return f"{self.file}: {self.why} ({self.kind})"


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
    SeedEdit(
        "tracing/tracing.ts",
        "    scheduledDelayMillis: 5000,\n",
        f"    scheduledDelayMillis: Number(process.env.{BSP_DELAY_ENV} ?? 5000),\n",
        f"span export delay {BSP_DELAY_ENV} if set, else the seed's 5000 ms",
        kind="timing only",
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

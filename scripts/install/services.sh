#!/usr/bin/env bash
# The Node services under test: `npm ci` of services/package-lock.json, then `tsc` over the
# seed's TypeScript in the config dir ($OBS_CONFIG_DIR, default the seed's) with the glue in
# services/src, into $OBS_GATE_CACHE/services. Idempotent: both are cached by the content of
# their inputs, so a second run builds nothing. Every edit the build makes to the seed's
# code is printed. The gate's fixture builds the run's config dir the same way.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${OBS_GATE_PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
config=${OBS_CONFIG_DIR:-$repo/fixtures/config/mindweave}
cd "$repo"
"$python" -m obsgate.services "$config" ${OBS_INSTALL_FOR:+--why "$OBS_INSTALL_FOR"}

#!/usr/bin/env bash
# Sloth, the SLO suite's oracle: `go install` of github.com/slok/sloth/cmd/sloth at the
# version pinned in versions.env, into $OBS_GATE_CACHE/backends/bin. Idempotent: when that binary
# already reports the pinned version, nothing is built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
bin_dir=$BACKENDS_DIR/bin
sloth="$bin_dir/sloth"
stamp="$bin_dir/.sloth-version"

if [ -x "$sloth" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SLOTH_VERSION" ]; then
  echo "install-backends: sloth $SLOTH_VERSION present ($sloth), nothing built"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "install-backends: sloth $SLOTH_VERSION needs Go (1.26 or newer: its go.mod says" \
       "go 1.26.0) to build; install Go from https://go.dev/dl and rerun" \
       "scripts/install-backends, or set SLOTH to a sloth binary" >&2
  exit 1
fi
mkdir -p "$bin_dir"
echo "install-backends: building sloth $SLOTH_VERSION with $(go version | cut -d' ' -f3)" \
     "${OBS_INSTALL_FOR:+for the ${OBS_INSTALL_FOR//,/, } suites }(go install" \
     "github.com/slok/sloth/cmd/sloth@$SLOTH_VERSION into $bin_dir, a few minutes)"
start=$(date +%s)
# nice: the build must not starve servers another run keeps in real time on this machine.
GOBIN="$bin_dir" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  nice -n 10 go install "github.com/slok/sloth/cmd/sloth@$SLOTH_VERSION"
echo "$SLOTH_VERSION" > "$stamp"
echo "install-backends: sloth $SLOTH_VERSION built in $(( $(date +%s) - start )) s: $sloth"

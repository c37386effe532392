#!/usr/bin/env bash
# Alertmanager and amtool for `--server-versions current` (the default), built with Go from
# the module proxy (github.com/prometheus/alertmanager) into
# $OBS_GATE_CACHE/backends/alertmanager-<version>/. Debian's 0.25 (the `debian` line) comes
# from scripts/install-backends' apt step. Idempotent; the build is
# scripts/install/go-module-build.bash's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=go-module-build.bash
source "$here/go-module-build.bash"

# The module leaves out the built web UI that ui/web.go embeds (ui/app/dist, made by npm in
# a release build); the gate uses the HTTP API only, so a one-line page stands in for it.
placeholder_ui() {
  local ui
  for ui in elm mantine; do
    mkdir -p "ui/app/dist/$ui"
    echo "Alertmanager's web UI is not built here (obs-gate uses the HTTP API only)." \
      > "ui/app/dist/$ui/index.html"
  done
}

build_go_module alertmanager "$ALERTMANAGER_VERSION" github.com/prometheus/alertmanager \
  "v$ALERTMANAGER_VERSION" 1.26.0 placeholder_ui ./cmd/alertmanager ./cmd/amtool

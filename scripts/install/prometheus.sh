#!/usr/bin/env bash
# Prometheus 3 and promtool for `--server-versions current` (the default), built with Go from
# the module proxy into $OBS_GATE_CACHE/backends/prometheus-<version>/. Prometheus 3.X.Y is
# released as the Go module github.com/prometheus/prometheus v0.3X.Y. Debian's 2.42 (the
# `debian` line) comes from scripts/install-backends' apt step. Idempotent; the build is
# scripts/install/go-module-build.bash's.
#
# Built with every service discovery except the cloud providers' (PROMETHEUS_CLOUD_SD): their
# SDKs are half of Prometheus' source, so half its build time, and the gate's own servers
# discover targets from files only. A config that uses one of them gets promtool with every
# discovery for its config check (promtool-all-sd.sh), built only then.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=go-module-build.bash
source "$here/go-module-build.bash"

# Prometheus' own build tags (plugins/plugin_<name>.go): remove_all_sd keeps file and http
# discovery, and enable_<name>_sd adds one back.
# Without those files (another layout) nothing is removed: a full build, never a bare one.
without_cloud_sd() {
  local tags="" plugin name
  for plugin in "$1"/plugins/plugin_*.go; do
    [ -e "$plugin" ] || continue
    name=$(basename "$plugin" .go)
    name=${name#plugin_}
    [[ " $PROMETHEUS_CLOUD_SD " == *" $name "* ]] || tags+=",enable_${name}_sd"
  done
  if [ -n "$tags" ]; then echo "remove_all_sd$tags"; fi
}

GO_BUILD_TAGS_FN=without_cloud_sd GO_BUILD_FLAVOUR="without discovery: $PROMETHEUS_CLOUD_SD" \
  build_go_module prometheus "$PROMETHEUS_VERSION" github.com/prometheus/prometheus \
  "$PROMETHEUS_MODULE_VERSION" 1.26.7 - ./cmd/prometheus ./cmd/promtool

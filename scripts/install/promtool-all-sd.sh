#!/usr/bin/env bash
# promtool 3 with every service discovery, cloud providers' included, into
# $OBS_GATE_CACHE/backends/promtool-all-sd-<version>/: `promtool check config` of a config
# that discovers targets in AWS, Azure, GCE, OCI, IONOS or Outscale needs it, which the
# prometheus step's build leaves out (prometheus.sh). Installed only for such a config
# (scripts/gate's plan) or when asked for: `scripts/install-backends promtool-all-sd`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=go-module-build.bash
source "$here/go-module-build.bash"

GO_BUILD_FLAVOUR="with every discovery" build_go_module promtool-all-sd "$PROMETHEUS_VERSION" github.com/prometheus/prometheus \
  "$PROMETHEUS_MODULE_VERSION" 1.26.7 - ./cmd/promtool

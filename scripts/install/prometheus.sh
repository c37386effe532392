#!/usr/bin/env bash
# Prometheus 3 and promtool for `--server-versions current` (the default), built with Go from
# the module proxy into $OBS_GATE_CACHE/backends/prometheus-<version>/. Prometheus 3.X.Y is
# released as the Go module github.com/prometheus/prometheus v0.3X.Y. Debian's 2.42 (the
# `debian` line) comes from scripts/install-backends' apt step. Idempotent; the build is
# scripts/install/go-module-build.bash's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=go-module-build.bash
source "$here/go-module-build.bash"

build_go_module prometheus "$PROMETHEUS_VERSION" github.com/prometheus/prometheus \
  "$PROMETHEUS_MODULE_VERSION" 1.26.7 - ./cmd/prometheus ./cmd/promtool

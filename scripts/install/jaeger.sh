#!/usr/bin/env bash
# Jaeger v2 for the process backend, built from the Go module proxy into $OBS_GATE_CACHE/backends/bin.
# Jaeger v2 is released from the module github.com/jaegertracing/jaeger under paired tags
# (v1.76.0 carries v2.13.0): the proxy serves the v1.x tags only. `go install pkg@version`
# refuses this module (its go.mod has a replace directive), so the tag's own module is
# built as the main module, with its go.sum and replace, from the module cache.
# Idempotent: when the binary's stamp names the pinned versions, nothing is built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
bin_dir=$BACKENDS_DIR/bin
jaeger="$bin_dir/jaeger"
stamp="$bin_dir/.jaeger-version"
module=github.com/jaegertracing/jaeger
want="$JAEGER_VERSION ($module@$JAEGER_MODULE_VERSION)"

mkdir -p "$bin_dir"
# Two install-backends runs at once build once: the second waits here, then finds the stamp.
exec 9>"$bin_dir/.jaeger.lock"
flock 9
if [ -x "$jaeger" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "install-backends: jaeger $want present ($jaeger), nothing built"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "install-backends: jaeger $want needs Go (1.24.6 or newer: its go.mod says" \
       "go 1.24.6) to build; install Go from https://go.dev/dl and rerun" \
       "scripts/install-backends, or set JAEGER_BIN to a Jaeger v2 binary" >&2
  exit 1
fi
src=$(cd / && go mod download -json "$module@$JAEGER_MODULE_VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if ! grep -q "^v${JAEGER_MODULE_VERSION#v} / ${JAEGER_VERSION} " "$src/CHANGELOG.md"; then
  echo "install-backends: $module@$JAEGER_MODULE_VERSION is not the release of jaeger" \
       "$JAEGER_VERSION (its CHANGELOG.md pairs them otherwise); fix scripts/install/versions.env" >&2
  exit 1
fi
echo "install-backends: building jaeger $want with $(go version | cut -d' ' -f3)" \
     "${OBS_INSTALL_FOR:+for the ${OBS_INSTALL_FOR//,/, } suites }(go build ./cmd/jaeger" \
     "into $bin_dir, several minutes on 2 cores)"
start=$(date +%s)
# nice: the build must not starve servers another run keeps in real time on this machine.
# The version is stamped the way the project's Makefile does, so `jaeger version` names it.
(cd "$src" && GOFLAGS="${GOFLAGS:-} -buildvcs=false" nice -n 10 go build -trimpath \
  -ldflags "-s -w -X $module/internal/version.latestVersion=$JAEGER_VERSION" \
  -o "$jaeger.tmp" ./cmd/jaeger)
mv "$jaeger.tmp" "$jaeger"
echo "$want" > "$stamp"
echo "install-backends: jaeger $want built in $(( $(date +%s) - start )) s: $jaeger"

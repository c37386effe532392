#!/usr/bin/env bash
# actionlint, which lints the CI example (.github/workflows/) for tests/unit/test_ci_example.py,
# with shellcheck on its run: blocks: `go install` of github.com/rhysd/actionlint/cmd/actionlint
# at the version pinned in versions.env, into $OBS_GATE_CACHE/backends/bin. Idempotent: when that
# binary was built at the pinned version, nothing is built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/versions.env
source "$here/versions.env"
bin_dir=$BACKENDS_DIR/bin
actionlint="$bin_dir/actionlint"
stamp="$bin_dir/.actionlint-version"

if [ -x "$actionlint" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$ACTIONLINT_VERSION" ]; then
  echo "install-backends: actionlint $ACTIONLINT_VERSION present ($actionlint), nothing built"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "install-backends: actionlint $ACTIONLINT_VERSION needs Go to build; install Go from" \
       "https://go.dev/dl and rerun scripts/install-backends, or set ACTIONLINT to an" \
       "actionlint binary" >&2
  exit 1
fi
mkdir -p "$bin_dir"
echo "install-backends: building actionlint $ACTIONLINT_VERSION with $(go version | cut -d' ' -f3)" \
     "${OBS_INSTALL_FOR:+for the ${OBS_INSTALL_FOR//,/, } tests }(go install" \
     "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION into $bin_dir)"
start=$(date +%s)
# nice: the build must not starve servers another run keeps in real time on this machine.
GOBIN="$bin_dir" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  nice -n 10 go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
echo "$ACTIONLINT_VERSION" > "$stamp"
echo "install-backends: actionlint $ACTIONLINT_VERSION built in $(( $(date +%s) - start )) s: $actionlint"

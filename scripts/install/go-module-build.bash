# Sourced by prometheus.sh and alertmanager.sh (not run by install-backends: not a *.sh): a
# server and its command-line tool built with Go from one module of the Go module proxy, into
# a versioned folder of the shared cache, $OBS_GATE_CACHE/backends/<name>-<version>/.
#
#   build_go_module NAME VERSION MODULE MODULE_VERSION GO_NEEDED PREPARE ./cmd/a ./cmd/b ...
#
# GO_BUILD_TAGS_FN, if set, names a function that prints the build tags (after netgo) for the
# module's source folder given to it; GO_BUILD_FLAVOUR says in words what those tags leave
# out, and goes into the stamp, so a build of another flavour is not taken for this one.
#
# `go install pkg@version` refuses these modules (Prometheus' go.mod has `exclude`
# directives), so the module is downloaded (`go mod download -json`), copied out of the
# read-only module cache into a writable temp dir and built there as the main module, with its
# own go.mod and go.sum. PREPARE names a function run in that copy first ("-" for none).
# Idempotent: when the folder's VERSION stamp names the pinned versions and every binary is
# there, nothing is built. A failed or interrupted build installs nothing: the binaries are
# built in the temp dir, moved in as one folder at the end, and the stamp is written last (the
# gate trusts a folder only with its stamp: obsgate/tools/versions_line.py).
build_go_module() {
  local name=$1 version=$2 module=$3 module_version=$4 go_needed=$5 prepare=$6
  shift 6
  local cmds=("$@") binaries=() cmd
  for cmd in "${cmds[@]}"; do binaries+=("$(basename "$cmd")"); done
  local dest=$BACKENDS_DIR/$name-$version
  local stamp=$dest/VERSION
  local want="$name $version ($module@$module_version)${GO_BUILD_FLAVOUR:+ $GO_BUILD_FLAVOUR}"
  local what="${binaries[*]} $version"
  local src work start b present tags=netgo more

  if ! mkdir -p "$BACKENDS_DIR" 2>/dev/null || [ ! -w "$BACKENDS_DIR" ]; then
    echo "install-backends: $BACKENDS_DIR is not writable, so $what cannot be installed;" \
         "set OBS_GATE_CACHE to a writable dir (or fix its permissions) and rerun" \
         "scripts/install-backends" >&2
    return 1
  fi
  # Two install-backends runs at once build once: the second waits here, then finds the stamp.
  exec 9>"$BACKENDS_DIR/.$name.lock"
  flock 9
  present=yes
  for b in "${binaries[@]}"; do [ -x "$dest/$b" ] || present=no; done
  if [ "$present" = yes ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "install-backends: $what present ($dest), nothing built"
    return 0
  fi
  if ! command -v go >/dev/null; then
    echo "install-backends: $what needs Go ($go_needed or newer: its go.mod says" \
         "go $go_needed) to build; install Go from https://go.dev/dl and rerun" \
         "scripts/install-backends, or run the gate with --server-versions debian" >&2
    return 1
  fi
  if ! src=$(cd / && go mod download -json "$module@$module_version" 2>&1 \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || [ ! -d "$src/cmd" ]; then
    echo "install-backends: go mod download $module@$module_version failed; check that the" \
         "Go module proxy answers (go env GOPROXY) and rerun scripts/install-backends" >&2
    return 1
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/obs-gate-$name.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the locals are gone when the trap runs
  trap "rm -rf '$work' '$dest.partial'" EXIT
  cp -R "$src" "$work/src"
  chmod -R u+w "$work/src"  # the module cache is read-only
  if [ "$prepare" != - ]; then (cd "$work/src" && "$prepare"); fi
  if [ -n "${GO_BUILD_TAGS_FN:-}" ]; then
    more=$("$GO_BUILD_TAGS_FN" "$work/src")
    tags=netgo${more:+,$more}
  fi
  echo "install-backends: building $what with $(go version | cut -d' ' -f3) for" \
       "${OBS_INSTALL_FOR:+the ${OBS_INSTALL_FOR//,/, } suites on }--server-versions current" \
       "(the default): go build of $module@$module_version${GO_BUILD_FLAVOUR:+ $GO_BUILD_FLAVOUR}" \
       "into $dest (minutes on 2 cores)"
  start=$(date +%s)
  # nice: the build must not starve servers another run keeps in real time on this machine.
  # Static and stamped the way the project's own release builds are (.promu.yml), without
  # the UI assets: the gate uses the HTTP API only. GOWORK=off: Prometheus ships a go.work
  # naming modules the module zip leaves out.
  # Go's "go: downloading MODULE" lines (a few hundred on a cold module cache) are left out;
  # its errors are not.
  { (cd "$work/src" && CGO_ENABLED=0 GOWORK=off GOFLAGS="${GOFLAGS:-} -buildvcs=false" nice -n 10 go build \
    -trimpath -tags "$tags" -o "$work/out/" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version
      -X github.com/prometheus/common/version.Revision=$module_version
      -X github.com/prometheus/common/version.Branch=HEAD
      -X github.com/prometheus/common/version.BuildUser=obs-gate
      -X github.com/prometheus/common/version.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
    "${cmds[@]}") 2>&1 1>&3 | { grep -v '^go: downloading ' || true; } >&2; } 3>&1
  for b in "${binaries[@]}"; do
    if ! "$work/out/$b" --version 2>&1 | grep -q "version $version "; then
      echo "install-backends: the built $b does not report version $version; nothing installed" >&2
      return 1
    fi
  done
  rm -rf "$dest.partial"
  mkdir -p "$dest.partial"
  for b in "${binaries[@]}"; do mv "$work/out/$b" "$dest.partial/$b"; done
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
  echo "$want" > "$stamp"
  rm -rf "$work"
  trap - EXIT
  echo "install-backends: $what built in $(( $(date +%s) - start )) s: $dest"
}

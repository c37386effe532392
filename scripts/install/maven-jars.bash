# Sourced by kafka.sh and elasticsearch.sh (not run by install-backends: not a *.sh): a Java
# service's jars, with their runtime dependencies, resolved from Maven Central by Maven into
# $OBS_GATE_CACHE/backends/<service>/lib. Maven's ~/.m2 is the download cache. Idempotent: when the
# stamp names the pinned versions, Maven is not even started.
#   install_maven_jars SERVICE WANT POM_BODY
# WANT names the pinned versions (the stamp); POM_BODY is the pom's <dependencies> (and any
# <dependencyManagement>).
install_maven_jars() {
  local service=$1 want=$2 pom_body=$3
  local dest stamp build start
  dest=$BACKENDS_DIR/$service
  stamp="$dest/VERSION"
  if [ -d "$dest/lib" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "install-backends: $want present ($dest), nothing downloaded"
    return 0
  fi
  if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
    echo "install-backends: $want needs Java 17 and Maven to resolve its jars; install them" \
         "(Debian: apt-get install openjdk-17-jre-headless maven) and rerun" \
         "scripts/install-backends" >&2
    return 1
  fi
  build=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the locals are gone when the trap runs
  trap "rm -rf '$build' '$dest.partial'" EXIT
  cat > "$build/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>mindweave.gate</groupId>
  <artifactId>$service-backend</artifactId>
  <version>1</version>
$pom_body
</project>
EOF
  echo "install-backends: resolving $want from Maven Central" \
       "${OBS_INSTALL_FOR:+for the ${OBS_INSTALL_FOR//,/, } suites }into $dest (cached in ~/.m2)"
  start=$(date +%s)
  rm -rf "$dest.partial"
  # nice: resolving must not starve servers another run keeps in real time on this machine.
  nice -n 10 mvn -q -B -f "$build/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dest.partial/lib"
  echo "$want" > "$dest.partial/VERSION"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
  echo "install-backends: $want in $(( $(date +%s) - start )) s:" \
       "$(find "$dest/lib" -name '*.jar' | wc -l) jars in $dest/lib"
}

#!/usr/bin/env bash
# Elasticsearch for the process backend: codelibs' elasticsearch-cluster-runner, which runs
# an Elasticsearch node from its server jar and modules as jars (no distribution needed), at
# the version pinned in versions.env, resolved from Maven Central by Maven into
# .cache/backends/elasticsearch/lib. Its newest release on Central is 7.10.2.0 (later ones
# are published only in codelibs' own repository, which is not reachable here). Log4j is
# raised from the runner's 2.11.1 to a release without the Log4Shell flaws.
# Maven's ~/.m2 is the download cache. Idempotent: when the stamp names the pinned versions,
# Maven is not even started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
dest=$(cd "$here/../.." && pwd)/.cache/backends/elasticsearch
stamp="$dest/VERSION"
want="elasticsearch-cluster-runner $ELASTICSEARCH_RUNNER_VERSION (log4j $ELASTICSEARCH_LOG4J_VERSION)"

if [ -d "$dest/lib" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "install-backends: $want present ($dest), nothing downloaded"
  exit 0
fi
if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  echo "install-backends: $want needs Java 17 and Maven to resolve its jars; install them" \
       "(Debian: apt-get install openjdk-17-jre-headless maven) and rerun" \
       "scripts/install-backends" >&2
  exit 1
fi
build=$(mktemp -d)
trap 'rm -rf "$build" "$dest.partial"' EXIT
cat > "$build/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>mindweave.gate</groupId>
  <artifactId>elasticsearch-backend</artifactId>
  <version>1</version>
  <dependencyManagement>
    <dependencies>
      <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId>
        <version>$ELASTICSEARCH_LOG4J_VERSION</version></dependency>
      <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
        <version>$ELASTICSEARCH_LOG4J_VERSION</version></dependency>
      <dependency><groupId>org.apache.logging.log4j</groupId>
        <artifactId>log4j-1.2-api</artifactId><version>$ELASTICSEARCH_LOG4J_VERSION</version>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency><groupId>org.codelibs</groupId><artifactId>elasticsearch-cluster-runner</artifactId>
      <version>$ELASTICSEARCH_RUNNER_VERSION</version></dependency>
  </dependencies>
</project>
EOF
echo "install-backends: resolving $want from Maven Central (cached in ~/.m2)"
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

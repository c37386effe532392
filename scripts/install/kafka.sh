#!/usr/bin/env bash
# Kafka for the process backend: Apache Kafka's broker (kafka_2.13, which carries the KRaft
# StorageTool), kafka-storage and kafka-tools at the version pinned in versions.env, with
# their runtime dependencies and a Log4j2 binding, resolved from Maven Central by Maven into
# .cache/backends/kafka/lib. Maven's ~/.m2 is the download cache. Idempotent: when the
# stamp names the pinned versions, Maven is not even started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
dest=$(cd "$here/../.." && pwd)/.cache/backends/kafka
stamp="$dest/VERSION"
want="kafka $KAFKA_VERSION (log4j $KAFKA_LOG4J_VERSION)"

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
  <artifactId>kafka-backend</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId>
      <version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka logs through SLF4J 1.7; this binds it to the Log4j2 that the broker ships. -->
    <dependency><groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
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

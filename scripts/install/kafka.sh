#!/usr/bin/env bash
# Kafka for the process backend: Apache Kafka's broker (kafka_2.13, which carries the KRaft
# StorageTool), kafka-storage and kafka-tools at the version pinned in versions.env, with
# their runtime dependencies and a Log4j2 binding, resolved from Maven Central by Maven into
# $OBS_GATE_CACHE/backends/kafka/lib (scripts/install/maven-jars.bash resolves them, idempotently).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=maven-jars.bash
source "$here/maven-jars.bash"
want="kafka $KAFKA_VERSION (log4j $KAFKA_LOG4J_VERSION)"

install_maven_jars kafka "$want" "$(cat <<POM
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
POM
)"

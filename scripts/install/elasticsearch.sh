#!/usr/bin/env bash
# Elasticsearch for the process backend: codelibs' elasticsearch-cluster-runner, which runs
# an Elasticsearch node from its server jar and modules as jars (no distribution needed), at
# the version pinned in versions.env, resolved from Maven Central by Maven into
# $OBS_GATE_CACHE/backends/elasticsearch/lib. Its newest release on Central is 7.10.2.0 (later ones
# are published only in codelibs' own repository, which is not reachable here). Log4j is
# raised from the runner's 2.11.1 to a release without the Log4Shell flaws.
# (scripts/install/maven-jars.bash resolves them, idempotently.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=maven-jars.bash
source "$here/maven-jars.bash"
want="elasticsearch-cluster-runner $ELASTICSEARCH_RUNNER_VERSION (log4j $ELASTICSEARCH_LOG4J_VERSION)"

install_maven_jars elasticsearch "$want" "$(cat <<POM
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
POM
)"

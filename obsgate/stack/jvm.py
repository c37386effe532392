"""Java servers: a JVM and a folder of jars from Maven Central.

Kafka and Elasticsearch both run as `java -cp DIR/* MainClass` from the jars that
`scripts/install-backends` resolves into the shared cache's backends/<service>/lib; the containers
backend's offline images carry the same jars (scripts/build-images copies them in). The JVM
flags keep them small and quick to start: the machine runs the whole stack at once on two
cores.
"""

from __future__ import annotations

import os
from pathlib import Path

from obsgate.errors import ToolMissing
from obsgate.tools import CACHE_BIN, find_binary

CACHE = CACHE_BIN.parent


def java_binary() -> str:
    return find_binary(["java"], "JAVA_BIN", "openjdk-17-jre-headless")


def jar_dir(service: str, env_var: str, main_jar: str) -> Path:
    """The folder of a service's jars: $ENV_VAR, else the install-backends cache.

    `main_jar` is a glob that must match there (the server's own jar), else ToolMissing.
    """
    directory = Path(os.environ.get(env_var) or CACHE / service / "lib")
    if not any(directory.glob(main_jar)):
        raise ToolMissing(
            f"{service} jars ({main_jar}) not found in {directory}: run scripts/install-backends "
            f"(Maven Central, versions in scripts/install/versions.env), or set {env_var}"
        )
    return directory


def jar_version(directory: Path, prefix: str) -> str:
    """The version in a jar's file name, e.g. 4.4.0 from kafka_2.13-4.4.0.jar."""
    jar = sorted(directory.glob(f"{prefix}-*.jar"))[0]
    return jar.stem.removeprefix(f"{prefix}-")


def java_argv(
    directory: Path | str, heap: str, main: str, *args: str, java: str | None = None
) -> list[str]:
    """`java` with a fixed small heap and quick-start flags, the jars of `directory`, `main`.

    `java` is the JVM to name; by default the local one (`java` on PATH in an image)."""
    return [
        java or java_binary(),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        # Start-up over peak throughput: C1 only and one GC thread leave the other servers CPU.
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Djava.awt.headless=true",
        "-cp",
        f"{directory}/*",
        main,
        *args,
    ]

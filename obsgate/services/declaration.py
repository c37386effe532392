"""`services:` of `<config>/obs-gate.yaml`: the services under test, declared by the config.

A team puts its own services in MindWeave's place by declaring how each starts (command,
env, working dir), its ready and metrics paths, where it logs, and which env variables wire
it to the run's servers (contract.py). MindWeave's config declares its Node services this
way. Placeholders: `{port}` (the free port chosen at start), `{config}` (the config dir),
`{build}` (with `build: node`, the compiled services' entry points). Every error names the
manifest's line and what to write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from obsgate.config import ObsConfig
from obsgate.config.files import Located, located_documents
from obsgate.errors import ConfigError
from obsgate.services.build import build_services, services_cache
from obsgate.services.contract import NO_OTLP, ROLES, ServiceDef, ServicesUnderTest
from obsgate.services.seed_edits import BSP_DELAY_ENV, BSP_DELAY_MS

BUILDS = ("node", "none")
SERVICES = ("gateway", "usage_tracker")
SERVICE_KEYS = (
    "name", "command", "cwd", "ready", "metrics", "env", "logs", "otlp", "wiring", "image",
)  # fmt: skip
REQUIRED = ("name", "command", "ready")
PLACEHOLDERS = ("{port}", "{config}", "{build}")
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
# The image a `build: node` service runs in under --stack containers (scripts/build-images).
NODE_IMAGE_SERVICE = "node"


def declared_services(config: ObsConfig) -> Located | None:
    """The manifest's `services:` entry, located; None where the config declares none."""
    path = config.manifest.path
    if path is None or not isinstance(config.manifest.raw, dict):
        return None
    if config.manifest.raw.get("services") is None:
        return None
    (document,) = located_documents(path)[:1]
    return document.child("services")


def builds_node(config: ObsConfig) -> bool:
    """Does the config declare `build: node` (what scripts/install/services.sh builds)?"""
    entry = declared_services(config)
    return entry is not None and isinstance(entry.data, dict) and entry.data.get("build") == "node"


def services_declared(config: ObsConfig) -> str | None:
    """Why the config has no services to test, or None: for applicability."""
    if declared_services(config) is not None:
        return None
    return "no services under test (services: in obs-gate.yaml)"


def services_under_test(config: ObsConfig) -> ServicesUnderTest:
    """The services the config declares, built where it says `build: node`."""
    entry = declared_services(config)
    if entry is None:
        raise ConfigError(services_declared(config) or "no services declared")
    return _Reader(config.root).services(entry)


def check_services(config: ObsConfig) -> None:
    """Validate a declaration without building anything (preflight)."""
    entry = declared_services(config)
    if entry is not None:
        _Reader(config.root, build=False).services(entry)


class _Reader:
    """Reads and checks one `services:` entry; `build=False` checks without compiling."""

    def __init__(self, root: Path, build: bool = True) -> None:
        self.root = root
        self.build = build

    def mapping(self, at: Located, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(at.data, dict):
            raise at.error(f"services: {what} is not a mapping", f"give {', '.join(keys)}")
        for key in at.data:
            if key not in keys:
                child = at.child(str(key)) or at
                raise child.error(
                    f"services: unknown key {key!r} in {what}", f"use {', '.join(keys)}"
                )
        return at.data

    def text(self, at: Located, what: str) -> str:
        if not isinstance(at.data, str | int | float) or isinstance(at.data, bool):
            raise at.error(f"services: {what} is not a string", "quote it")
        value = str(at.data)
        for found in _PLACEHOLDER.findall(value):
            if found not in PLACEHOLDERS:
                raise at.error(
                    f"services: {what}: unknown placeholder {found}",
                    f"use {', '.join(PLACEHOLDERS)}",
                )
        return value

    def services(self, entry: Located) -> ServicesUnderTest:
        raw = self.mapping(entry, "services", ("build", *SERVICES))
        build = "none"
        if "build" in raw:
            at = entry.child("build")
            assert at is not None
            build = self.text(at, "build")
            if build not in BUILDS:
                raise at.error(f"services: unknown build {build!r}", f"use {', '.join(BUILDS)}")
        missing = [s for s in SERVICES if s not in raw]
        if missing:
            raise entry.error(
                f"services: no {missing[0]} declared", f"declare {', '.join(SERVICES)}"
            )
        values = {"{config}": str(self.root)}
        changes: tuple[str, ...] = ()
        if build == "node":
            values["{build}"], changes = self.node_build()
        defs = {}
        for name in SERVICES:
            at = entry.child(name)
            assert at is not None
            defs[name] = self.service(at, name, values, build)
        return ServicesUnderTest(
            kind=build if build != "none" else "declared",
            gateway=defs["gateway"],
            usage_tracker=defs["usage_tracker"],
            changes=changes,
        )

    def node_build(self) -> tuple[str, tuple[str, ...]]:
        if not self.build:
            return "{build}", ()
        build = build_services(self.root)
        return str(build.entry("x").parent), tuple(e.describe() for e in build.edits)

    def service(self, at: Located, role: str, values: Mapping[str, str], build: str) -> ServiceDef:
        raw = self.mapping(at, role, SERVICE_KEYS)
        for key in REQUIRED:
            if key not in raw:
                raise at.error(f"services: {role} has no {key}", f"give {role}.{key}")

        def child(key: str) -> Located:
            found = at.child(key)
            assert found is not None
            return found

        def fill(value: str, where: Located, what: str) -> str:
            if "{build}" in value and "{build}" not in values:
                raise where.error(f"services: {what} uses {{build}}", "declare build: node")
            for key, text in values.items():
                value = value.replace(key, text)
            return value

        command_at = child("command")
        if not isinstance(command_at.data, list) or not command_at.data:
            raise command_at.error(f"services: {role}.command is not a list", "e.g. [node, app.js]")
        argv = tuple(
            fill(self.text(item, f"{role}.command"), item, f"{role}.command")
            for item in command_at.items()
        )
        env: dict[str, str] = {}
        if "env" in raw:
            env_at = child("env")
            if not isinstance(env_at.data, dict):
                raise env_at.error(f"services: {role}.env is not a mapping", "VAR: value")
            for var in env_at.data:
                item = env_at.child(str(var))
                assert item is not None
                env[str(var)] = fill(self.text(item, f"{role}.env.{var}"), item, f"{role}.env")
        wiring: dict[str, str] = {}
        if "wiring" in raw:
            wiring_at = child("wiring")
            for wired_role in self.mapping(wiring_at, f"{role}.wiring", ROLES):
                item = wiring_at.child(str(wired_role))
                assert item is not None
                wiring[str(wired_role)] = self.text(item, f"{role}.wiring.{wired_role}")
        otlp = self.text(child("otlp"), f"{role}.otlp") if "otlp" in raw else "http"
        if otlp not in ("grpc", "http"):
            raise child("otlp").error(f"services: {role}.otlp is {otlp!r}", "use grpc or http")
        cwd = None
        if "cwd" in raw:
            cwd = (self.root / fill(self.text(child("cwd"), f"{role}.cwd"), at, "cwd")).resolve()
            if not cwd.is_dir():
                raise child("cwd").error(f"services: {role}.cwd {cwd} is not a dir", "fix it")
        image = self.text(child("image"), f"{role}.image") if "image" in raw else ""
        mounts = [self.root, *([cwd] if cwd else [])]
        if build == "node":  # the gate's own edit of the seed reads this (seed_edits.py)
            env.setdefault(BSP_DELAY_ENV, BSP_DELAY_MS)
            image = image or NODE_IMAGE_SERVICE
            mounts.append(services_cache())  # the build and its node_modules
        return ServiceDef(
            name=self.text(child("name"), f"{role}.name"),
            argv=argv,
            ready_path=self.path(child("ready"), f"{role}.ready"),
            metrics_path=self.path(child("metrics"), f"{role}.metrics")
            if "metrics" in raw
            else "/metrics",
            env=env,
            logs=self.text(child("logs"), f"{role}.logs") if "logs" in raw else "stdout",
            wiring=wiring,
            otlp=otlp,
            otlp_fallback=NO_OTLP,
            cwd=cwd,
            image=image,
            mounts=tuple(dict.fromkeys(mounts)),
        )

    def path(self, at: Located, what: str) -> str:
        value = self.text(at, what)
        if not value.startswith("/"):
            raise at.error(f"services: {what} {value!r} is not a path", "e.g. /health")
        return value

"""`python -m obsgate.services CONFIG_DIR`: build the Node services under test of a config
that declares `build: node`, as scripts/install/services.sh does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.services.build import build_services
from obsgate.services.declaration import builds_node


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("config_dir", type=Path)
    ap.add_argument("--why", default="", help="the suites that need them, for the message")
    args = ap.parse_args()
    try:
        config = ObsConfig(args.config_dir.resolve())
        if not builds_node(config):
            print("install-backends: services: no `build: node` declared, nothing to build")
            return 0
        build = build_services(config.root)
    except GateError as exc:
        print(f"install-backends: services: {exc}", file=sys.stderr)
        return 1
    why = f" for {args.why}" if args.why else ""
    state = "cached, nothing built" if build.cached else f"built in {build.seconds:.1f} s"
    print(f"install-backends: Node services{why}: {state} ({build.out})")
    for edit in build.edits:
        print(f"install-backends:   seed edit: {edit.describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

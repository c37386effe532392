"""The images the containers backend runs, one a line, for a CI that pulls them before the
gate (the backend itself pulls nothing): `python -m obsgate.stack.image_list | xargs -n1
docker pull`, as .github/workflows/observability-gate.yml does. Read from containers.py, so
the list cannot drift from the backend: the default images, or an OBS_*_IMAGE override.
"""

from __future__ import annotations

import sys

from obsgate.stack.containers import IMAGES, image_for


def images() -> list[str]:
    """Each service's image, in containers.IMAGES order, without repeats."""
    return list(dict.fromkeys(image_for(service) for service in IMAGES))


def main() -> int:
    sys.stdout.write("".join(f"{image}\n" for image in images()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The figures of passing tests, drawn by a process of their own beside the run.

matplotlib is interpreter work: drawn in the test process, each figure holds its GIL for
a tenth of a second, while the live layer's watcher and the tests wait, and its time adds
to the run's. A passing test's figure is a file the landing
page shows, so one worker process draws it while the tests go on, and the process that
submitted it waits for it at the end of its session, bounded. A figure inline in
report.html (a test that did not pass) is drawn at once: pytest-html takes it with the
test's report.

A figure is a pure function of its data and the plotting code (its SVG has no date in it
and stable ids), so it is kept in the shared cache under the hash of both, and a run draws
only what changed: the exact layer's figures, from promtool's deterministic results, come
from the cache on a warm run, and the live timelines (real scrapes) are drawn.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from obsgate.tools import cache_root

# A figure: the function that draws it (module level, so a worker can run it) and its data.
Render = Callable[[Any, str], str]
FINISH_SECONDS = 120.0  # how long a session's end waits for the figures still being drawn
WORKERS = 1  # one core draws; the other is the live layer's and the tests'


FIGURE_CACHE = cache_root() / "figures"
CACHE_LIMIT = 4000  # figures kept; the least recently used go first


@cache
def _code_fingerprint() -> bytes:
    """The plotting code and matplotlib's version: a change to either draws anew."""
    digest = hashlib.sha256(version("matplotlib").encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.digest()


def figure_key(render: Render, picture: Any, outcome: str) -> str:
    """The cache key of a figure; raises if its data cannot be pickled (then it is drawn
    in this process)."""
    name = getattr(render, "__qualname__", None) or repr(render)
    data = pickle.dumps((name, picture, outcome), protocol=5)
    return hashlib.sha256(_code_fingerprint() + data).hexdigest()


def cached_path(key: str) -> Path:
    return FIGURE_CACHE / f"{key}.svg"


def cached_svg(key: str) -> str | None:
    path = cached_path(key)
    try:
        svg = path.read_text(encoding="utf-8")
        os.utime(path)  # recently used
        return svg
    except OSError:
        return None


def keep_svg(path: Path, svg: str) -> None:
    """Into the cache, if it can be written (a read-only cache only costs the redraw)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(svg, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass


def prune_cache(limit: int = CACHE_LIMIT) -> None:
    """Drop the least recently used figures beyond `limit`."""
    try:
        entries = sorted(FIGURE_CACHE.glob("*.svg"), key=lambda p: p.stat().st_mtime)
        for path in entries[: max(0, len(entries) - limit)]:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def write_svg(path: Path, svg: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg, encoding="utf-8")


def draw_to_file(render: Render, picture: Any, outcome: str, path: str, keep: str) -> None:
    """Draw into `path`, and into the cache file `keep` unless it is empty."""
    svg = render(picture, outcome)
    write_svg(Path(path), svg)
    if keep:
        keep_svg(Path(keep), svg)


class Drawer:
    """One worker process, started with the first figure handed to it."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[tuple[Path, Future[None]]] = []

    def submit(
        self, render: Render, picture: Any, outcome: str, path: Path, keep: Path | None
    ) -> None:
        """Draw into `path` in the worker (and into the cache file `keep`, if given)."""
        if self._pool is None:
            # spawn: the test process has threads (servers' log readers, the live layer's
            # targets), and a fork of a threaded process may inherit a held lock.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=context)
        args = (render, picture, outcome, str(path), str(keep or ""))
        future = self._pool.submit(draw_to_file, *args)
        self._pending.append((path, future))

    def finish(self, timeout: float = FINISH_SECONDS) -> list[str]:
        """Wait for every figure handed over; one line per figure that was not written."""
        if self._pool is None:
            return []
        futures = [future for _, future in self._pending]
        wait(futures, timeout=timeout)
        problems = []
        for path, future in self._pending:
            if not future.done():
                problems.append(f"could not write {path}: not drawn within {timeout:g} s")
            elif (exc := future.exception()) is not None:
                problems.append(f"could not write {path}: {type(exc).__name__}: {exc}")
        if any(not future.done() for future in futures):
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()  # stuck: the interpreter's exit would wait for it
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool, self._pending = None, []
        prune_cache()
        return problems

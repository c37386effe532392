"""One bounded wait for a server to get somewhere: ready, scraped, indexed, stored.

Servers act later than the request that asks them to (a start, a scrape, a refresh), so a
read of something that must appear is a wait with a deadline, never a sleep and one look.
A wait that gives up is a ServiceError saying what it waited for and what the server
showed. A wait whose timeout is a check's verdict (a route that never notified, a span
that never arrived) fails with an AssertionError of its own instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import requests

from obsgate.errors import ServiceError

T = TypeVar("T")
# A server not up yet, or answering with an error while it starts: try again.
RETRIED = (OSError, requests.RequestException)


def eventually(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    on_timeout: Callable[[], str] | None = None,
    interval: float = 0.1,
) -> T:
    """The first truthy value `check()` returns, calling it every `interval` seconds while
    it returns a falsy one or raises OSError or requests.RequestException; any other
    exception propagates at once.

    After `timeout` seconds, a ServiceError: "gave up after {timeout} s waiting for {what}",
    then `on_timeout()`'s text (e.g. the server's log tail), then the error the last try
    raised, if it raised one.
    """
    deadline = time.monotonic() + timeout
    while True:
        error: BaseException | None = None
        try:
            value = check()
        except RETRIED as exc:
            error = exc
        else:
            if value:
                return value
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
    message = f"gave up after {timeout:g} s waiting for {what}"
    if on_timeout is not None:
        try:
            message += f"\n{on_timeout()}"
        except RETRIED as exc:
            message += f"\n(could not say more: {exc})"
    if error is not None:
        message += f"\nthe last try raised {type(error).__name__}: {error}"
    raise ServiceError(message) from error

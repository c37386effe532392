"""The bounded wait (obsgate/wait.py): the value once the check holds, retries while a
server is not there yet, and a ServiceError that says what it waited for."""

from __future__ import annotations

import time

import pytest
import requests

from obsgate.errors import ServiceError
from obsgate.wait import eventually


def calls_returning(*results: object):
    """A check that returns (or raises) each of `results` in turn, counting its calls."""
    pending = list(results)
    calls = []

    def check() -> object:
        calls.append(time.monotonic())
        result = pending.pop(0) if len(pending) > 1 else pending[0]
        if isinstance(result, BaseException):
            raise result
        return result

    return check, calls


def test_returns_the_first_truthy_value() -> None:
    check, calls = calls_returning({"ready": True})
    assert eventually(check, timeout=5, what="a dict") == {"ready": True}
    assert len(calls) == 1


def test_retries_while_falsy_or_while_the_server_is_not_there() -> None:
    check, calls = calls_returning(
        None,
        [],
        ConnectionRefusedError("refused"),
        requests.ConnectionError("no route"),
        requests.HTTPError("503 Server Error"),
        0,
        "up",
    )
    assert eventually(check, timeout=5, what="the server", interval=0.01) == "up"
    assert len(calls) == 7


def test_gives_up_after_the_timeout_saying_what_it_waited_for() -> None:
    check, calls = calls_returning(False)
    began = time.monotonic()
    with pytest.raises(ServiceError) as raised:
        eventually(check, timeout=0.3, what="Prometheus to scrape the app", interval=0.05)
    took = time.monotonic() - began
    assert str(raised.value) == "gave up after 0.3 s waiting for Prometheus to scrape the app"
    assert 0.3 <= took < 2, took
    assert len(calls) >= 3, "it retried until the deadline"
    assert calls[-1] - began >= 0.25, "a last try near the deadline"


def test_the_message_ends_with_what_on_timeout_says() -> None:
    check, _ = calls_returning(None)
    with pytest.raises(ServiceError) as raised:
        eventually(
            check,
            timeout=0.1,
            what="redis to answer",
            on_timeout=lambda: "redis log:\nready to accept connections",
            interval=0.02,
        )
    assert str(raised.value) == (
        "gave up after 0.1 s waiting for redis to answer\nredis log:\nready to accept connections"
    )


def test_the_last_error_is_named_and_chained() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    check, _ = calls_returning(refused)
    with pytest.raises(ServiceError) as raised:
        eventually(check, timeout=0.1, what="the sink", on_timeout=lambda: "log", interval=0.02)
    message = str(raised.value)
    assert message.startswith("gave up after 0.1 s waiting for the sink\nlog\n"), message
    assert message.endswith("ConnectionRefusedError: [Errno 111] Connection refused"), message
    assert raised.value.__cause__ is refused


def test_on_timeout_that_cannot_reach_the_server_still_gives_up_clearly() -> None:
    def unreachable() -> str:
        raise requests.ConnectionError("targets API away")

    with pytest.raises(ServiceError, match=r"(?s)waiting for up\n.*targets API away"):
        eventually(lambda: None, timeout=0.05, what="up", on_timeout=unreachable, interval=0.01)


@pytest.mark.parametrize(
    "error", [KeyError("data"), ValueError("not JSON"), AssertionError("wrong"), ServiceError("x")]
)
def test_other_exceptions_are_not_swallowed(error: BaseException) -> None:
    check, calls = calls_returning(None, error, "never reached")
    with pytest.raises(type(error)) as raised:
        eventually(check, timeout=5, what="anything", interval=0.01)
    assert raised.value is error
    assert len(calls) == 2, "raised at once, not retried"

"""One capture server that stands in for Slack, PagerDuty and webhook receivers.

Alertmanager notifies it through its real integrations (the config adapter points each
receiver at `<sink>/<kind>/<receiver>`), so a routing test asserts on what Alertmanager
really sent, and a failing one lists where every notification really went.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from obsgate.http_server import QuietHTTPServer
from obsgate.masking import mask_token

HEADERS_OF_INTEREST = ("Content-Type", "User-Agent")
CONTROL = "_sink"  # /_sink/notifications, /_sink/fail_next, /_sink/clear: the test API
# Alertmanager's default Slack title/fallback: "[FIRING:2] ..." or "[RESOLVED] ...".
_SLACK_STATUS = re.compile(r"^\[(FIRING|RESOLVED)(?::\d+)?\]")
_PD_STATUS = {"trigger": "firing", "resolve": "resolved"}


@dataclass(frozen=True)
class Notification:
    """One request the sink received, with the fields routing tests assert on lifted out."""

    kind: str  # "slack" | "pagerduty" | "webhook" (else the path's first segment)
    receiver: str
    path: str
    received_at: float  # time.monotonic()
    answered: int  # the HTTP status the sink sent back
    status: str | None = None  # "firing" | "resolved"
    channel: str | None = None
    routing_key: str | None = None
    severity: str | None = None
    title: str | None = None
    text: str | None = None
    buttons: tuple[tuple[str, str], ...] = ()  # Slack actions, PagerDuty links: (text, url)
    group_labels: dict[str, str] | None = None
    alerts: list[dict[str, Any]] | None = None
    raw: Any = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def mentions(self, alert: str) -> bool:
        """The default Slack title and PagerDuty summary name the group's labels,
        alertname first."""
        text = " ".join(filter(None, [self.title, self.text]))
        return re.search(rf"\b{re.escape(alert)}\b", text) is not None

    def describe(self) -> str:
        """One line for failure messages: where it went and what it said."""
        where = self.channel or (mask_token(self.routing_key) if self.routing_key else None)
        what = self.title
        if what is None and self.alerts is not None:
            what = ",".join(str(a.get("labels", {}).get("alertname")) for a in self.alerts)
        parts = [f"{self.kind} receiver={self.receiver!r} status={self.status}"]
        parts += [f"to={where}"] if where else []
        parts += [f"title={what!r}"] if what else []
        parts += [f"answered={self.answered}"]
        parts += [f"error={self.error!r}"] if self.error else []
        return " ".join(parts)


def _slack(raw: dict[str, Any]) -> dict[str, Any]:
    att = (raw.get("attachments") or [{}])[0]
    title = att.get("title")
    match = _SLACK_STATUS.match(title or "") or _SLACK_STATUS.match(att.get("fallback") or "")
    buttons = tuple((a.get("text", ""), a.get("url", "")) for a in att.get("actions") or [])
    return {
        "status": match[1].lower() if match else None,
        "channel": raw.get("channel"),
        "title": title,
        "text": att.get("text", raw.get("text")),
        "buttons": buttons,
    }


def _pagerduty(raw: dict[str, Any]) -> dict[str, Any]:
    # Events API v2; v1 (service_key, event_type, description) read too, for old configs.
    payload = raw.get("payload") or {}
    action = raw.get("event_action") or raw.get("event_type")
    return {
        "status": _PD_STATUS.get(action or ""),
        "routing_key": raw.get("routing_key") or raw.get("service_key"),
        "severity": payload.get("severity"),
        "title": payload.get("summary") or raw.get("description"),
        "text": raw.get("description"),
        "buttons": tuple((ln.get("text", ""), ln.get("href", "")) for ln in raw.get("links") or []),
    }


def _webhook(raw: dict[str, Any]) -> dict[str, Any]:
    keep = {"status": "status", "group_labels": "groupLabels", "alerts": "alerts"}
    return {name: raw.get(key) for name, key in keep.items()}


_Parser = Callable[[dict[str, Any]], dict[str, Any]]
_PARSERS: dict[str, _Parser] = {"slack": _slack, "pagerduty": _pagerduty, "webhook": _webhook}


def _reply(note: Notification) -> tuple[str, bytes]:
    """What the real service answers: Slack a bare "ok", PagerDuty a JSON event status."""
    ok = note.answered < 300
    if note.kind == "pagerduty":
        dedup = (note.raw or {}).get("dedup_key")
        reply = {"status": "success", "message": "Event processed", "dedup_key": dedup}
        if not ok:
            reply = {"status": "invalid event", "message": note.error or "failure on demand"}
        return "application/json", json.dumps(reply).encode()
    text = "ok" if ok else (note.error or f"failure on demand ({note.answered})")
    return "text/plain; charset=utf-8", text.encode()


@dataclass(frozen=True, kw_only=True)
class Wanted:
    """What a wait at a sink wants: `count` notifications (`what`) within `timeout` s."""

    what: str
    count: int
    timeout: float

    def failure(self, url: str, matched: int, received: list[Notification]) -> AssertionError:
        """What a wait that gave up says: what it wanted, and where every notification
        went."""
        listing = "\n".join(f"  - {n.describe()}" for n in received) or "  (none)"
        return AssertionError(
            f"waited {self.timeout:.1f}s for {self.count} notification(s): {self.what}; "
            f"{matched} matched. The sink at {url} received {len(received)}:\n{listing}"
        )


class CaptureSink:
    """Records every notification on 127.0.0.1 and answers as the real service would."""

    def __init__(self, port: int = 0) -> None:
        self._records: list[Notification] = []
        self._failures: dict[str, list[int]] = {}
        self._cond = threading.Condition()
        self.server = QuietHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def notifications(
        self, kind: str | None = None, receiver: str | None = None
    ) -> list[Notification]:
        """A copy, so a test can assert on it while Alertmanager keeps notifying."""
        with self._cond:
            return [
                n
                for n in self._records
                if (kind is None or n.kind == kind) and (receiver is None or n.receiver == receiver)
            ]

    def clear(self) -> None:
        """Forget what arrived and any pending failures: one sink serves many tests."""
        with self._cond:
            self._records.clear()
            self._failures.clear()

    def fail_next(self, receiver: str, status: int = 500, count: int = 1) -> None:
        """Answer the next `count` requests for `receiver` with `status`: retry tests."""
        with self._cond:
            self._failures.setdefault(receiver, []).extend([status] * count)

    def wait_for(
        self,
        predicate: Callable[[Notification], bool],
        *,
        timeout: float,
        what: str,
        count: int = 1,
    ) -> list[Notification]:
        """Every notification matching `predicate`, once there are `count`; else a failure
        that lists all that did arrive, so a routing test shows where alerts really went."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matched = [n for n in self._records if predicate(n)]
                left = deadline - time.monotonic()
                if len(matched) >= count or left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
            received = list(self._records)
        if len(matched) >= count:
            return matched
        wanted = Wanted(what=what, count=count, timeout=timeout)
        raise wanted.failure(self.url, len(matched), received)

    def _record(
        self, kind: str, receiver: str, path: str, body: bytes, headers: Any
    ) -> Notification:
        with self._cond:
            failures = self._failures.get(receiver)
            forced = failures.pop(0) if failures else None
        fields: dict[str, Any] = {}
        raw: Any = None
        error = None
        if kind not in _PARSERS:
            error, answered = f"no such endpoint: {path} (want /slack|pagerduty|webhook/...)", 404
        else:
            try:
                raw = json.loads(body)
                if not isinstance(raw, dict):
                    raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
                fields = _PARSERS[kind](raw)
                answered = 202 if kind == "pagerduty" else 200
            except (ValueError, AttributeError, IndexError, TypeError) as exc:
                raw, fields, answered = None, {}, 400
                error = f"unparseable {kind} body: {exc}"
        note = Notification(
            kind=kind,
            receiver=receiver,
            path=path,
            received_at=time.monotonic(),
            answered=forced or answered,
            raw=raw,
            error=error,
            headers={h: headers[h] for h in HEADERS_OF_INTEREST if h in headers},
            **fields,
        )
        with self._cond:
            self._records.append(note)
            self._cond.notify_all()
        return note

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # Alertmanager's Go client keeps connections alive

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                parts = [unquote(p) for p in path.strip("/").split("/")]
                kind, receiver = parts[0], parts[1] if len(parts) > 1 else ""
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if kind == CONTROL:
                    self._control(receiver, body)
                    return
                note = sink._record(kind, receiver, path, body, self.headers)
                self._answer(note)

            def do_GET(self) -> None:
                """`/_sink/notifications`: the record, for tests in other processes."""
                if urlsplit(self.path).path != f"/{CONTROL}/notifications":
                    self._send(404, "text/plain", b"not found\n")
                    return
                data = json.dumps([asdict(n) for n in sink.notifications()]).encode()
                self._send(200, "application/json", data)

            def _control(self, action: str, body: bytes) -> None:
                args = json.loads(body or b"{}")
                if action == "fail_next":
                    sink.fail_next(
                        str(args["receiver"]),
                        int(args.get("status", 500)),
                        int(args.get("count", 1)),
                    )
                elif action == "clear":
                    sink.clear()
                else:
                    self._send(404, "text/plain", b"no such control\n")
                    return
                self._send(200, "text/plain", b"ok\n")

            def _send(self, status: int, ctype: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, note: Notification) -> None:
                ctype, data = _reply(note)
                self.send_response(note.answered)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

"""Links to Grafana dashboards that a config's alerts and receivers carry, by dashboard uid.

Grafana serves a dashboard at `/d/<uid>[/<slug>]` (a panel alone at `/d-solo/<uid>`), under
any host and sub-path. A link counts as a dashboard link where its annotation's name says
so (`dashboard_url`, anything naming a dashboard or Grafana), or where it points at a host
such a link points at. Only a literal uid is checkable: a uid that is templated, or a link
that Alertmanager reads from an annotation when it notifies, is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from obsgate.config import AlertRule

URL = re.compile(r"https?://[^\s\"'<>`]+")
DASHBOARD_PATH = re.compile(r"(?:^|/)d(?:-solo)?/(?P<uid>[A-Za-z0-9_-]+)(?=[/?#]|$)")
DASHBOARD_KEY = re.compile(r"dashboard|grafana", re.I)


@dataclass(frozen=True)
class DashboardLink:
    owner: str  # the alert, or `receiver <name>`
    where: str  # the annotation, or the setting's path in the receiver
    uid: str
    url: str
    place: str  # where a message points the user: file:line, or the Alertmanager source

    @property
    def evidence(self) -> str:
        return f"{self.owner}: {self.where} uid {self.uid}"


def dashboard_uid(url: str) -> str | None:
    """The uid a Grafana dashboard URL names, None if its path names none literally."""
    path = urlsplit(url).path
    found = DASHBOARD_PATH.search(path)
    return found["uid"] if found else None


def _urls(text: str) -> Iterator[tuple[str, str, str]]:
    """(url, host, uid) of each URL in `text` whose path names a dashboard uid literally."""
    for match in URL.finditer(text):
        url = match.group(0)
        uid = dashboard_uid(url)
        if uid is not None:
            yield url, urlsplit(url).netloc.lower(), uid


def grafana_hosts(rules: Iterable[AlertRule]) -> set[str]:
    """Hosts the config links dashboards on: those of annotations named for a dashboard."""
    return {
        host
        for r in rules
        for key, value in r.annotations.items()
        if DASHBOARD_KEY.search(key)
        for _, host, _ in _urls(str(value))
    }


def rule_links(rules: list[AlertRule]) -> list[DashboardLink]:
    """Every literal dashboard link in the rules' annotations."""
    hosts = grafana_hosts(rules)
    return [
        DashboardLink(r.name, key, uid, url, f"{r.file}:{r.line}")
        for r in rules
        for key, value in r.annotations.items()
        for url, host, uid in _urls(str(value))
        if DASHBOARD_KEY.search(key) or host in hosts
    ]


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


def receiver_links(
    alertmanager: dict[str, Any], hosts: set[str], place: str
) -> list[DashboardLink]:
    """Every literal dashboard link in the receivers' settings: on a host the rules link
    dashboards on, or under a setting named for a dashboard."""
    out = []
    for receiver in alertmanager.get("receivers") or []:
        if not isinstance(receiver, dict):
            continue
        name = str(receiver.get("name"))
        settings = {k: v for k, v in receiver.items() if k != "name"}
        for where, text in _strings(settings, ""):
            for url, host, uid in _urls(text):
                if host in hosts or DASHBOARD_KEY.search(where.rsplit(".", 1)[-1]):
                    out.append(DashboardLink(f"receiver {name}", where, uid, url, place))
    return out


def dashboard_uids(docs: Iterable[dict[str, Any]]) -> set[str]:
    return {str(d["uid"]) for d in docs if d.get("uid") not in (None, "")}

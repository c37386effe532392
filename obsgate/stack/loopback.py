"""Nothing leaves 127.0.0.1: refuse to start a server whose config still names another host."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from obsgate.errors import GateError
from obsgate.masking import mask_url

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9a-f:]+\]):(?P<port>\d+)$", re.I)
# Keys whose values are host:port strings rather than URLs.
HOST_KEYS = {"targets", "smtp_smarthost", "smarthost", "hosts", "host", "brokers", "server"}


def non_loopback_hosts(config: Any, path: str = "") -> list[str]:
    """Every `path: value` in a parsed config that names a host other than loopback."""
    found: list[str] = []
    if isinstance(config, dict):
        for key, value in config.items():
            found += non_loopback_hosts(value, f"{path}.{key}" if path else str(key))
    elif isinstance(config, list):
        for i, value in enumerate(config):
            found += non_loopback_hosts(value, f"{path}[{i}]")
    elif isinstance(config, str):
        host = None
        if _URL.match(config):
            host = urlsplit(config).hostname
        elif (m := _HOST_PORT.match(config)) and _key_of(path) in HOST_KEYS:
            host = m["host"].strip("[]")
        if host is not None and not is_loopback(host):
            found.append(f"{path}: {mask_url(config) if _URL.match(config) else config}")
    return found


def is_loopback(host: str) -> bool:
    """localhost, or an IP address in 127.0.0.0/8 or ::1; a DNS name like 127.example.com is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _key_of(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])


def require_loopback(config: Any, service: str, source: str) -> None:
    """Raise before `service` starts if its adapted config can reach past 127.0.0.1."""
    hosts = non_loopback_hosts(config)
    if hosts:
        listed = "; ".join(hosts)
        raise GateError(
            f"refusing to start {service}: its config adapted from {source} still names "
            f"non-loopback hosts ({listed}); the adapter must point them at a local sink"
        )

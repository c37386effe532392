"""Secrets in config values never reach the terminal, the reports or the logs the gate
writes: what the gate prints of a URL, key or token goes through here first."""

from __future__ import annotations

from urllib.parse import urlsplit

MASK = "***"


def mask_url(value: str) -> str:
    """Scheme and host kept, everything that may carry a secret masked: user info, path,
    query and fragment (a Slack webhook's path is its secret)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    netloc = f"{host}:{port}" if port else host
    hidden = parts.username or parts.password or parts.path.strip("/") or parts.query
    return f"{parts.scheme}://{netloc}{'/' + MASK if hidden or parts.fragment else ''}"


def mask_token(value: str) -> str:
    """A key or token: only its length and last four characters, enough to tell two apart."""
    text = str(value)
    return f"{MASK}{text[-4:]} ({len(text)} chars)" if len(text) >= 12 else MASK


def mask_value(value: object) -> str:
    """Any config value the gate prints: a URL by mask_url, any other string by mask_token."""
    text = str(value)
    if "://" in text:
        return mask_url(text)
    return mask_token(text)

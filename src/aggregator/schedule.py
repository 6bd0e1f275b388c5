"""Harvest timing: intervals such as ``24h``, ``1d12h``, ``30m`` (parsed and formatted),
and the host a source's requests count against for politeness."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

_PART = re.compile(r"(\d+)\s*([wdhms])")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_interval(text: str) -> timedelta:
    """Parse ``'24h'``, ``'1d12h'``, ``'30m'`` or ``'1w'`` into a timedelta.

    Raises:
        ValueError: the text is not a sequence of number+unit parts, or is under a minute.
    """
    compact = text.strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise ValueError(f"bad interval {text!r}: use e.g. 30m, 6h, 1d, 1w")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact))
    if seconds < 60:
        raise ValueError(f"bad interval {text!r}: the shortest interval is 1m")
    return timedelta(seconds=seconds)


def format_interval(delta: timedelta) -> str:
    """Format a timedelta the way :func:`parse_interval` reads it (``86400s`` -> ``1d``)."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit in "wdhms":
        size = _UNITS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(url: str) -> str:
    """The politeness key of a URL: ``host:port`` in lower case, the port spelled out
    (two servers on one machine are two hosts; http://h/ and http://H:80/ are one)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:  # a port out of range: the request fails anyway
        port = 0
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

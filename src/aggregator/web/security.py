"""Security headers on every portal response, and the only links harvested text may become."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

# No inline script or style anywhere, so the policy can stay strict. Member logos are
# the only images from elsewhere (registered by the coordinator, not harvested).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: "
       "http:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, else None (so
    ``javascript:``, ``data:`` and relative junk are shown as text, never linked)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. a malformed IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if any(ord(c) < 33 or c.isspace() for c in url):
        return None
    return url


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every response and ``safe_link`` to the templates."""
    app.after_request(_headers)
    app.jinja_env.globals["safe_link"] = safe_link

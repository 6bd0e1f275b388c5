"""The site's URLs: absolute ones only from ``base_url``, ids in paths in ASCII digits."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request, url_for
from werkzeug.routing import IntegerConverter, ValidationError

from aggregator.web.state import portal

__all__ = ["AsciiIntConverter", "absolute_url", "init_app"]

MAX_ID = 2**63 - 1  # the largest id a database integer holds


def absolute_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of a page of the site: the ``base_url`` setting and the page's
    path. Every absolute URL the site writes comes from here; the request's Host header
    (which anyone can set) never goes into one."""
    path = url_for(endpoint, **values)
    mounted = request.script_root  # a proxy serving the site under a path prefix
    if mounted and path.startswith(mounted):
        path = path[len(mounted):]
    return portal().settings.public_root + path


class AsciiIntConverter(IntegerConverter):
    """The ``int`` URL converter, for ASCII digits only and values a database integer
    holds: Werkzeug's own takes any Unicode digit, so ``/records/１`` was record 1."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_ID:
            raise ValidationError()
        return number


def _public_location(response: Response) -> Response:
    """Werkzeug's own redirects (``/records//1`` to ``/records/1``, a missing trailing
    slash) name the site by the request's Host header: name it by ``base_url``."""
    location = response.headers.get("Location")
    here = request.root_url
    if location and location.startswith(here):
        response.headers["Location"] = (portal().settings.public_root + "/"
                                        + location[len(here):])
    return response


def init_app(app: Flask) -> None:
    """Use :class:`AsciiIntConverter` for every ``<int:…>`` (before routes are added);
    redirects lead to ``base_url``."""
    app.url_map.converters["int"] = AsciiIntConverter
    app.after_request(_public_location)

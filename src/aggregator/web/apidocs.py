"""The API's description: the OpenAPI document at /api/openapi.json (kept by hand in
openapi.json, checked against the URL map by the tests) and the page at /api that
shows it to people in both languages."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from aggregator.web.state import portal

bp = Blueprint("apidocs", __name__)
SPEC = Path(__file__).with_name("openapi.json")


@cache
def spec() -> dict[str, Any]:
    """The OpenAPI document as kept in the package (without ``servers``)."""
    loaded: dict[str, Any] = json.loads(SPEC.read_text("utf-8"))
    return loaded


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every described endpoint, in the document's order."""
    return [(path, method.upper(), op) for path, item in spec()["paths"].items()
            for method, op in item.items()]


@bp.get("/api")
def page() -> str:
    return render_template("api.html", operations=operations(),
                           root=portal().settings.public_root)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    settings = portal().settings
    document = {**spec(), "servers": [{"url": settings.public_root}]}
    document["info"] = {**document["info"], "title": f"{settings.network_name} API"}
    return jsonify(document)

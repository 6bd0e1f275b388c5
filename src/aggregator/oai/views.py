"""The feed's HTTP side: the ``/oai`` blueprint (GET and form POST), gzip when asked."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from itertools import chain

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.errors import StoreError
from aggregator.oai.feed import Feed
from aggregator.oai.readahead import GZIP_LEVEL, gzip_member

__all__ = ["bp", "init_app"]

EXTENSION = "aggregator.oai"
RETRY_AFTER = "60"
_FORM = "application/x-www-form-urlencoded"

bp = Blueprint("oai", __name__)


def init_app(app: Flask, settings: Settings, engine: Engine) -> None:
    """Mount the feed at ``/oai`` on ``app``."""
    app.extensions[EXTENSION] = Feed(settings, engine)
    app.register_blueprint(bp)


@bp.route("/oai", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer an OAI-PMH request: OAI errors are ``<error>`` elements with HTTP 200."""
    feed: Feed = current_app.extensions[EXTENSION]
    if request.method == "POST" and request.mimetype != _FORM:
        answer = feed.refuse(f"A POST request must be sent as {_FORM}.")
    else:
        args = request.form if request.method == "POST" else request.args
        answer = feed.answer(args.to_dict(flat=False))
    headers = {"Vary": "Accept-Encoding"}
    zipped = request.accept_encodings["gzip"] > 0
    if zipped:
        headers["Content-Encoding"] = "gzip"
    body: Iterable[bytes]
    if answer.ready is not None:  # a page made ahead: its head, then the page as made
        head = answer.head.encode("utf-8")
        body = ([gzip_member(head), answer.ready.gz] if zipped
                else [head, answer.ready.plain])
    elif isinstance(answer.body, list):  # a page of a list, already written
        whole = "".join([answer.head, *answer.body]).encode("utf-8")
        body = [gzip_member(whole) if zipped else whole]
    else:  # streamed as it is written (ListSets of a large network)
        body = (chunk.encode("utf-8") for chunk in chain([answer.head], answer.body))
        if zipped:
            body = _gzip(body)
    if isinstance(body, list):  # a length lets clients read the body in one go
        headers["Content-Length"] = str(sum(len(part) for part in body))
    return Response(body, content_type="text/xml; charset=utf-8", headers=headers,
                    direct_passthrough=True)


@bp.errorhandler(StoreError)
def store_unavailable(exc: StoreError) -> Response:
    """The store did not answer: harvesters should come back, not give up."""
    current_app.logger.warning("OAI feed: the store did not answer: %s", exc)
    return Response("The catalogue's store is not available; try again later.\n", 503,
                    {"Retry-After": RETRY_AFTER}, content_type="text/plain; charset=utf-8")


def _gzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """One gzip member, compressed as the chunks come."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip framing
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()

"""HTTP requests and responses of the demo servers: what a quirk sees, and may answer
instead (the OAI-PMH rules themselves live in :mod:`aggregator.oai.protocol`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Request:
    """One HTTP request as the server saw it (also what a quirk receives).

    Attributes:
        params: each OAI argument's first value.
        multi: every value of every argument (repeated arguments are a badArgument).
        method: ``GET`` or ``POST``.
        path: the URL path without the query.
        headers: request headers.
        index: position of this request among those the server received (from 0).
    """

    params: dict[str, str]
    multi: dict[str, list[str]] = field(default_factory=dict)
    method: str = "GET"
    path: str = "/oai"
    headers: dict[str, str] = field(default_factory=dict)
    index: int = 0

    @classmethod
    def of(cls, **params: str) -> Request:
        """Build a GET request from keyword arguments (``from_`` stands for ``from``)."""
        clean = {k.rstrip("_"): v for k, v in params.items()}
        return cls(params=clean, multi={k: [v] for k, v in clean.items()})

    @property
    def verb(self) -> str | None:
        """The ``verb`` argument, if any."""
        return self.params.get("verb")


@dataclass
class Response:
    """An HTTP response: the normal one, or a canned one returned by a quirk.

    Attributes:
        status: HTTP status code.
        body: the bytes to send.
        headers: extra headers; a ``Content-Length`` here overrides the real length
            (a larger value makes the client see a truncated body).
        content_type: the ``Content-Type`` header, or ``None`` to send none.
        delay: seconds to wait before answering at all.
        stall: seconds to pause after sending ``stall_after`` bytes of the body.
        stall_after: how many body bytes to send before the pause.
        drop: close the connection without answering.
        oai_errors: OAI error codes in the body (set on normal responses).
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/xml; charset=utf-8"
    delay: float = 0.0
    stall: float = 0.0
    stall_after: int = 0
    drop: bool = False
    oai_errors: tuple[str, ...] = ()

"""Reading an HTTP response body: size cap, deadline, decompression, failures classified."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import requests
import urllib3.exceptions as u3

from aggregator.errors import FetchError, ResponseTooLarge
from aggregator.records import Notice

CHUNK_SIZE = 64 * 1024
DEADLINE_FACTOR = 4  # a whole response may take this many read timeouts, no more
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Transient(Exception):
    """A failure another attempt may cure (kept inside the transport)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        """Describe the failure; ``status`` is the HTTP status when there was one."""
        super().__init__(message)
        self.status = status


class BadEncoding(Exception):
    """The body could not be decoded with the Content-Encoding the server declared."""


def reason(exc: BaseException) -> str:
    """Shorten a connection error to a few words for a one-line message."""
    text = str(exc)
    for needle, words in (("Connection refused", "connection refused"),
                          ("Name or service not known", "unknown host name"),
                          ("NameResolutionError", "host name does not resolve"),
                          ("Temporary failure in name resolution", "DNS lookup failed"),
                          ("No route to host", "no route to host"),
                          ("Network is unreachable", "network unreachable"),
                          ("Connection reset", "connection reset"),
                          ("RemoteDisconnected", "server closed the connection")):
        if needle in text:
            return words
    return text.splitlines()[0][:200] if text else type(exc).__name__


def gunzip(data: bytes, cap: int, url: str) -> bytes:
    """Decompress (possibly multi-member) gzip data, refusing to grow past ``cap``."""
    out = io.BytesIO()
    pending = data
    while pending:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof:
            piece = inflater.decompress(pending, CHUNK_SIZE)
            out.write(piece)
            if out.tell() > cap:
                raise ResponseTooLarge(f"gzip body from {url} exceeds {cap} bytes "
                                       "once decompressed")
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                raise zlib.error("gzip stream ends early")
        pending = inflater.unused_data
    return out.getvalue()


def read_body(resp: requests.Response, url: str, notices: list[Notice], *, start: float,
              cap: int, read_timeout: float, clock: Callable[[], float]) -> bytes:
    """Stream the decoded body under the size cap and the whole-response deadline.

    Args:
        resp: a streamed response whose body has not been read yet.
        url: the URL asked for (for messages).
        notices: receives an ``undeclared-gzip`` notice when one applies.
        start: the clock's value when the request was sent.
        cap: the largest decoded body accepted, in bytes.
        read_timeout: seconds one receive may take; the whole body gets
            ``DEADLINE_FACTOR`` times that.
        clock: the monotonic clock ``start`` came from.

    Raises:
        ResponseTooLarge: the decoded body exceeds ``cap``.
        Transient: the body stalled, was cut short or took too long.
        BadEncoding: the declared Content-Encoding does not decode.
        FetchError: the body cannot be decoded at all (zstd, broken without a declared
            encoding).
    """
    deadline = start + read_timeout * DEADLINE_FACTOR
    encoding = resp.headers.get("content-encoding", "").strip().lower()
    # getvalue() hands over the buffer without a copy (a bytearray would need one: the
    # body twice in memory at its largest)
    buf = io.BytesIO()
    try:
        # read1 returns what one receive brings, so a server dripping bytes slower than
        # the read timeout still meets the deadline check between receives
        while chunk := resp.raw.read1(CHUNK_SIZE, decode_content=True):
            buf.write(chunk)
            if buf.tell() > cap:
                raise ResponseTooLarge(f"response from {url} exceeds {cap} bytes "
                                       "once decompressed")
            if clock() > deadline:
                raise Transient(f"response from {url} took longer than "
                                 f"{deadline - start:.0f}s")
    except u3.DecodeError as exc:
        if encoding and encoding != "identity":
            raise BadEncoding(f"body declared as Content-Encoding: {encoding} does "
                               "not decode") from exc
        raise FetchError(f"undecodable body from {url}: {reason(exc)}") from exc
    except u3.ReadTimeoutError as exc:
        raise Transient(f"{url} stalled: no data within {read_timeout}s"
                         ) from exc
    except (u3.ProtocolError, u3.SSLError, requests.exceptions.ChunkedEncodingError,
            OSError) as exc:
        raise Transient(f"truncated response from {url} ({reason(exc)})") from exc
    body = buf.getvalue()
    if body.startswith(ZSTD_MAGIC):
        raise FetchError(f"response from {url} is zstd-compressed, which the harvester "
                         "cannot decode; ask the provider for gzip or no compression")
    if body.startswith(GZIP_MAGIC):
        try:
            body = gunzip(body, cap, url)
        except zlib.error as exc:
            raise Transient(f"gzip body from {url} does not decompress ({exc})") from exc
        notices.append(Notice("undeclared-gzip", "the body was gzip-compressed without "
                              "a matching Content-Encoding header", sample=url))
    return body

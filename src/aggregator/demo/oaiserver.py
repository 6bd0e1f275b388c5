"""The demo provider's HTTP server: a ``Repository`` served from a background thread."""

from __future__ import annotations

import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from aggregator.demo.messages import Request, Response
from aggregator.demo.provider import Repository
from aggregator.demo.samples import DAYS, SECONDS, SampleRecord

__all__ = [
    "DAYS",
    "SECONDS",
    "OAIServer",
    "Quirk",
    "Repository",
    "Request",
    "Response",
    "SampleRecord",
    "Transform",
]

logger = logging.getLogger(__name__)

Quirk = Callable[[Request], Response | None]
Transform = Callable[[Request, bytes], bytes]


class OAIServer:
    """Serve a ``Repository`` over HTTP on a background thread.

    Attributes:
        repository: what is served.
        quirk: called with every request before normal handling; a ``Response`` it returns
            is sent as is, ``None`` lets the request through.
        transform: applied to the body of every normal response.
        error_status: HTTP status for responses carrying an OAI error (the spec says 200).
        requests: the OAI arguments (first values) of every request received, in order.
        received: every ``Request`` received, in order.
    """

    def __init__(
        self,
        repository: Repository,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        error_status: int = 200,
    ) -> None:
        """Prepare (but do not start) a server for ``repository`` on ``host:port``."""
        self.repository = repository
        self.host = host
        self.port = port
        self.error_status = error_status
        self.quirk: Quirk | None = None
        self.transform: Transform | None = None
        self.requests: list[dict[str, str]] = []
        self.received: list[Request] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The OAI base URL, e.g. ``http://127.0.0.1:40123/oai``."""
        return f"http://{self.host}:{self.port}{self.repository.base_path}"

    def start(self) -> Self:
        """Bind the port and start serving; returns the server itself."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.oai = self
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"oai-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("demo OAI server listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port (stalled responses are cut short)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def render(self, request: Request) -> bytes:
        """Return the normal body for a request, before ``transform``."""
        return self.repository.render(request.multi or request.params, self.base_url)

    def respond(self, request: Request) -> Response:
        """Return the normal response for a request (``transform`` and ``error_status`` applied)."""
        if request.path != self.repository.base_path:
            return Response(404, b"Not Found\n", content_type="text/plain; charset=utf-8")
        response = self.repository.respond(request.multi or request.params, self.base_url)
        if response.oai_errors:
            response.status = self.error_status
        if self.transform is not None:
            response.body = self.transform(request, response.body)
        return response

    def handle(self, request: Request) -> Response:
        """Log a request, give the quirk its chance, then answer normally."""
        with self._log_lock:
            request.index = len(self.received)
            self.received.append(request)
            self.requests.append(dict(request.params))
        if self.quirk is not None:
            canned = self.quirk(request)
            if canned is not None:
                return canned
        return self.respond(request)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return early (``True``) when the server is stopping."""
        return self._stopping.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    oai: OAIServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without this, Nagle's algorithm and
    # the client's delayed ACK hold every small response back by about 40 ms
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve(urllib.parse.urlsplit(self.path).query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length).decode("utf-8", "replace"))

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("demo OAI server: " + format, *args)

    def _serve(self, query: str) -> None:
        multi = urllib.parse.parse_qs(query, keep_blank_values=True)
        request = Request(
            params={k: v[0] for k, v in multi.items()},
            multi=multi,
            method=self.command,
            path=urllib.parse.urlsplit(self.path).path,
            headers=dict(self.headers.items()),
        )
        oai = self.server.oai
        try:
            response = oai.handle(request)
        except Exception:
            logger.exception("demo OAI server failed on %s", self.path)
            response = Response(
                500, b"Internal Server Error\n", content_type="text/plain; charset=utf-8"
            )
        try:
            self._send(response, oai)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _send(self, response: Response, oai: OAIServer) -> None:
        if response.delay and oai.wait(response.delay):
            response = Response(drop=True)
        if response.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        names = {name.lower() for name in response.headers}
        for name, value in response.headers.items():
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        if response.headers or response.stall:  # canned: do not reuse the connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        body = response.body
        if response.stall:
            self.wfile.write(body[: response.stall_after])
            self.wfile.flush()
            oai.wait(response.stall)
            body = body[response.stall_after :]
        self.wfile.write(body)

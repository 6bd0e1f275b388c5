"""A scriptable HTTP server on a loopback address, run in a thread, for transport tests."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass
class Reply:
    """One canned answer.

    Attributes:
        status: HTTP status.
        headers: header pairs sent as given (Content-Length is added unless present).
        body: bytes sent after the headers.
        stall: seconds to stay silent after the headers (a hung server), at most.
        delay: seconds to wait before answering at all (to observe overlap).
        drip: when set, the body goes out in 100-byte pieces this many seconds apart.
    """

    status: int = 200
    headers: Iterable[tuple[str, str]] = ()
    body: bytes = b""
    stall: float = 0.0
    delay: float = 0.0
    drip: float = 0.0


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    started: float
    finished: float = 0.0

    def param(self, name: str) -> str | None:
        """Return one query parameter, percent-decoded exactly once."""
        for pair in self.query.split("&"):
            key, _, value = pair.partition("=")
            if unquote(key) == name:
                return unquote(value)
        return None


Script = Callable[[Seen], Reply]


@dataclass
class LocalServer:
    """A ThreadingHTTPServer answering from a list of replies (the last one repeats)."""

    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    replies: list[Reply] = field(default_factory=list)
    script: Script | None = None
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The endpoint URL to harvest."""
        return f"{self.base}/oai"

    def serve(self, *replies: Reply) -> LocalServer:
        """Replace the canned replies."""
        self.replies = list(replies)
        self.script = None
        return self

    def next_reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            if self.script is not None:
                return self.script(seen)
            if len(self.replies) > 1:
                return self.replies.pop(0)
            return self.replies[0] if self.replies else Reply(404, body=b"no reply scripted")

    def __enter__(self) -> LocalServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, parts.path, parts.query,
                            {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length) if length else b"", time.monotonic())
                reply = server.next_reply(seen)
                try:
                    if reply.delay:
                        server._stop.wait(reply.delay)
                    self.send_response(reply.status)
                    headers = list(reply.headers)
                    for name, value in headers:
                        self.send_header(name, value)
                    if not any(name.lower() == "content-length" for name, _ in headers):
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.flush()
                    if reply.stall:
                        server._stop.wait(reply.stall)
                    if reply.drip:
                        for at in range(0, len(reply.body), 100):
                            self.wfile.write(reply.body[at:at + 100])
                            self.wfile.flush()
                            if server._stop.wait(reply.drip):
                                break
                    else:
                        self.wfile.write(reply.body)
                except OSError:
                    pass  # the client hung up, as several tests make it do
                finally:
                    seen.finished = time.monotonic()

            do_GET = do_POST = _answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._httpd = Server((self.host, 0), Handler)
        if self.tls is not None:
            self._httpd.socket = self.tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

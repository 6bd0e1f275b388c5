"""Serving the portal with waitress, a production WSGI server (not Flask's dev server)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from flask import Flask
from waitress.server import create_server

from aggregator.errors import UserInputError

logger = logging.getLogger(__name__)
THREADS = 8
BACKLOG = 1024


def waitress_options(threads: int, trusted_proxy: str = "") -> dict[str, Any]:
    """Waitress's settings: forwarded headers are dropped unless they come from the
    trusted proxy, whose X-Forwarded-For then gives the client address."""
    options: dict[str, Any] = {"threads": threads, "ident": "aggregator",
                               "clear_untrusted_proxy_headers": True}
    if trusted_proxy:
        options.update(trusted_proxy=trusted_proxy, trusted_proxy_count=1,
                       trusted_proxy_headers="x-forwarded-for x-forwarded-proto "
                                             "x-forwarded-host")
    return options


def quiet_queue_warnings() -> None:
    """Waitress logs "Task queue depth is N" for every request that waits for a thread;
    under load that floods the operator's log with no action to take."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class PortalServer:
    """A waitress server bound to ``host:port`` (port 0 picks a free one).

    The app may be given later (:meth:`mount`): the demo binds its port before it
    harvests, so a busy port is reported at once.
    """

    def __init__(self, app: Flask | None = None, host: str = "127.0.0.1", port: int = 8000,
                 threads: int = THREADS, trusted_proxy: str = "") -> None:
        """Bind the socket now, so a busy port is reported before anything else runs.

        Raises:
            UserInputError: the address cannot be bound (port in use, bad host).
        """
        self._app = app
        quiet_queue_warnings()
        try:
            self._server: Any = create_server(self._wsgi, host=host, port=port,
                                              **waitress_options(threads, trusted_proxy))
        except OSError as exc:
            raise UserInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                                 "choose another --port") from exc
        self.host = host
        self.port = int(self._server.effective_port)

    def mount(self, app: Flask) -> None:
        """Serve ``app`` (until now, requests were answered 503)."""
        self._app = app

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self._app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"),
                                                       ("Retry-After", "5")])
            return [b"starting\n"]
        return self._app.wsgi_app(environ, start_response)

    @property
    def url(self) -> str:
        """The portal's address, e.g. ``http://127.0.0.1:8000/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve until interrupted (Ctrl-C) or :meth:`stop`."""
        if on_ready is not None:
            on_ready(self.url)
        try:
            self._server.run()
        except KeyboardInterrupt:
            logger.info("portal stopped")
        finally:
            self._server.close()

    def stop(self) -> None:
        """Stop serving (from another thread)."""
        self._server.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``.

    Raises:
        UserInputError: the address cannot be bound (port in use, bad host).
    """
    try:
        return socket.create_server((host, port), backlog=BACKLOG,
                                    family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise UserInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                             "choose another --port") from exc


def serve_workers(make_app: Callable[[], Flask], sock: socket.socket, *, workers: int,
                  threads: int = THREADS, trusted_proxy: str = "") -> int:
    """Serve from ``workers`` forked processes sharing ``sock``; returns when interrupted.

    One Python process answers from one core at a time, so a search page is served by
    several processes on a machine with several cores. Each worker builds its own app
    (its own database connections and index reader) after the fork; a worker that dies
    is replaced.

    Returns:
        0 after Ctrl-C or SIGTERM.
    """
    children: set[int] = set()
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            _signal(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            while len(children) < workers and not stopping:
                children.add(_fork_worker(make_app, sock,
                                          waitress_options(threads, trusted_proxy)))
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries os.wait
                continue
            children.discard(pid)
            if not stopping:
                logger.warning("portal worker %d ended (status %d); starting another", pid,
                               status)
        for pid in list(children):
            os.waitpid(pid, 0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return 0


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _fork_worker(make_app: Callable[[], Flask], sock: socket.socket,
                 options: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:  # the worker: plain signal handling, its own app, the shared socket
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        quiet_queue_warnings()
        server: Any = create_server(make_app(), sockets=[sock], **options)
        server.run()
    except BaseException:  # a worker must never return into the parent's code
        logger.exception("portal worker failed")
        code = 1
    finally:
        os._exit(code)

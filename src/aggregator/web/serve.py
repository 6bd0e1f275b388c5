"""Serving the portal with waitress, a production WSGI server (not Flask's dev server)."""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import create_server

from aggregator.config import Settings
from aggregator.errors import UserInputError

logger = logging.getLogger(__name__)
THREADS = 8
BACKLOG = 1024
MAX_BODY = 1024 * 1024  # the portal takes small forms only; waitress would take 1 GB


@dataclass(frozen=True, slots=True)
class Limits:
    """What one worker process lets clients hold (see the ``web_*`` settings).

    Attributes:
        connections: open connections at most; past it, new ones wait in the backlog.
        idle: seconds a connection may stay silent before it is closed.
        request: seconds a client may take to send one whole request; a connection
            trickling its request more slowly is closed (waitress's own timeout only
            counts silence, so a byte every few seconds would hold it for ever).
    """

    connections: int = 1000
    idle: float = 30.0
    request: float = 20.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits the settings ask for."""
        return cls(settings.web_connection_limit, settings.web_channel_timeout,
                   settings.web_request_timeout)


def waitress_options(threads: int, trusted_proxy: str = "",
                     limits: Limits = Limits()) -> dict[str, Any]:
    """Waitress's settings: forwarded headers are dropped unless they come from the
    trusted proxy, whose X-Forwarded-For then gives the client address; connection and
    time limits from ``limits``."""
    options: dict[str, Any] = {
        "threads": threads, "ident": "aggregator", "clear_untrusted_proxy_headers": True,
        "connection_limit": limits.connections, "channel_timeout": limits.idle,
        # look for overdue connections often enough for both timeouts to hold
        "cleanup_interval": max(1.0, min(limits.idle, limits.request) / 4),
        "max_request_body_size": MAX_BODY, "backlog": BACKLOG,
        # select() fails once a socket's number passes 1024: poll() has no such limit
        "asyncore_use_poll": True}
    if trusted_proxy:
        options.update(trusted_proxy=trusted_proxy, trusted_proxy_count=1,
                       trusted_proxy_headers="x-forwarded-for x-forwarded-proto")
    return options


class _Channel(HTTPChannel):  # type: ignore[misc]
    """A waitress channel that remembers when the request it is reading began."""

    request_began = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_began = time.monotonic()
        return bool(super().received(data))


def _guard(server: Any, limits: Limits) -> Any:
    """Make a waitress server close connections that send their request too slowly."""
    server.channel_class = _Channel
    idle_check = server.maintenance

    def maintenance(now: float) -> None:
        idle_check(now)
        overdue = time.monotonic() - limits.request
        for channel in list(server.active_channels.values()):
            partial = getattr(channel, "request", None)
            if (partial is not None and not partial.completed
                    and getattr(channel, "request_began", overdue) < overdue):
                channel.will_close = True

    server.maintenance = maintenance
    return server


def open_files_for(limits: Limits) -> None:
    """Raise this process's open-file limit (toward the hard limit) so that the
    connection limit, and not the file limit, is what holds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.connections + 256  # the database, the index, the logs
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


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
                 threads: int = THREADS, trusted_proxy: str = "",
                 limits: Limits = Limits()) -> None:
        """Bind the socket now, so a busy port is reported before anything else runs.

        Raises:
            UserInputError: the address cannot be bound (port in use, bad host).
        """
        self._app = app
        quiet_queue_warnings()
        open_files_for(limits)
        try:
            self._server: Any = _guard(create_server(
                self._wsgi, host=host, port=port,
                **waitress_options(threads, trusted_proxy, limits)), limits)
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


def serve_workers(sock: socket.socket, *, workers: int, threads: int = THREADS,
                  env: Mapping[str, str] | None = None) -> int:
    """Serve from ``workers`` processes sharing ``sock``; returns when interrupted.

    One Python process answers from one core at a time, so a search page is served by
    several processes on a machine with several cores. Each worker is a new Python
    process (``python -m aggregator.web.worker``, started by fork and exec) that reads
    its settings from ``env`` like any command and builds its own app: it inherits
    nothing of this process but the socket, so the scheduler's threads running here
    (which may hold SQLite's or another library's lock at any moment) cannot leave a
    worker hung. A worker that dies is replaced; only this function's own children are
    waited for, never those of the harvests running beside it.

    Returns:
        0 after Ctrl-C or SIGTERM.
    """
    children: dict[int, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            _signal(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    command = [sys.executable, "-m", "aggregator.web.worker", str(sock.fileno()),
               str(threads)]
    try:
        while not stopping:
            while len(children) < workers and not stopping:
                child = subprocess.Popen(command, pass_fds=(sock.fileno(),),
                                         env=dict(env if env is not None else os.environ))
                children[child.pid] = child
            time.sleep(0.2)
            for pid, child in list(children.items()):
                status = child.poll()
                if status is not None:
                    del children[pid]
                    if not stopping:
                        logger.warning("portal worker %d ended (status %d); starting "
                                       "another", pid, status)
        for child in children.values():
            child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return 0


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def run_worker(app: Flask, sock: socket.socket, threads: int, trusted_proxy: str,
               limits: Limits) -> None:
    """Serve ``app`` on an inherited socket until SIGTERM (a worker of
    :func:`serve_workers`; Ctrl-C reaches the parent, which stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    quiet_queue_warnings()
    open_files_for(limits)
    server: Any = _guard(create_server(app, sockets=[sock], **waitress_options(
        threads, trusted_proxy, limits)), limits)
    server.run()

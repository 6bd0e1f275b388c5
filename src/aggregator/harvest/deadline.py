"""A deadline for a whole HTTP request: connecting, status line, headers and body.

requests and urllib3 only bound each single receive, so a server sending a byte every
few seconds (of its status line, its headers or its body) can hold a request for ever.
While a :class:`Deadline` is active in a thread, every socket that thread's requests use
is registered with it (:func:`watch`, called where sockets are created and reused); when
the time is up a timer shuts them down, so whatever receive is waiting fails at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

__all__ = ["Deadline", "watch"]

_active = threading.local()


class Deadline:
    """Shut down the sockets of the requests made in this thread after ``seconds``.

    Use as a context manager around one request; :attr:`expired` tells afterwards
    whether the request was cut short.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _active.deadline = self
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()
        _active.deadline = None
        with self._lock:
            self._sockets.clear()

    def add(self, sock: socket.socket) -> None:
        """Watch ``sock`` (shut it down at once when the time is already up)."""
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)


def watch(sock: socket.socket | None) -> None:
    """Put ``sock`` under the deadline active in this thread, if there is one."""
    deadline: Deadline | None = getattr(_active, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.add(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)

"""List pages made ahead: while a harvester reads one page of a list, the next one is
written (plain and gzipped) into a folder that every worker process of the server shares,
so the harvester's next request is answered from it at once."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GZIP_LEVEL", "ReadAhead", "Rendered", "gzip_member"]

logger = logging.getLogger(__name__)

GZIP_LEVEL = 3  # XML shrinks six- to sevenfold even so; level 6 costs twice the CPU
MAX_AGE = 300.0  # seconds a page made ahead is kept for its harvester
MAX_PENDING = 8  # pages waiting to be made in one process; more are not made ahead
SWEEP_EVERY = 200  # pages written between two sweeps of pages nobody came for
WAIT = 10.0  # longest wait for a page being made (by any process) before making it again
_POLL = 0.002

Make = Callable[[str, str], tuple[str, str | None] | None]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A page made ahead: the response after its head, plain and as a gzip member, and
    the token it hands out (whose page is made next)."""

    plain: bytes
    gz: bytes
    next_token: str | None


def gzip_member(data: bytes) -> bytes:
    """``data`` as one gzip member (members may follow one another in a response)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip framing
    return compressor.compress(data) + compressor.flush()


class ReadAhead:
    """Makes the next page of a list in a background thread and keeps it in ``folder``.

    Args:
        folder: where pages wait (derived data: deleting it at any time is safe).
        make: renders the page a (verb, token) asks for: its text after the head and
            the token it issues, or ``None`` when that request would be an error.
    """

    def __init__(self, folder: Path, make: Make) -> None:
        self._folder = folder
        self._make = make
        self._lock = threading.Lock()
        self._pending = 0
        self._written = 0
        self._pool: ThreadPoolExecutor | None = None

    @staticmethod
    def _key(verb: str, token: str) -> str:
        return hashlib.sha256(f"{verb}\0{token}".encode()).hexdigest()[:40]

    def schedule(self, verb: str, token: str | None) -> None:
        """Start making the page ``token`` asks for, unless too many are waiting."""
        if not token:
            return
        key = self._key(verb, token)
        with self._lock:
            if self._pending >= MAX_PENDING:
                return
            self._pending += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="oai-read-ahead")
            pool = self._pool
        try:  # tells every process that this page is on its way
            self._folder.mkdir(parents=True, exist_ok=True)
            (self._folder / f"{key}.making").touch()
        except OSError:
            pass
        pool.submit(self._run, verb, token, key)

    def _run(self, verb: str, token: str, key: str) -> None:
        try:
            made = self._make(verb, token)
            if made is not None:
                self._write(key, made[0].encode(), made[1])
        except Exception:  # a page made ahead is a saving, never a failure
            logger.debug("OAI read-ahead of a %s page failed", verb, exc_info=True)
        finally:
            with self._lock:
                self._pending -= 1
            with contextlib.suppress(OSError):
                os.unlink(self._folder / f"{key}.making")

    def _write(self, key: str, plain: bytes, next_token: str | None) -> None:
        gz = gzip_member(plain)
        self._folder.mkdir(parents=True, exist_ok=True)
        head = f"{len(plain)} {len(gz)} {next_token or ''}\n".encode("ascii")
        temporary = self._folder / f".{key}.{os.getpid()}.{threading.get_ident()}"
        temporary.write_bytes(head + plain + gz)
        os.replace(temporary, self._folder / key)
        self._written += 1
        if self._written % SWEEP_EVERY == 0:
            self.sweep()

    def take(self, verb: str, token: str) -> Rendered | None:
        """The page made ahead for this request (once: it is removed), if there is one
        younger than five minutes; a page still being made is waited for."""
        key = self._key(verb, token)
        path = self._folder / key
        making = self._folder / f"{key}.making"
        deadline = time.monotonic() + WAIT
        while True:
            try:
                data = path.read_bytes()
                age = time.time() - path.stat().st_mtime
                path.unlink()
                break
            except OSError:
                pass
            try:
                started = making.stat().st_mtime
            except OSError:
                return None  # not made ahead, or its maker gave up
            if time.monotonic() > deadline or time.time() - started > WAIT:
                return None
            time.sleep(_POLL)
        head, _, rest = data.partition(b"\n")
        try:
            plain_size, gz_size, next_token = head.decode("ascii").split(" ", 2)
            plain, gz = int(plain_size), int(gz_size)
        except ValueError:
            return None
        if age > MAX_AGE or len(rest) != plain + gz:
            return None
        return Rendered(rest[:plain], rest[plain:], next_token or None)

    def sweep(self) -> None:
        """Remove pages no harvester came for."""
        limit = time.time() - MAX_AGE
        try:
            entries = list(os.scandir(self._folder))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
            except OSError:
                pass

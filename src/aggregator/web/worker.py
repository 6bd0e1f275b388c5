"""One worker process of `aggregator serve --workers N`: ``python -m aggregator.web.worker
FD THREADS`` serves the portal on the inherited listening socket FD.

Its settings come from the environment and ``AGGREGATOR_CONFIG``, as for any command
(the parent passes ``AGGREGATOR_BASE_URL`` when it chose the address itself).
"""

from __future__ import annotations

import logging
import socket
import sys

from aggregator.config import load_settings
from aggregator.web import create_app
from aggregator.web.serve import Limits, run_worker


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM; a failure is logged and exits 1 (the parent starts another)."""
    fd, threads = (int(value) for value in (argv or sys.argv[1:]))
    settings = load_settings()
    logging.basicConfig(level=getattr(logging, settings.log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_worker(create_app(settings), socket.socket(fileno=fd), threads,
                   settings.web_trusted_proxy, Limits.of(settings))
    except Exception:
        logging.getLogger(__name__).exception("portal worker failed")
        sys.exit(1)


if __name__ == "__main__":
    main()

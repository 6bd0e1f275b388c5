"""The `aggregator serve` command: the portal behind a production WSGI server."""

from __future__ import annotations

import os
import sys
from typing import Any

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes [default: the web_workers setting; 0 there means one "
                   "per CPU core].")
@click.option("--threads", default=None, type=click.IntRange(1, 256),
              help="Threads per worker [default: the web_threads setting].")
@click.pass_obj
def serve(obj: Any, host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the portal (pages, JSON API, exports) with waitress."""
    from aggregator.web import create_app
    from aggregator.web.serve import PortalServer, bind, serve_workers

    settings = obj.settings
    obj.engine().dispose()  # checks the schema; each process opens its own connections
    workers = workers or settings.web_workers or os.cpu_count() or 1
    threads = threads or settings.web_threads
    if workers == 1:
        server = PortalServer(create_app(settings), host, port, threads,
                              settings.web_trusted_proxy)
        server.run(lambda url: click.echo(f"Portal: {url} (Ctrl-C to stop)"))
        return
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Portal: http://{shown}:{sock.getsockname()[1]}/ ({workers} workers, "
               f"{threads} threads each; Ctrl-C to stop)")
    sys.stdout.flush()
    sys.exit(serve_workers(lambda: create_app(settings), sock, workers=workers,
                           threads=threads, trusted_proxy=settings.web_trusted_proxy))

"""The `aggregator serve` command: the portal behind a production WSGI server."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

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
@click.option("--no-scheduler", is_flag=True,
              help="Serve only; harvesting is left to `aggregator scheduler` processes.")
@click.pass_obj
def serve(obj: Any, host: str, port: int, workers: int | None, threads: int | None,
          no_scheduler: bool) -> None:
    """Serve the portal (pages, JSON API, exports) and the OAI feed with waitress, and
    harvest every source on its schedule (in this process, never in the web workers)."""
    from aggregator.cli_scheduler import build_scheduler
    from aggregator.web import create_app
    from aggregator.web.serve import Limits, PortalServer, bind, serve_workers

    settings = obj.settings
    obj.engine().dispose()  # checks the schema; each process opens its own connections
    workers = workers or settings.web_workers or os.cpu_count() or 1
    threads = threads or settings.web_threads
    limits = Limits.of(settings)
    harvesting = "" if no_scheduler else "; harvesting on schedule"
    if workers == 1:
        server = PortalServer(None, host, port, threads, settings.web_trusted_proxy, limits)
        settings = _with_base_url(settings, server.url)
        server.mount(create_app(settings))
        with _scheduling(settings, obj.engine(), build_scheduler, harvest=not no_scheduler):
            server.run(lambda url: click.echo(
                f"Portal: {url} (OAI feed: {settings.public_root}/oai{harvesting}; "
                "Ctrl-C to stop)"))
        return
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    settings = _with_base_url(settings, f"http://{shown}:{sock.getsockname()[1]}/")
    click.echo(f"Portal: http://{shown}:{sock.getsockname()[1]}/ ({workers} workers, "
               f"{threads} threads each; OAI feed: {settings.public_root}/oai{harvesting}; "
               "Ctrl-C to stop)")
    sys.stdout.flush()
    env = dict(os.environ, AGGREGATOR_BASE_URL=settings.base_url)
    if obj.config_file:
        env["AGGREGATOR_CONFIG"] = os.path.abspath(obj.config_file)
    with _scheduling(settings, obj.engine(), build_scheduler, harvest=not no_scheduler):
        code = serve_workers(sock, workers=workers, threads=threads, env=env)
    sys.exit(code)


@contextmanager
def _scheduling(settings: Any, engine: Any, build: Any, *, harvest: bool) -> Iterator[None]:
    """Run the scheduler (when ``harvest``) and the search index's follower in this (the
    parent) process while the block serves; SIGTERM then ends the block like Ctrl-C,
    and the harvests end at a page boundary."""
    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    sched, close_background = build(settings, engine, harvest=harvest)
    try:
        if sched is not None:
            sched.start()
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if sched is not None:
            sched.close()
        close_background()


def _with_base_url(settings: Any, listening: str) -> Any:
    """The settings with ``base_url`` set to the address served when it is unset, so
    links work on a laptop; warns when the site listens beyond this machine without it
    (links and the OAI feed's baseURL must then name the public address)."""
    if settings.base_url:
        return settings
    host = urlsplit(listening).hostname or ""
    if not _loopback(host):
        click.echo("warning: base_url is not set; links and the OAI feed's baseURL name "
                   f"{listening.rstrip('/')}: set base_url (AGGREGATOR_BASE_URL) to the "
                   "portal's public address", err=True)
    return replace(settings, base_url=listening.rstrip("/"))


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"

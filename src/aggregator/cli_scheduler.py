"""The `aggregator scheduler` and `aggregator status` commands."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import click

from aggregator.schedule import format_interval


@click.command()
@click.option("--once", is_flag=True,
              help="Harvest every source due now (each at most once), then exit: for cron.")
@click.option("--json", "as_json", is_flag=True,
              help="With --once: one JSON object per run on stdout.")
@click.option("--no-index", is_flag=True,
              help="Never write the search index, even when no other process does "
                   "(`aggregator index sync` or `serve` brings it up to date).")
@click.pass_obj
def scheduler(obj: Any, once: bool, as_json: bool, no_index: bool) -> None:
    """Harvest every active source on its schedule until stopped (Ctrl-C or SIGTERM).

    Any number of these processes, on any machines sharing one PostgreSQL store, divide
    the sources between them; `aggregator serve --no-scheduler` then serves the portal.
    """
    from aggregator.cli import EXIT_FAILED, _print_result

    sched, close_index = build_scheduler(obj.settings, obj.engine(), index=not no_index)
    try:
        with stopping_on_signals(sched.stop):
            if once:
                results = sched.run_once()
                for result in results:
                    if as_json:
                        click.echo(json.dumps(result.as_json()))
                    else:
                        _print_result(result.as_json())
                if not results and not as_json:
                    click.echo("nothing is due")
                sys.exit(EXIT_FAILED if any(r.status == "failed" for r in results) else 0)
            click.echo(f"Scheduler started: {obj.settings.harvest_concurrency} hosts at "
                       "a time; Ctrl-C to stop")
            sys.stdout.flush()
            sched.run_forever()
            click.echo("Scheduler stopped")
    finally:
        close_index()


def build_scheduler(settings: Any, engine: Any, *, harvest: bool = True, index: bool = True
                    ) -> tuple[Any, Callable[[], None]]:
    """This process's background work: a scheduler (unless ``harvest`` is false) and,
    when this process can own the search index, a thread keeping it up to date with
    the store (poked after each run). Returns the scheduler (or ``None``) and the
    function that stops the follower and gives the index back."""
    from aggregator.cli import _claim_index_or_warn
    from aggregator.index.owner import IndexFollower
    from aggregator.pipeline import SyncResult
    from aggregator.scheduler import Scheduler

    owner = _claim_index_or_warn(settings) if index else None
    follower = None
    if owner is not None:
        follower = IndexFollower(owner, engine, settings.index_follow_seconds)
        follower.start()

    def after_run(result: SyncResult) -> None:
        if follower is not None and (result.new or result.updated or result.deleted):
            follower.poke()

    def close() -> None:
        if follower is not None:
            follower.stop()
        if owner is not None:
            owner.close()

    sched = Scheduler(engine, settings, after_run=after_run) if harvest else None
    return sched, close


@contextmanager
def stopping_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGTERM and Ctrl-C (SIGINT) while the block runs."""
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@click.pass_obj
def status(obj: Any, as_json: bool) -> None:
    """Every source with its schedule, next run, lease holder and last result."""
    from aggregator.cluster import stage as cluster_stage
    from aggregator.console import table
    from aggregator.store import schedule

    rows = schedule.status(obj.engine())
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], indent=2))
        return
    if not rows:
        click.echo("no sources; add one with `aggregator sources add`")
        return
    now = datetime.now(UTC)
    click.echo(table([(
        row.id, row.member, row.base_url[:50], format_interval(timedelta(
            seconds=row.every_seconds)),
        (_when(row.next_run_at, now) + (" (backing off)" if row.failures else ""))
        if row.status == "active" else row.status,
        (row.lease_owner or "")[:30], row.last_status or "never run", row.failures,
        (row.last_error or "")[:60]) for row in rows],
        ["id", "member", "base url", "every", "next run", "held by", "last result",
         "failures", "last error"]))
    clustering = cluster_stage.progress(obj.engine())
    waiting = clustering["records_waiting"]
    click.echo(f"duplicate clusters: {waiting or 'no'} changed records waiting"
               + (f" (being clustered by {clustering['holder']})"
                  if clustering["holder"] else ""))


def _when(moment: datetime | None, now: datetime) -> str:
    """``now``, ``in 2h5m`` or ``5m ago`` (rounded to seconds)."""
    if moment is None or abs((moment - now).total_seconds()) < 1:
        return "now"
    seconds = int((moment - now).total_seconds())
    spelled = format_interval(timedelta(seconds=abs(seconds)))
    return f"in {spelled}" if seconds > 0 else f"due {spelled} ago"

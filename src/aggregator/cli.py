"""The `aggregator` command line: init, members, sources, check, harvest, serve, demo,
scheduler, status."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aggregator.config import Settings, load_settings
from aggregator.console import ProgressLine, console_log_level, table
from aggregator.errors import AggregatorError, FetchError, RefusedURL, UserInputError
from aggregator.harvest.netguard import validate_url
from aggregator.harvest.registration import check_registered_url

if TYPE_CHECKING:
    from aggregator.index.owner import IndexOwner

EXIT_FAILED = 1
EXIT_USAGE = 2


class Context:
    """Lazily built settings and engine shared by the commands of one invocation."""

    def __init__(self, config_file: str | None, verbose: int) -> None:
        self.config_file = config_file
        self.verbose = verbose
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
            level = console_log_level(self._settings.log_level, self.verbose)
            logging.basicConfig(level=getattr(logging, level),
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return self._settings

    def engine(self, *, require: bool = True) -> Engine:
        if self._engine is None:
            from aggregator.store.db import make_engine, require_database, require_schema

            if require:
                require_database(self.settings)
            self._engine = make_engine(self.settings)
            if require:
                require_schema(self._engine)
        return self._engine

    def close(self) -> None:
        """Close the store's connections (at the end of the command)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine()) as session, session.begin():
            yield session


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print a one-line error to stderr and exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="TOML settings file (default: $AGGREGATOR_CONFIG).")
@click.option("-v", "--verbose", count=True,
              help="Log output: -v adds INFO lines (and the warnings a terminal hides), "
                   "-vv debug.")
@click.version_option(package_name="aggregator")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, verbose: int) -> None:
    """Harvest a network of libraries over OAI-PMH into one union catalogue."""
    ctx.obj = Context(config_file, verbose)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.pass_obj
def init(obj: Context) -> None:
    """Create or upgrade the database schema (safe to run again)."""
    from aggregator.store.db import init_schema

    revision = init_schema(obj.engine(require=False))
    click.echo(f"schema ready at revision {revision} ({_safe_url(obj.settings)})")


# -- members and sources ------------------------------------------------------------


@cli.group()
def members() -> None:
    """Add, list and remove member libraries."""


@members.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The member's display name.")
@click.option("--homepage", help="The member's web site.")
@click.option("--url", "base_url", help="OAI-PMH base URL: also adds the member's first source.")
@click.option("--prefix", default="oai_dc", show_default=True,
              help="metadataPrefix of that source.")
@click.option("--set", "set_spec", default="",
              help="setSpec of that source (whole repository if empty).")
@click.option("--every", default=None, help="Harvest interval of that source, e.g. 6h, 1d.")
@click.pass_obj
def members_add(obj: Context, slug: str, name: str, homepage: str | None, base_url: str | None,
                prefix: str, set_spec: str, every: str | None) -> None:
    """Add member SLUG (and its first source with --url)."""
    from aggregator.store import catalog

    if homepage:
        homepage = validate_url(homepage)
    url = check_registered_url(base_url, obj.settings.allowed_networks) if base_url else None
    with obj.session() as session:
        catalog.add_member(session, slug, name, homepage=homepage)
        if url:
            catalog.add_source(session, slug, url, metadata_prefix=prefix, set_spec=set_spec,
                               every=every or obj.settings.default_every)
    click.echo(f"added member {slug}" + (f" with source {url}" if url else ""))


@members.command("edit")
@click.argument("slug")
@click.option("--name", help="The member's display name.")
@click.option("--homepage", help="Its web site (http or https; empty to clear).")
@click.option("--city", help="Its city (empty to clear).")
@click.option("--province", help="Its province (empty to clear).")
@click.option("--kind", help="public, university, school or special (empty to clear).")
@click.option("--contact", help="Who to contact (empty to clear).")
@click.option("--logo", help="URL of its logo (http or https; empty to clear).")
@click.pass_obj
def members_edit(obj: Context, slug: str, name: str | None, homepage: str | None,
                 city: str | None, province: str | None, kind: str | None,
                 contact: str | None, logo: str | None) -> None:
    """Change member SLUG's details; options not given stay as they are."""
    from aggregator.store import catalog

    fields = {"city": city, "province": province, "kind": kind, "contact": contact,
              "logo": logo}
    if name is None and homepage is None and all(v is None for v in fields.values()):
        raise UserInputError("nothing to change: give at least one option")
    with obj.session() as session:
        catalog.edit_member(session, slug, name=name, homepage=homepage, **fields)
    click.echo(f"updated member {slug}")


@members.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@click.pass_obj
def members_list(obj: Context, as_json: bool) -> None:
    """List the members with their sources and live records."""
    from aggregator.store import catalog

    with obj.session() as session:
        rows = catalog.list_members(session)
    _emit(rows, as_json, ["slug", "name", "status", "sources", "records"],
          lambda r: (r.slug, r.name, r.status, r.sources, r.records))


@members.command("remove")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def members_remove(obj: Context, slug: str, yes: bool) -> None:
    """Remove member SLUG: its sources stop and its records become deletions."""
    from aggregator.store import catalog

    with obj.session() as session:
        catalog.get_member(session, slug)
    if not yes and not click.confirm(f"Remove member {slug!r} and mark all its records "
                                     "deleted?", default=False):
        fail("nothing removed", EXIT_FAILED)
    with obj.session() as session:
        count = catalog.remove_member(session, slug)
    click.echo(f"removed member {slug}; {count} records marked deleted")


@cli.group()
def sources() -> None:
    """Add and list the OAI-PMH endpoints of members."""


@sources.command("add")
@click.argument("slug")
@click.argument("base_url")
@click.option("--prefix", default="oai_dc", show_default=True, help="metadataPrefix to harvest.")
@click.option("--set", "set_spec", default="",
              help="setSpec to harvest (whole repository if empty).")
@click.option("--every", default=None,
              help="Harvest interval, e.g. 30m, 6h, 1d (default from settings).")
@click.pass_obj
def sources_add(obj: Context, slug: str, base_url: str, prefix: str, set_spec: str,
                every: str | None) -> None:
    """Add an endpoint BASE_URL to member SLUG."""
    from aggregator.store import catalog

    url = check_registered_url(base_url, obj.settings.allowed_networks)
    with obj.session() as session:
        catalog.add_source(session, slug, url, metadata_prefix=prefix, set_spec=set_spec,
                           every=every or obj.settings.default_every)
    click.echo(f"added source {url} ({prefix}{' set ' + set_spec if set_spec else ''}) to {slug}")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@click.pass_obj
def sources_list(obj: Context, as_json: bool) -> None:
    """List every source with its schedule and last harvest."""
    from aggregator.store import catalog

    with obj.session() as session:
        rows = catalog.list_sources(session)
    _emit(rows, as_json, ["id", "member", "base url", "prefix", "set", "every", "records",
                          "last run"],
          lambda r: (r.id, r.member, r.base_url, r.prefix, r.set_spec, r.every, r.records,
                     r.last_run_status or "never"))


# -- check and harvest ----------------------------------------------------------------


@cli.command()
@click.argument("base_url")
@click.option("--prefix", help="metadataPrefix for the sample page (default oai_dc).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def check(obj: Context, base_url: str, prefix: str | None, as_json: bool) -> None:
    """Probe an OAI-PMH endpoint and report what its manager should fix."""
    from aggregator.harvest.check import check_endpoint

    url = check_registered_url(base_url, obj.settings.allowed_networks)
    report = check_endpoint(url, obj.settings, prefix)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(f"endpoint: {report.base_url}")
        for key, value in report.info.items():
            click.echo(f"  {key}: {value}")
        for line in report.errors:
            click.echo(f"ERROR    {line}")
        for line in report.warnings:
            click.echo(f"WARNING  {line}")
        click.echo("result: " + ("usable" if not report.errors else
                                 f"{len(report.errors)} error(s) to fix"))
    if report.errors:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("slugs", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Harvest every active source.")
@click.option("--full", is_flag=True, help="Ignore the incremental cursor, harvest everything "
                                           "and mark records that vanished as deleted.")
@click.option("--reconcile", is_flag=True,
              help="After the incremental run, check every identifier the server lists "
                   "(ListIdentifiers) and mark the records that vanished as deleted.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source on stdout.")
@click.option("--no-index", is_flag=True, help="Do not update the search index afterwards "
                                               "(run `aggregator index sync` later).")
@click.pass_obj
def harvest(obj: Context, slugs: tuple[str, ...], all_: bool, full: bool, reconcile: bool,
            as_json: bool, no_index: bool) -> None:
    """Harvest the sources of members SLUGS (or --all), then update the search index."""
    from aggregator.pipeline import sync_source
    from aggregator.store import catalog

    if not slugs and not all_:
        fail("name members to harvest, or use --all")
    if full and reconcile:
        fail("--full already reconciles: use one of --full and --reconcile")
    engine = obj.engine()
    with obj.session() as session:
        source_ids = catalog.sources_for(session, list(slugs) or None, all_)
        labels = {s.id: f"{s.member} {s.base_url}" for s in catalog.list_sources(session)}
    if not source_ids:
        fail("no active source to harvest; add one with `aggregator sources add`", EXIT_FAILED)
    failed = 0
    owner = None if no_index else _claim_index_or_warn(obj.settings)
    try:
        for source_id in source_ids:
            progress = ProgressLine(labels.get(source_id, f"source {source_id}")[:60])
            try:
                result = sync_source(engine, obj.settings, source_id, full=full,
                                     reconcile=reconcile,
                                     progress=progress.update,
                                     index=owner.backend if owner is not None else None)
            finally:
                progress.finish()
            failed += result.status == "failed"
            if as_json:
                click.echo(json.dumps(result.as_json()))
            else:
                _print_result(result.as_json())
    finally:
        if owner is not None:
            owner.close()
    sys.exit(EXIT_FAILED if failed else 0)


def _claim_index_or_warn(settings: Settings) -> IndexOwner | None:
    """This process's ownership of the search index, or ``None``: with a note when
    another process owns it (that one catches up from the store), with a warning when
    it cannot be opened."""
    from aggregator.index.owner import IndexOwner, holder

    try:
        owner = IndexOwner.claim(settings)
    except AggregatorError as exc:
        click.echo(f"warning: harvesting without updating the search index: {exc}", err=True)
        return None
    if owner is None:
        click.echo(f"note: the search index is written by {holder(settings) or 'another process'}"
                   "; it catches up from the store", err=True)
    return owner


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-instance"), show_default=True,
              help="Folder for the demo's own SQLite store (emptied at each run).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the portal on 127.0.0.1 (0 picks a free one).")
@click.option("--no-serve", is_flag=True, help="Harvest and index, then exit without serving.")
@click.pass_obj
def demo(obj: Context, data_dir: Path, port: int, no_serve: bool) -> None:
    """Start a sample network on 127.0.0.1, harvest it and serve the portal (offline)."""
    from aggregator.demo.run import run_demo

    sys.exit(run_demo(obj.settings, data_dir, click.echo, port=None if no_serve else port))


def _register_catalogue_commands() -> None:
    from aggregator.cli_index import index_group, search
    from aggregator.cli_scheduler import scheduler, status
    from aggregator.cli_users import users
    from aggregator.cli_web import serve

    cli.add_command(index_group)
    cli.add_command(search)
    cli.add_command(serve)
    cli.add_command(scheduler)
    cli.add_command(status)
    cli.add_command(users)


_register_catalogue_commands()


def _print_result(result: dict[str, Any]) -> None:
    click.echo(f"{result['source']}: {result['status']} ({result['mode']}) — "
               f"{result['new']} new, {result['updated']} updated, {result['deleted']} deleted, "
               f"{result['unchanged']} unchanged; {result['pages']} pages in "
               f"{result['seconds']:.1f}s")
    for item in result["errors"]:
        click.echo(f"  error: {item['message']}")
    for item in result["warnings"][:10]:
        click.echo(f"  warning: {item['message']}")
    if len(result["warnings"]) > 10:
        click.echo(f"  … and {len(result['warnings']) - 10} more warnings (see --json)")


def _emit(rows: Sequence[Any], as_json: bool, headers: list[str],
          cells: Callable[[Any], tuple[object, ...]]) -> None:
    """Print dataclass rows as one JSON array, or as a table of the chosen cells."""
    if as_json:
        plain = [{k: getattr(r, k) for k in r.__dataclass_fields__} for r in rows]
        click.echo(json.dumps(plain, indent=2, default=str))
    else:
        click.echo(table([cells(r) for r in rows], headers))


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def _with_allow_example(exc: RefusedURL) -> str:
    """A refusal by address, with the setting that would allow it spelt out for the
    command line (the demo's own endpoints are on 127.0.0.1)."""
    if exc.address is None:
        return str(exc)
    import ipaddress

    try:
        prefix = 32 if ipaddress.ip_address(exc.address).version == 4 else 128
    except ValueError:
        return str(exc)
    return (f"{exc} (e.g. AGGREGATOR_ALLOW_NETWORKS={exc.address}/{prefix}, or "
            f"allow_networks = [\"{exc.address}/{prefix}\"] in the settings file)")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: one-line errors, never a traceback."""
    try:
        cli.main(args=argv, prog_name="aggregator", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", EXIT_FAILED)
    except click.UsageError as exc:
        # click's own report is three lines (usage, a hint, "Error: ..."): ours is one
        command = exc.ctx.command_path if exc.ctx is not None else "aggregator"
        fail(f"{exc.format_message().rstrip('.')} (see `{command} --help`)", exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except FetchError as exc:
        fail(str(exc), EXIT_FAILED)
    except RefusedURL as exc:
        fail(_with_allow_example(exc))
    except (AggregatorError, UserInputError) as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"database error: {str(exc).splitlines()[0]}", EXIT_FAILED)
    except KeyboardInterrupt:
        fail("interrupted", 130)


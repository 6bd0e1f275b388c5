"""The `aggregator search` and `aggregator index rebuild|status|sync` commands."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from aggregator.errors import UserInputError
from aggregator.index.model import SearchQuery, SearchResult
from aggregator.index.query import read_years

SORTS = ("relevance", "newest", "oldest", "title")


def parse_years(text: str | None) -> tuple[int | None, int | None]:
    """Read ``2019``, ``2019..2021``, ``..2005`` or ``2019..`` into (from, to).

    Raises:
        UserInputError: anything else, or a range that ends before it starts.
    """
    if not text:
        return None, None
    years = read_years(text)
    if years is None:
        raise UserInputError(f"bad --year {text!r}: use e.g. 2019, 2019..2021, ..2005")
    start, end = years
    if start is not None and end is not None and end < start:
        raise UserInputError(f"bad --year {text!r}: the range ends before it starts")
    return start, end


@click.group("index")
def index_group() -> None:
    """Build and inspect the search index (it follows the store's changes)."""


@index_group.command("rebuild")
@click.option("--renormalise", is_flag=True,
              help="Normalise every record again from its XML first (after an upgrade "
                   "that changes how records are read).")
@click.pass_obj
def index_rebuild(obj: Any, renormalise: bool) -> None:
    """Recluster every record and rebuild the index beside the live one, then swap."""
    from aggregator.index.sync import rebuild_index

    stats = rebuild_index(obj.engine(), obj.settings, renormalise=renormalise)
    again = f", {stats.normalised} normalised from their XML" if stats.normalised else ""
    click.echo(f"indexed {stats.documents} works from {stats.changes} records "
               f"({obj.settings.search_backend}){again} in {stats.seconds:.1f}s")


@index_group.command("sync")
@click.pass_obj
def index_sync(obj: Any) -> None:
    """Cluster the records changed since the last run, then apply the changed clusters
    to the index (unless another process owns the index: it does that itself)."""
    from aggregator.cluster.stage import catch_up
    from aggregator.index.owner import IndexOwner, holder

    engine = obj.engine()
    clustered = catch_up(engine, lease_seconds=obj.settings.lease_seconds)
    if clustered.records:
        click.echo(f"clustered {clustered.records} changed records")
    owner = IndexOwner.claim(obj.settings)
    if owner is None:
        click.echo(f"the search index is written by {holder(obj.settings) or 'another process'}"
                   ", which applies the store's changes itself")
        return
    try:
        stats = owner.sync(engine)
    finally:
        owner.close()
    click.echo(f"applied {stats.changes} cluster changes: {stats.documents} works updated, "
               f"{stats.removed} removed (store change {stats.change_seq})")


@index_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
def index_status_cmd(obj: Any, as_json: bool) -> None:
    """Documents, the last change applied, and how far the index lags behind."""
    from aggregator.index.sync import index_status

    status = index_status(obj.engine(), obj.settings)
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    for key, value in status.items():
        click.echo(f"{key}: {value}")


@index_group.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def index_report(obj: Any, as_json: bool) -> None:
    """How well the catalogue is described: works with a type (and the raw types left
    unmapped), records with a classification, articles with journal details."""
    from aggregator.store.quality import catalogue_report

    with obj.session() as session:
        report = catalogue_report(session)
    data = report.as_json()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"works: {data['works']} (from {data['records']} records)")
    click.echo(f"works with a type: {data['works_typed']} ({data['works_typed_percent']}%); "
               f"records: {data['records_typed']} ({data['records_typed_percent']}%)")
    click.echo(f"records with a classification: {data['records_classified']} "
               f"({data['records_classified_percent']}%)")
    click.echo(f"articles with journal details: {data['articles_with_journal']} of "
               f"{data['articles']} ({data['articles_with_journal_percent']}%)")
    if report.not_normalised:
        click.echo(f"records never normalised: {report.not_normalised} "
                   "(run `aggregator index rebuild --renormalise`)")
    if report.unmapped_types:
        click.echo("commonest raw types of records without a type:")
        for value, count in report.unmapped_types:
            click.echo(f"  {count:6d}  {value}")


@click.command("search")
@click.argument("query", default="")
@click.option("--member", multiple=True, help="Only works held by this member (repeatable).")
@click.option("--type", "type_", multiple=True, help="Only this type, e.g. Thesis (repeatable).")
@click.option("--language", multiple=True, help="Only this language code, e.g. id.")
@click.option("--subject", multiple=True, help="Only this subject (repeatable).")
@click.option("--year", help="A year or a range: 2019, 2019..2021, ..2005, 2019..")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--page", type=click.IntRange(1, 1000), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Hits and facets as one JSON object.")
@click.pass_obj
def search(obj: Any, query: str, member: tuple[str, ...], type_: tuple[str, ...],
           language: tuple[str, ...], subject: tuple[str, ...], year: str | None, sort: str,
           page: int, per_page: int, as_json: bool) -> None:
    """Search the union catalogue: one hit per work, with the members holding it."""
    from aggregator.index.sync import open_index
    from aggregator.store import catalog

    year_from, year_to = parse_years(year)
    if member:  # an unknown slug would filter everything out: say so instead of "0 found"
        with obj.session() as session:
            for slug in member:
                catalog.get_member(session, slug)
    filters = {k: v for k, v in (("member", member), ("type", type_), ("language", language),
                                 ("subject", subject)) if v}
    request = SearchQuery(text=query, filters=filters, year_from=year_from, year_to=year_to,
                          sort=sort, page=page, per_page=per_page,  # type: ignore[arg-type]
                          highlight=False)
    backend = open_index(obj.settings, create=False)
    try:
        result = backend.search(request)
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps(_as_json(result), indent=2, ensure_ascii=False))
    else:
        _print(result, page, per_page)


def _as_json(result: SearchResult) -> dict[str, Any]:
    return {"total": result.total, "took_ms": round(result.took_ms, 2),
            "fallback": result.fallback,
            "hits": [{k: v for k, v in asdict(h).items() if k != "highlights"}
                     for h in result.hits],
            "facets": {name: [list(pair) for pair in values]
                       for name, values in result.facets.items()}}


def _print(result: SearchResult, page: int, per_page: int) -> None:
    note = " (read as plain words)" if result.fallback else ""
    click.echo(f"{result.total} works found in {result.took_ms:.0f} ms{note}")
    for number, hit in enumerate(result.hits, start=(page - 1) * per_page + 1):
        who = "; ".join(hit.creators[:3])
        when = f" ({hit.year})" if hit.year else ""
        kind = f" [{hit.type}]" if hit.type else ""
        click.echo(f"{number:>4}. {hit.title}{when}{kind}")
        if who:
            click.echo(f"      {who}")
        click.echo(f"      held by: {', '.join(hit.members)}")
    for name, values in result.facets.items():
        if values:
            shown = ", ".join(f"{value} ({count})" for value, count in values[:8])
            click.echo(f"{name}: {shown}")

"""Atom feeds of new acquisitions, written with feedgen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from aggregator.store.arrivals import Arrival

MAX_SUMMARY = 600  # characters of the abstract in an entry's summary
MAX_AUTHORS = 10


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What names a feed: its own URL (also its id), its HTML page and its title."""

    self_url: str
    page_url: str
    title: str
    subtitle: str
    author: str
    language: str
    untitled: str = "(untitled)"  # an entry's title when its record has none


def atom_feed(info: FeedInfo, items: Sequence[Arrival], record_url: Callable[[int], str],
              summary: Callable[[Arrival], str]) -> bytes:
    """The Atom document of ``items`` (newest first); entries are identified by the
    absolute URL of their record page, so a reader never shows a work twice."""
    feed = FeedGenerator()
    feed.id(info.self_url)
    feed.title(info.title)
    feed.subtitle(info.subtitle)
    feed.author({"name": info.author})
    feed.link(href=info.self_url, rel="self", type="application/atom+xml")
    feed.link(href=info.page_url, rel="alternate", type="text/html")
    feed.language(info.language)
    feed.generator("aggregator")
    feed.updated(items[0].arrived if items else datetime.now(UTC))  # empty: checked now
    for item in items:
        url = record_url(item.record_id)
        entry = feed.add_entry(order="append")
        entry.id(url)
        entry.title(item.title or info.untitled)
        entry.link(href=url, rel="alternate", type="text/html")
        entry.published(item.arrived)
        entry.updated(item.arrived)
        for name in item.creators[:MAX_AUTHORS]:
            if name.strip():
                entry.author({"name": name.strip()})
        entry.summary(summary(item))
        if item.type:
            entry.category(term=item.type, label=item.type)
    return bytes(feed.atom_str(pretty=True))


def short(text: str, limit: int = MAX_SUMMARY) -> str:
    """``text`` cut at a word boundary near ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut} …"

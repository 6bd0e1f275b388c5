"""The backend registry and the search policy every backend shares (limits, boosts, analysis)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import cast

from aggregator.errors import SearchError
from aggregator.index.highlight import fold
from aggregator.index.model import AnyOf, ParsedQuery, SearchBackend, SearchQuery, Term

#: Backend names, the default first.
BACKENDS = ("tantivy", "whoosh")
#: Where each backend lives (module, class), imported only when asked for.
BACKEND_MODULES = {
    "tantivy": ("aggregator.index.tantivy_backend", "TantivyBackend"),
    "whoosh": ("aggregator.index.whoosh_backend", "WhooshBackend"),
}

#: Seconds a query may run before it fails with SearchTimeout (the portal answers 503).
SEARCH_TIME_LIMIT = 2.0
MAX_PER_PAGE = 100
MAX_PAGE = 1000
#: How long a writer waits for the index lock before giving up with SearchError.
WRITER_TIMEOUT = 10.0
#: The file, in the index folder, that holds the meta saved with each commit.
META_FILE = "aggregator-meta.json"

#: Score weight of each text field. ``text`` (identifiers and leftovers) weighs least so
#: that a match in a real description outranks one in the catch-all.
BOOSTS: dict[str, float] = {
    "title": 3.0,
    "other_titles": 2.0,
    "creators": 2.0,
    "contributors": 1.0,
    "subjects": 1.0,
    "abstract": 1.0,
    "publisher": 1.0,
    "text": 0.5,
}
#: The text fields a ``title:``, ``author:`` or ``subject:`` prefix searches.
FIELD_TARGETS: dict[str, tuple[str, ...]] = {
    "title": ("title", "other_titles"),
    "author": ("creators", "contributors"),
    "subject": ("subjects",),
}
#: The facets a SearchQuery may filter on with exact values (``year`` goes by range).
FILTER_FACETS = ("member", "type", "language", "subject")

_TOKEN = re.compile(r"[^\W_]+")


def open_backend(name: str, path: str | Path, *, create: bool = True) -> SearchBackend:
    """Open the search index in ``path`` with the backend called ``name``.

    The backend module is imported only now, so a deployment needs only its own engine.

    Args:
        name: one of :data:`BACKENDS`.
        path: the index folder.
        create: create an empty index when the folder holds none.

    Raises:
        SearchError: unknown backend, or the index cannot be opened.
    """
    if name not in BACKEND_MODULES:
        raise SearchError(f"unknown search backend {name!r}: choose one of {', '.join(BACKENDS)}")
    module_name, class_name = BACKEND_MODULES[name]
    try:
        backend_class = getattr(import_module(module_name), class_name)
    except ImportError as exc:
        raise SearchError(f"search backend {name!r} is not available: {exc}") from exc
    try:
        return cast(SearchBackend, backend_class(Path(path), create=create))
    except SearchError as exc:
        raise SearchError(f"{exc} (run `aggregator index rebuild`)") from exc
    except (OSError, ValueError) as exc:
        raise SearchError(f"cannot open the {name} index in {path}: {exc} "
                          "(run `aggregator index rebuild`)") from exc


# -- query policy ---------------------------------------------------------------------------


def clamp_paging(query: SearchQuery) -> tuple[int, int]:
    """``(page, per_page)`` within 1..1000 and 1..100."""
    page = min(max(1, query.page), MAX_PAGE)
    per_page = min(max(1, query.per_page), MAX_PER_PAGE)
    return page, per_page


def analyze(text: str) -> list[str]:
    """The index's analysis: words of letters and digits, case and diacritics folded.

    No stemming: records mix Indonesian and English, and an English stemmer mangles
    Indonesian words. Both backends analyse documents and query words this way.
    """
    return _TOKEN.findall(fold(text))


def positive_terms(parsed: ParsedQuery) -> list[str]:
    """The texts of the terms a hit may have matched (for highlighting)."""
    texts: list[str] = []
    for clause in parsed.must:
        options = clause.options if isinstance(clause, AnyOf) else (clause,)
        texts.extend(o.text for o in options if isinstance(o, Term))
    return texts


def sort_title(title: str) -> str:
    """A title's sort key: folded words, so ``Éclair`` sorts with ``eclair``."""
    return " ".join(analyze(title))


def top_counts(counts: Counter[str], limit: int) -> tuple[tuple[str, int], ...]:
    """The ``limit`` most frequent values, ties broken by value."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ranked[: max(0, limit)])


def facet_values(values: Iterable[str]) -> list[str]:
    """Facet values as indexed: stripped, empty ones and repeats dropped."""
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


# -- meta file --------------------------------------------------------------------------------


def write_meta(folder: Path, meta: dict[str, int | str]) -> None:
    """Write ``meta`` next to the index atomically (temporary file, fsync, rename)."""
    fd, temp = tempfile.mkstemp(prefix=".meta-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(meta, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, folder / META_FILE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_meta(folder: Path) -> dict[str, int | str]:
    """The meta saved with the last commit, ``{}`` when there is none.

    Raises:
        SearchError: the file exists but is not a JSON object.
    """
    try:
        data = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SearchError(f"unreadable index meta in {folder}: {exc}") from exc
    if not isinstance(data, dict):
        raise SearchError(f"index meta in {folder} is not a JSON object")
    return {str(k): v for k, v in data.items() if isinstance(v, int | str)}

"""What a repository calls its sets: ``ListSets``, followed through its resumption tokens."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aggregator.errors import HarvestError
from aggregator.harvest.client import OAIClient
from aggregator.harvest.identify import parse_sets
from aggregator.records import Notice

__all__ = ["MAX_SET_PAGES", "SetNames", "list_set_names"]

logger = logging.getLogger(__name__)

MAX_SET_PAGES = 100
"""ListSets pages read at most (DSpace lists 100 sets a page: 10,000 sets)."""


@dataclass(slots=True)
class SetNames:
    """What ``ListSets`` said about a repository's sets.

    Attributes:
        names: setSpec exactly as sent → its setName (``None`` when it has none);
            empty for a repository without sets (``noSetHierarchy``).
        complete: the list was read to its end, so a setSpec missing from ``names``
            has no name; ``False`` when it failed or was cut short (``names`` then
            holds what came before, possibly nothing).
        notices: why it failed or stopped short, as warnings for the run.
    """

    names: dict[str, str | None] = field(default_factory=dict)
    complete: bool = True
    notices: list[Notice] = field(default_factory=list)


def list_set_names(client: OAIClient, *, max_pages: int = MAX_SET_PAGES) -> SetNames:
    """Ask the repository for every set it has and the name it gives each.

    Never raises for what the repository does: ``noSetHierarchy`` is a complete
    answer without sets; a failure (unreachable, HTTP error, broken XML, an OAI error)
    or a list that loops or runs past ``max_pages`` gives an incomplete answer with a
    ``list-sets`` notice.

    Args:
        client: the HTTP client of the repository's base URL.
        max_pages: the most ListSets pages to read.
    """
    result = SetNames()
    seen: set[str] = set()
    token: str | None = None
    for _ in range(max_pages):
        params = {"verb": "ListSets"} if token is None else {"verb": "ListSets",
                                                            "resumptionToken": token}
        try:
            sets, token = parse_sets(client.harvest(**params).content)
        except HarvestError as exc:
            logger.warning("ListSets of %s failed: %s", client.endpoint, exc)
            return _stopped(result, f"ListSets failed ({exc}); the set names already "
                                    "known are kept")
        for found in sets:
            result.names.setdefault(found.spec, found.name or None)
        if token is None:
            return result
        if token in seen:
            return _stopped(result, "ListSets sent a resumption token it had sent before; "
                                    "names of the sets after it are not known")
        seen.add(token)
    return _stopped(result, f"ListSets still had more after {max_pages} pages; names of "
                            "the sets after them are not known")


def _stopped(result: SetNames, message: str) -> SetNames:
    result.complete = False
    result.notices.append(Notice("list-sets", message))
    return result

"""What a member's endpoint offers (prefixes, sets), asked before a source's change is saved.

The admin pages may not import ``harvest`` (imports point down the data flow), so this
module, beside ``pipeline``, is their one way to the endpoint: plain values come back,
and the only exceptions are the documented :class:`~aggregator.errors.HarvestError` ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aggregator.config import Settings
from aggregator.harvest.check import CHECK_DEADLINE
from aggregator.harvest.client import OAIClient
from aggregator.harvest.identify import parse_metadata_formats, parse_sets

__all__ = ["EndpointOffer", "endpoint_offer"]

MAX_SET_PAGES = 20  # ListSets pages read to find a set before giving up on the list


@dataclass(frozen=True, slots=True)
class EndpointOffer:
    """What an endpoint says it offers: its metadata prefixes and whether it has a set.

    Attributes:
        prefixes: the prefixes ListMetadataFormats lists.
        has_set: whether ListSets lists the set asked about (``None``: no set was asked).
        sets_supported: False when the endpoint answered ``noSetHierarchy``.
    """

    prefixes: frozenset[str]
    has_set: bool | None
    sets_supported: bool


def endpoint_offer(base_url: str, settings: Settings, set_spec: str = "") -> EndpointOffer:
    """Ask an endpoint (ListMetadataFormats, then ListSets when ``set_spec`` is given)
    what it offers, with the short retries and deadline of :func:`check_endpoint`.

    Raises:
        FetchError: the endpoint cannot be reached.
        HarvestError: an answer is not OAI-PMH, or is an OAI error other than
            ``noSetHierarchy``.
    """
    settings = replace(settings, max_retries=min(settings.max_retries, 1),
                       request_deadline=min(settings.request_deadline, CHECK_DEADLINE))
    with OAIClient(base_url, settings) as client:
        formats = parse_metadata_formats(client.harvest(verb="ListMetadataFormats").content)
        prefixes = frozenset(f.prefix for f in formats)
        if not set_spec:
            return EndpointOffer(prefixes, None, True)
        answer = client.harvest(verb="ListSets")
        for _page in range(MAX_SET_PAGES):
            sets, token = parse_sets(answer.content)
            if any(s.spec == set_spec for s in sets):
                return EndpointOffer(prefixes, True, True)
            if not sets and not token and _page == 0:
                return EndpointOffer(prefixes, False, False)
            if not token:
                break
            answer = client.harvest(verb="ListSets", resumptionToken=token)
    return EndpointOffer(prefixes, False, True)

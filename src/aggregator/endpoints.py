"""The web side's one way to an endpoint: the check of a registered URL, the probe of
``/register`` and what an endpoint offers (prefixes, sets) before a source's change is
saved.

The web views may not import ``harvest`` (imports point down the data flow), so this
module, beside ``pipeline``, is their way there: plain values come back, and the only
exceptions are the documented :class:`~aggregator.errors.HarvestError` and
:class:`~aggregator.errors.RefusedURL` ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from aggregator.config import Settings
from aggregator.harvest.check import CHECK_DEADLINE, probe_endpoint
from aggregator.harvest.client import OAIClient
from aggregator.harvest.identify import parse_metadata_formats, parse_sets
from aggregator.harvest.registration import check_registered_url

__all__ = ["EndpointOffer", "endpoint_offer", "probe", "registrable_url"]

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


def registrable_url(url: str, settings: Settings) -> str:
    """The URL as it is stored, when it may be registered (see
    :func:`~aggregator.harvest.registration.check_registered_url`).

    Raises:
        RefusedURL: it may not: http(s) only, and no loopback, private, link-local or
            multicast address unless ``allow_networks`` opens it.
    """
    return check_registered_url(url, settings.allowed_networks)


def probe(url: str, settings: Settings) -> dict[str, Any]:
    """The report of ``aggregator check`` on ``url``, as JSON (``base_url`` is the URL
    as it would be stored). A refused URL or an endpoint that cannot be probed is a
    report with one error finding, never an exception."""
    return probe_endpoint(url, settings).as_json()

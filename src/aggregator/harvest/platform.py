"""Which software answers at an endpoint (SLiMS, OJS, EPrints, DSpace, Koha), told from
the evidence its answers give, so advice can name the platform's real settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aggregator.harvest.model import Description

__all__ = ["PLATFORMS", "SHIPPED_ADMIN_EMAILS", "SHIPPED_NAMES", "UNCONFIGURED_POLICY",
           "UNKNOWN", "Evidence", "PlatformGuess", "detect_platform"]

PLATFORMS = ("slims", "ojs", "eprints", "dspace", "koha")
UNKNOWN = "unknown"
MIN_SCORE = 2  # one medium clue, or a strong one; weak clues only add up

# What installs that were never configured answer (PLATFORMS.md, the platforms' sources).
SHIPPED_NAMES = {
    "DSpace at My University": "dspace",
    "SLiMS Senayan Library Management System Repository": "slims",
}
SHIPPED_ADMIN_EMAILS = {"admin@slims.web.id": "slims"}
UNCONFIGURED_POLICY = "has not yet been fully configured"  # EPrints' cfg.d/oai.pl text


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an endpoint said about itself, in plain values.

    Attributes:
        base_url: the URL asked (its path is a clue: ``/cgi/oai2``, ``/oai/request`` ...).
        repository_name: Identify's ``repositoryName``.
        admin_emails: Identify's ``adminEmail`` values.
        descriptions: Identify's description containers.
        granularity: Identify's ``granularity`` as sent.
        earliest_datestamp: Identify's ``earliestDatestamp`` as sent.
        identifiers: record identifiers of the sample page.
        set_specs: setSpecs from ListSets and from the sample's headers.
        token: the sample page's resumption token.
    """

    base_url: str
    repository_name: str | None = None
    admin_emails: tuple[str, ...] = ()
    descriptions: tuple[Description, ...] = ()
    granularity: str | None = None
    earliest_datestamp: str | None = None
    identifiers: tuple[str, ...] = ()
    set_specs: tuple[str, ...] = ()
    token: str | None = None

    @property
    def path(self) -> str:
        """The base URL's path, lower-cased, without a trailing slash."""
        return urlsplit(self.base_url).path.lower().rstrip("/")

    def description_text(self) -> str:
        """Every description's namespace, name and text, lower-cased, in one string."""
        return " ".join(f"{d.namespace} {d.name} {d.text}" for d in self.descriptions).lower()


@dataclass(frozen=True, slots=True)
class PlatformGuess:
    """The platform an endpoint most likely runs, and the clues that said so.

    Attributes:
        name: one of :data:`PLATFORMS`, or :data:`UNKNOWN`.
        clues: short stable keys of the clues found for it (``path:/cgi/oai2`` ...).
    """

    name: str
    clues: tuple[str, ...] = ()


Test = Callable[[Evidence], bool]


def _any_id(pattern: str) -> Test:
    compiled = re.compile(pattern)
    return lambda e: any(compiled.search(i) for i in e.identifiers)


def _any_set(pattern: str) -> Test:
    compiled = re.compile(pattern)
    return lambda e: any(compiled.fullmatch(s) for s in e.set_specs)


def _path(pattern: str) -> Test:
    compiled = re.compile(pattern)
    return lambda e: bool(compiled.search(e.path))


def _described(*needles: str) -> Test:
    return lambda e: any(n in e.description_text() for n in needles)


def _toolkit(*needles: str) -> Test:
    """A VT ``toolkit`` description (title, version, URL) naming the software."""
    return lambda e: any(d.name == "toolkit" and any(n in d.text.lower() for n in needles)
                         for d in e.descriptions)


def _named(*needles: str) -> Test:
    return lambda e: any(n in (e.repository_name or "").lower() for n in needles)


def _token(pattern: str) -> Test:
    compiled = re.compile(pattern)
    return lambda e: bool(e.token and compiled.fullmatch(e.token))


def _hex_sets(e: Evidence) -> bool:
    """EPrints writes each setSpec level as the hex of ``field=value`` (``status=pub``)."""
    for spec in e.set_specs:
        first = spec.split(":", 1)[0]
        if len(first) % 2 == 0 and re.fullmatch(r"[0-9A-Fa-f]{6,}", first):
            try:
                if "=" in bytes.fromhex(first).decode("utf-8"):
                    return True
            except UnicodeDecodeError:
                continue
    return False


def _koha_defaults(e: Evidence) -> bool:
    """Koha hard-codes day granularity, earliestDatestamp 0001-01-01 and no description."""
    return (e.granularity == "YYYY-MM-DD" and (e.earliest_datestamp or "").startswith("0001")
            and not e.descriptions)


# (platform, weight, clue key, test): 3 is a clue only that platform gives, 2 a shape it
# is known for, 1 a hint that other software may share.
RULES: tuple[tuple[str, int, str, Test], ...] = (
    ("slims", 3, "identifier:oai:slims/", _any_id(r"^oai:slims/")),
    ("slims", 3, "name:SLiMS", _named("slims", "senayan")),
    ("slims", 2, "admin-email:slims.web.id",
     lambda e: any(m.lower().endswith("@slims.web.id") for m in e.admin_emails)),
    ("slims", 1, "path:oai.php", _path(r"/oai2?\.php$")),
    ("slims", 1, "token:prefix/offset", _token(r"[A-Za-z0-9_]+/\d+")),
    ("ojs", 3, "toolkit:PKP", _toolkit("open journal systems", "open preprint systems",
                                       "open monograph press", "pkp.sfu.ca")),
    ("ojs", 3, "identifier:oai:ojs.pkp.sfu.ca:", _any_id(r"^oai:ojs\.pkp\.sfu\.ca:")),
    ("ojs", 2, "identifier:article/N", _any_id(r"^oai:[^:]+:(article|preprint)/\d+$")),
    ("ojs", 2, "path:/index.php/<journal>/oai", _path(r"/index(\.php)?(/[^/]+)?/oai$")),
    ("ojs", 1, "set:journal:SECTION", _any_set(r"[a-z0-9_-]+:[A-Z0-9%_.-]+")),
    ("eprints", 3, "description:eprints software",
     _described("eprints server software", "generic.eprints.org")),
    ("eprints", 3, "path:/cgi/oai2", _path(r"/cgi/oai2$")),
    ("eprints", 3, "identifier:oai:generic.eprints.org:", _any_id(r"^oai:generic\.eprints\.org:")),
    ("eprints", 2, "set:hex", _hex_sets),
    ("eprints", 1, "identifier:oai:host:N", _any_id(r"^oai:[^:/]+\.[^:/]+:\d+$")),
    ("dspace", 3, "set:com_/col_", _any_set(r"(com|col)_\d+(\.\d+)*_\d+")),
    ("dspace", 3, "path:/server/oai/request", _path(r"/server/oai/(request|driver|openaire4?)$")),
    ("dspace", 2, "path:/oai/request", _path(r"/oai/(request|driver|openaire4?)$")),
    ("dspace", 2, "identifier:handle", _any_id(r"^(oai:[^:]+:|hdl:)\d+(\.\d+)*/\d+$")),
    ("dspace", 2, "name:DSpace", _named("dspace")),
    ("dspace", 1, "token:prefix/from/until/set/offset", _token(r"[^/]+/[^/]*/[^/]*/[^/]*/\d+.*")),
    ("koha", 3, "path:/cgi-bin/koha/oai.pl", _path(r"/cgi-bin/koha/oai\.pl$")),
    ("koha", 3, "identifier:KOHA-OAI-TEST:", _any_id(r"^KOHA-OAI-TEST:")),
    ("koha", 2, "path:oai.pl", _path(r"/oai\.pl$")),
    ("koha", 1, "identifier:archiveID:N", _any_id(r"^(?!oai:)[^:/]+:\d+$")),
    ("koha", 1, "identify:day-granularity-0001", _koha_defaults),
    ("koha", 1, "token:prefix/offset/from/until", _token(r"[A-Za-z0-9_]+/\d+/[^/]*/[^/]*(/.*)?")),
)


def detect_platform(evidence: Evidence) -> PlatformGuess:
    """Name the platform with the strongest clues, or ``unknown``.

    Each platform's clue weights are added up; the best one wins when it reaches
    :data:`MIN_SCORE` and no other platform scores as much (a tie is ``unknown``).
    """
    scores = dict.fromkeys(PLATFORMS, 0)
    clues: dict[str, list[str]] = {p: [] for p in PLATFORMS}
    for platform, weight, key, test in RULES:
        if test(evidence):
            scores[platform] += weight
            clues[platform].append(key)
    ranked = sorted(PLATFORMS, key=lambda p: scores[p], reverse=True)
    best, second = ranked[0], ranked[1]
    if scores[best] < MIN_SCORE or scores[best] == scores[second]:
        return PlatformGuess(UNKNOWN)
    return PlatformGuess(best, tuple(clues[best]))

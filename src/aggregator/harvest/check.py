"""`aggregator check`: probe an endpoint and report what its manager should fix."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from aggregator.config import Settings
from aggregator.errors import (
    BlockedAddress,
    FetchError,
    HarvestError,
    MalformedXML,
    NotOAIResponse,
    OAIProtocolError,
    RefusedURL,
    ResponseTooLarge,
    RetryLater,
    WrongAnswer,
)
from aggregator.harvest.client import OAIClient
from aggregator.harvest.dates import normalise_granularity, parse_datestamp
from aggregator.harvest.findings import CheckFinding, notice_code
from aggregator.harvest.identify import parse_identify, parse_metadata_formats, parse_sets
from aggregator.harvest.model import IdentifyInfo, ListPage, MetadataFormat, SetInfo
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.platform import (
    SHIPPED_ADMIN_EMAILS,
    SHIPPED_NAMES,
    UNCONFIGURED_POLICY,
    UNKNOWN,
    Evidence,
    detect_platform,
)
from aggregator.harvest.registration import check_registered_url

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
VALID_GRANULARITIES = ("YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ")
# Identifier shapes shipped by platforms' default configuration: they collide across
# every installation that never changed them (QUIRKS.md #24).
PLACEHOLDER_IDS = (
    (re.compile(r"oai:ojs\.pkp\.sfu\.ca:"), "ojs",
     "the stock OJS repository_id 'ojs.pkp.sfu.ca'; set [oai] repository_id in "
     "config.inc.php to your own host name"),
    (re.compile(r"oai:slims/"), "slims",
     "the stock SLiMS prefix 'oai:slims/', shared by every SLiMS install"),
    (re.compile(r"KOHA-OAI-TEST:"), "koha",
     "Koha's shipped OAI-PMH:archiveID 'KOHA-OAI-TEST'; set your own"),
    # oai:<host>:123456789/42, hdl:123456789/42 and handle URLs alike
    (re.compile(r"[:/]123456789/"), "dspace",
     "DSpace's test handle prefix 123456789; register a real handle prefix"),
    (re.compile(r"oai:generic\.eprints\.org:"), "eprints",
     "EPrints' shipped archive_id 'generic.eprints.org'; set $oai->{v2}->{archive_id} in "
     "cfg.d/oai.pl to your host name"),
)


@dataclass(slots=True)
class CheckReport:
    """The result of probing one endpoint.

    Attributes:
        base_url: the URL probed.
        findings: the problems found, in the order found, each with a stable code.
        info: facts about the endpoint (repository name, sizes, ``platform`` ...).
    """

    base_url: str
    findings: list[CheckFinding] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        """The English messages of the errors (harvesting cannot work, or loses data)."""
        return [f.message for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[str]:
        """The English messages of the warnings."""
        return [f.message for f in self.findings if f.severity == "warning"]

    def error(self, code: str, message: str, sample: str | None = None) -> None:
        """Add an error finding."""
        self.findings.append(CheckFinding("error", code, message, sample))

    def warn(self, code: str, message: str, sample: str | None = None, *,
             platform: str | None = None) -> None:
        """Add a warning finding (``platform``: whose shipped default it is about)."""
        self.findings.append(CheckFinding("warning", code, message, sample, platform))

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict: ``errors`` and ``warnings`` are the
        English messages; ``findings`` carry the same in order with their codes."""
        return {"base_url": self.base_url, "ok": not self.errors,
                "platform": self.info.get("platform", UNKNOWN), "errors": self.errors,
                "warnings": self.warnings, "findings": [f.as_json() for f in self.findings],
                "info": self.info}

CHECK_DEADLINE = 60.0  # seconds each request of `aggregator check` may take


def check_endpoint(base_url: str, settings: Settings, prefix: str | None = None) -> CheckReport:
    """Probe Identify, ListMetadataFormats, ListSets and one page of records, and tell
    the platform from what they say (``info["platform"]``).

    Raises:
        FetchError: the endpoint cannot be reached at all.
        HarvestError: Identify does not answer with OAI-PMH.
    """
    report = CheckReport(base_url)
    # a manager waits for this answer: retry a transient failure once, not for minutes,
    # and give each request a minute at most
    settings = replace(settings, max_retries=min(settings.max_retries, 1),
                       request_deadline=min(settings.request_deadline, CHECK_DEADLINE))
    with OAIClient(base_url, settings) as client:
        identify = parse_identify(client.harvest(verb="Identify").content)
        _check_identify(report, identify, base_url)
        formats = _probe(report, "ListMetadataFormats", lambda: parse_metadata_formats(
            client.harvest(verb="ListMetadataFormats").content))
        chosen = _choose_prefix(report, formats or [], prefix)
        sets = _probe(report, "ListSets", lambda: parse_sets(
            client.harvest(verb="ListSets").content))
        if sets is not None:
            report.info["sets"] = len(sets[0]) if not sets[1] else f"more than {len(sets[0])}"
        page = _probe(report, "ListRecords", lambda: parse_list_page(
            client.harvest(verb="ListRecords", metadataPrefix=chosen).content))
        if page is not None:
            _check_page(report, page, identify)
    _detect_platform(report, identify, sets[0] if sets else [], page)
    return report


def probe_endpoint(url: str, settings: Settings, prefix: str | None = None) -> CheckReport:
    """Check a URL as typed and probe it; every failure becomes the report's one error.

    What the web form calls: the URL goes through
    :func:`~aggregator.harvest.registration.check_registered_url` first (with
    ``settings.allowed_networks``), then :func:`check_endpoint`; a refused URL or an
    endpoint that cannot be probed is a report with one ``error`` finding (code
    ``refused-url``, ``unreachable``, ``not-oai`` ...) instead of an exception.
    """
    try:
        url = check_registered_url(url, settings.allowed_networks)
    except RefusedURL as exc:
        return failed_report(url.strip(), exc)
    try:
        return check_endpoint(url, settings, prefix)
    except HarvestError as exc:
        return failed_report(url, exc)


def failed_report(base_url: str, exc: HarvestError | RefusedURL) -> CheckReport:
    """The report of a probe that could not go on: one error finding with its code."""
    guess = detect_platform(Evidence(base_url))  # the URL's path may be all there is
    report = CheckReport(base_url, info={"platform": guess.name,
                                         "platform_clues": list(guess.clues)})
    code, sample = _failure(exc)
    report.error(code, str(exc), sample)
    return report


def _failure(exc: HarvestError | RefusedURL) -> tuple[str, str | None]:
    """The code (and sample) of the error that stopped a probe."""
    if isinstance(exc, RefusedURL):
        return "refused-url", exc.cause
    kinds: tuple[tuple[type[Exception], str], ...] = (
        (BlockedAddress, "blocked-address"), (RetryLater, "retry-later"),
        (ResponseTooLarge, "response-too-large"), (NotOAIResponse, "not-oai"),
        (WrongAnswer, "wrong-verb"), (MalformedXML, "malformed-xml"))
    for kind, code in kinds:
        if isinstance(exc, kind):
            return code, None
    if isinstance(exc, OAIProtocolError):
        return "identify-error", exc.code
    if isinstance(exc, FetchError):
        return ("http-error", str(exc.status)) if exc.status else ("unreachable", None)
    return "verb-failed", "Identify"


def _probe(report: CheckReport, verb: str, call: Any) -> Any:
    try:
        return call()
    except OAIProtocolError as exc:
        if verb == "ListSets" and exc.code == "noSetHierarchy":
            return [], None
        report.error("oai-error", f"{verb} answered with an OAI error: {exc}", verb)
    except FetchError:
        raise
    except HarvestError as exc:
        report.error("verb-failed", f"{verb} failed: {exc}", verb)
    return None


def _check_identify(report: CheckReport, info: IdentifyInfo, base_url: str) -> None:
    report.info.update({
        "repository_name": info.repository_name, "granularity": info.granularity,
        "earliest_datestamp": info.earliest_datestamp, "deleted_record": info.deleted_record,
        "protocol_version": info.protocol_version, "admin_emails": info.admin_emails})
    for notice in info.notices:
        report.warn(notice_code(notice.code), notice.message, notice.sample)
    if not info.repository_name:
        report.warn("identify-missing", "Identify has no repositoryName", "repositoryName")
    if info.protocol_version != "2.0":
        report.error("bad-protocol-version",
                     f"protocolVersion is {info.protocol_version!r}, not '2.0'",
                     info.protocol_version)
    if info.granularity not in VALID_GRANULARITIES:
        report.warn("bad-granularity", f"granularity {info.granularity!r} is not one of "
                    f"{' or '.join(VALID_GRANULARITIES)}; harvesting by days", info.granularity)
    if not (info.earliest_datestamp or "").strip():
        report.warn("empty-earliest-datestamp", "earliestDatestamp is empty; it should be the "
                    "datestamp of the oldest record")
    elif parse_datestamp(info.earliest_datestamp) is None:
        report.warn("bad-earliest-datestamp",
                    f"earliestDatestamp {info.earliest_datestamp!r} is not a date",
                    info.earliest_datestamp)
    if info.base_url and info.base_url.rstrip("/") != base_url.rstrip("/"):
        report.warn("base-url-mismatch", f"Identify says baseURL is {info.base_url!r}, but it "
                    f"was asked at {base_url!r}", info.base_url)
    _check_shipped_defaults(report, info)


def _check_shipped_defaults(report: CheckReport, info: IdentifyInfo) -> None:
    """Warn about settings left at what the platform ships: nobody changed them, and the
    network cannot tell such members apart or reach their manager."""
    name = info.repository_name or ""
    if name in SHIPPED_NAMES:
        report.warn("default-repository-name", f"repositoryName {name!r} is the platform's "
                    "shipped default, not the library's name", name,
                    platform=SHIPPED_NAMES[name])
    for email in info.admin_emails:
        shipped = SHIPPED_ADMIN_EMAILS.get(email.lower().removeprefix("mailto:"))
        if shipped:
            report.warn("default-admin-email", f"adminEmail {email!r} is the platform's "
                        "shipped default; nobody at the library receives it", email,
                        platform=shipped)
    if any(UNCONFIGURED_POLICY in d.text.lower() for d in info.descriptions):
        report.warn("default-policy", "the metadata or data policy in Identify is the "
                    "platform's 'not yet configured' text", platform="eprints")


def _choose_prefix(report: CheckReport, formats: list[MetadataFormat],
                   prefix: str | None) -> str:
    report.info["metadata_formats"] = [f.prefix for f in formats]
    if formats and not any(f.namespace == OAI_DC_NS or f.prefix == "oai_dc" for f in formats):
        report.error("no-oai-dc", "oai_dc is not offered; OAI-PMH requires it")
    if prefix:
        if formats and prefix not in {f.prefix for f in formats}:
            report.error("prefix-not-listed", f"metadataPrefix {prefix!r} is not listed by "
                         "ListMetadataFormats", prefix)
        return prefix
    return "oai_dc"


def _check_page(report: CheckReport, page: ListPage, identify: IdentifyInfo) -> None:
    records = page.records
    report.info["sample_records"] = len(records)
    if page.complete_list_size is not None:
        report.info["estimated_size"] = page.complete_list_size
    elif not page.token:
        report.info["estimated_size"] = len(records) + page.header_only
    else:
        report.info["estimated_size"] = None
        report.warn("no-complete-list-size", "the resumptionToken carries no completeListSize, "
                    "so the size of the repository is unknown")
    for notice in page.notices:
        report.warn(notice_code(notice.code), f"{notice.message}" + (
            f" [{notice.sample}]" if notice.sample else ""), notice.sample)
    for pattern, platform, advice in PLACEHOLDER_IDS:
        matching = [r.identifier for r in records if pattern.search(r.identifier)]
        if matching:
            report.warn("placeholder-identifier", f"{len(matching)} identifiers use {advice} "
                        f"(e.g. {matching[0]})", matching[0], platform=platform)
    no_stamp = sum(1 for r in records if not r.datestamp)
    if no_stamp:
        report.error("missing-datestamp", f"{no_stamp} records have no datestamp; incremental "
                     "harvesting cannot find their changes", str(no_stamp))
    _check_datestamps(report, page, identify)
    if not records and page.no_records_match:
        report.warn("empty-repository", "ListRecords says noRecordsMatch: the repository is "
                    "empty")


def _check_datestamps(report: CheckReport, page: ListPage, identify: IdentifyInfo) -> None:
    declared = normalise_granularity(identify.granularity)
    shapes: Counter[str] = Counter()
    invalid = []
    for record in page.records:
        parsed = parse_datestamp(record.datestamp)
        if parsed is None or not parsed.valid:
            if record.datestamp:
                invalid.append(record.datestamp)
            continue
        shapes[parsed.granularity] += 1
    if invalid:
        report.error("bad-datestamp", f"{len(invalid)} datestamps are not UTC ISO 8601 "
                     f"(YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ), e.g. {invalid[0]!r}", invalid[0])
    other = "day" if declared == "seconds" else "seconds"
    if shapes[other]:
        report.warn("granularity-mismatch", f"{shapes[other]} datestamps have {other} "
                    f"granularity but Identify declares {identify.granularity!r}", other)


def _detect_platform(report: CheckReport, identify: IdentifyInfo, sets: list[SetInfo],
                     page: ListPage | None) -> None:
    """Put the platform the answers point to in ``info`` (``platform``, ``platform_clues``)."""
    records = page.records if page is not None else []
    specs = [s.spec for s in sets] + [spec for r in records for spec in r.set_specs]
    guess = detect_platform(Evidence(
        base_url=report.base_url, repository_name=identify.repository_name,
        admin_emails=tuple(identify.admin_emails), descriptions=tuple(identify.descriptions),
        granularity=identify.granularity, earliest_datestamp=identify.earliest_datestamp,
        identifiers=tuple(r.identifier for r in records), set_specs=tuple(dict.fromkeys(specs)),
        token=page.token if page is not None else None))
    report.info["platform"] = guess.name
    report.info["platform_clues"] = list(guess.clues)

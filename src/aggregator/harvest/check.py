"""`aggregator check`: probe an endpoint and report what its manager should fix."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from aggregator.config import Settings
from aggregator.errors import FetchError, HarvestError, OAIProtocolError
from aggregator.harvest.client import OAIClient
from aggregator.harvest.dates import normalise_granularity, parse_datestamp
from aggregator.harvest.identify import parse_identify, parse_metadata_formats, parse_sets
from aggregator.harvest.model import IdentifyInfo, ListPage, MetadataFormat
from aggregator.harvest.parse import parse_list_page

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
VALID_GRANULARITIES = ("YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ")
# Identifier shapes shipped by platforms' default configuration: they collide across
# every installation that never changed them (QUIRKS.md #24).
PLACEHOLDER_IDS = (
    ("oai:ojs.pkp.sfu.ca:", "the stock OJS repository_id 'ojs.pkp.sfu.ca'; set [oai] "
                            "repository_id in config.inc.php to your own host name"),
    ("oai:slims/", "the stock SLiMS prefix 'oai:slims/', shared by every SLiMS install"),
    ("KOHA-OAI-TEST:", "Koha's shipped OAI-PMH:archiveID 'KOHA-OAI-TEST'; set your own"),
    ("/123456789/", "DSpace's test handle prefix 123456789; register a real handle prefix"),
)


@dataclass(slots=True)
class CheckReport:
    """The result of probing one endpoint."""

    base_url: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {"base_url": self.base_url, "ok": not self.errors, "errors": self.errors,
                "warnings": self.warnings, "info": self.info}

CHECK_DEADLINE = 60.0  # seconds each request of `aggregator check` may take


def check_endpoint(base_url: str, settings: Settings, prefix: str | None = None) -> CheckReport:
    """Probe Identify, ListMetadataFormats, ListSets and one page of records.

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
    return report


def _probe(report: CheckReport, verb: str, call: Any) -> Any:
    try:
        return call()
    except OAIProtocolError as exc:
        if verb == "ListSets" and exc.code == "noSetHierarchy":
            return [], None
        report.errors.append(f"{verb} answered with an OAI error: {exc}")
    except FetchError:
        raise
    except HarvestError as exc:
        report.errors.append(f"{verb} failed: {exc}")
    return None


def _check_identify(report: CheckReport, info: IdentifyInfo, base_url: str) -> None:
    report.info.update({
        "repository_name": info.repository_name, "granularity": info.granularity,
        "earliest_datestamp": info.earliest_datestamp, "deleted_record": info.deleted_record,
        "protocol_version": info.protocol_version, "admin_emails": info.admin_emails})
    report.warnings.extend(n.message for n in info.notices)
    if not info.repository_name:
        report.warnings.append("Identify has no repositoryName")
    if info.protocol_version != "2.0":
        report.errors.append(f"protocolVersion is {info.protocol_version!r}, not '2.0'")
    if info.granularity not in VALID_GRANULARITIES:
        report.warnings.append(f"granularity {info.granularity!r} is not one of "
                               f"{' or '.join(VALID_GRANULARITIES)}; harvesting by days")
    if not (info.earliest_datestamp or "").strip():
        report.warnings.append("earliestDatestamp is empty; it should be the datestamp of "
                               "the oldest record")
    elif parse_datestamp(info.earliest_datestamp) is None:
        report.warnings.append(f"earliestDatestamp {info.earliest_datestamp!r} is not a date")
    if info.base_url and info.base_url.rstrip("/") != base_url.rstrip("/"):
        report.warnings.append(f"Identify says baseURL is {info.base_url!r}, but it was "
                               f"asked at {base_url!r}")


def _choose_prefix(report: CheckReport, formats: list[MetadataFormat],
                   prefix: str | None) -> str:
    report.info["metadata_formats"] = [f.prefix for f in formats]
    if formats and not any(f.namespace == OAI_DC_NS or f.prefix == "oai_dc" for f in formats):
        report.errors.append("oai_dc is not offered; OAI-PMH requires it")
    if prefix:
        if formats and prefix not in {f.prefix for f in formats}:
            report.errors.append(f"metadataPrefix {prefix!r} is not listed by "
                                 "ListMetadataFormats")
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
        report.warnings.append("the resumptionToken carries no completeListSize, so the "
                               "size of the repository is unknown")
    for notice in page.notices:
        report.warnings.append(f"{notice.message}" + (f" [{notice.sample}]"
                                                      if notice.sample else ""))
    for start, advice in PLACEHOLDER_IDS:
        matching = [r.identifier for r in records if start in r.identifier]
        if matching:
            report.warnings.append(f"{len(matching)} identifiers use {advice} "
                                   f"(e.g. {matching[0]})")
    no_stamp = sum(1 for r in records if not r.datestamp)
    if no_stamp:
        report.errors.append(f"{no_stamp} records have no datestamp; incremental harvesting "
                             "cannot find their changes")
    _check_datestamps(report, page, identify)
    if not records and page.no_records_match:
        report.warnings.append("ListRecords says noRecordsMatch: the repository is empty")


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
        report.errors.append(f"{len(invalid)} datestamps are not UTC ISO 8601 "
                             f"(YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ), e.g. {invalid[0]!r}")
    other = "day" if declared == "seconds" else "seconds"
    if shapes[other]:
        report.warnings.append(f"{shapes[other]} datestamps have {other} granularity but "
                               f"Identify declares {identify.granularity!r}")

"""The findings of `aggregator check`: one value per problem, each with a stable code
that machines (the web form, translations) can rely on next to its English text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["NOTICE_CODES", "REPORT_CODES", "CheckFinding", "notice_code"]

# Every code a report can carry, with what it means. A test makes sure each one has a
# plain-language explanation in every language of the admin pages.
REPORT_CODES: dict[str, str] = {
    # the probe could not go on
    "refused-url": "the URL may not be registered (RefusedURL; the sample is its cause)",
    "unreachable": "no connection: DNS, refused, timed out, TLS",
    "http-error": "the server answered with an HTTP error status",
    "blocked-address": "the URL or a redirect leads to a forbidden network",
    "retry-later": "the server asked to come back much later",
    "response-too-large": "an answer exceeded max_response_bytes",
    "not-oai": "the answer is not OAI-PMH (an HTML page, JSON, nothing)",
    "malformed-xml": "the answer is not well-formed XML, even after repair",
    "identify-error": "Identify answered with an OAI-PMH error",
    "wrong-verb": "Identify was answered with another verb's answer",
    # Identify
    "bad-protocol-version": "protocolVersion is not 2.0",
    "identify-missing": "Identify leaves out a required element (the sample names it)",
    "bad-granularity": "granularity is not one of the two OAI values",
    "empty-earliest-datestamp": "earliestDatestamp is empty",
    "bad-earliest-datestamp": "earliestDatestamp is not a date",
    "base-url-mismatch": "Identify's baseURL differs from the URL asked",
    "default-repository-name": "repositoryName is the platform's shipped default",
    "default-admin-email": "adminEmail is the platform's shipped default",
    "default-policy": "the metadata/data policy is the platform's 'not configured' text",
    "identify-repository-name": "repositoryName is repeated",
    "identify-earliest-datestamp": "earliestDatestamp is missing or not an OAI datestamp",
    "identify-granularity": "granularity is not one of the two OAI values (parser)",
    "identify-admin-email": "adminEmail carries a mailto: prefix",
    "identify-deleted-record": "deletedRecord is not no/transient/persistent",
    "identify-repository-identifier": "the oai-identifier repositoryIdentifier is malformed",
    # the other verbs
    "oai-error": "a verb answered with an OAI-PMH error (the sample is the verb)",
    "verb-failed": "a verb's answer could not be read (the sample is the verb)",
    "no-oai-dc": "oai_dc is not offered",
    "prefix-not-listed": "the metadataPrefix asked for is not listed",
    # the sample page
    "no-complete-list-size": "the resumptionToken has no completeListSize",
    "placeholder-identifier": "identifiers use a platform's shipped placeholder prefix",
    "missing-datestamp": "records have no datestamp",
    "bad-datestamp": "datestamps are not UTC ISO 8601",
    "granularity-mismatch": "datestamps have another granularity than Identify declares",
    "empty-repository": "ListRecords says noRecordsMatch",
    # what the parser met in an answer (passed on with their own codes)
    "repaired-xml": "an answer was not well-formed and was repaired",
    "no-namespace": "OAI-PMH elements carry no namespace",
    "leading-junk": "bytes before the XML document",
    "trailing-junk": "bytes after the XML document",
    "salvaged-page": "a broken page was read record by record",
    "bad-record": "a record could not be read",
    "missing-identifier": "a record has no identifier",
    "header-only": "live records came without metadata",
    "provenance-ignored": "a record's provenance is not a valid originDescription",
    "other-notice": "anything else the parser noted",
}

NOTICE_CODES = frozenset({
    "identify-missing", "identify-repository-name", "identify-earliest-datestamp",
    "identify-granularity", "identify-admin-email", "identify-deleted-record",
    "identify-repository-identifier", "repaired-xml", "no-namespace", "leading-junk",
    "trailing-junk", "salvaged-page", "bad-record", "missing-identifier", "header-only",
    "provenance-ignored",
})


def notice_code(code: str) -> str:
    """The report code for a parser notice: its own when known, else ``other-notice``."""
    return code if code in NOTICE_CODES else "other-notice"


@dataclass(frozen=True, slots=True)
class CheckFinding:
    """One problem found by `aggregator check`.

    Attributes:
        severity: ``error`` (harvesting cannot work or loses data) or ``warning``.
        code: a key of :data:`REPORT_CODES`.
        message: one English sentence, as `aggregator check` prints it.
        sample: the value concerned (an identifier, a verb, an element name), if any.
        platform: for a value a platform ships (a placeholder identifier, a default
            name), that platform, whatever the endpoint turned out to run.
    """

    severity: str
    code: str
    message: str
    sample: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        if self.code not in REPORT_CODES:
            raise ValueError(f"unknown report code {self.code!r}; add it to REPORT_CODES")
        if self.severity not in ("error", "warning"):
            raise ValueError(f"unknown severity {self.severity!r}")

    def as_json(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dict (without an empty sample)."""
        out: dict[str, Any] = {"severity": self.severity, "code": self.code,
                               "message": self.message}
        if self.sample:
            out["sample"] = self.sample
        if self.platform:
            out["platform"] = self.platform
        return out

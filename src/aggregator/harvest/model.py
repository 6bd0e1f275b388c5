"""Plain values describing parsed OAI-PMH responses (no lxml or sickle types leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.records import HarvestedRecord, Notice


@dataclass(slots=True)
class ListPage:
    """One parsed page of ``ListRecords`` or ``ListIdentifiers``.

    Attributes:
        response_date: ``<responseDate>`` as sent (stripped), or ``None``.
        records: the records that parsed exactly, in document order (for
            ``ListIdentifiers`` they have no metadata).
        token: the resumption token, stripped; ``None`` when absent, empty or whitespace.
        complete_list_size: the token's ``completeListSize`` when it is an integer.
        cursor: the token's ``cursor`` when it is an integer.
        expiration_date: the token's ``expirationDate`` as sent.
        had_token_element: a ``<resumptionToken>`` element was present (even empty).
        header_only: live records that came without ``<metadata>`` (not stored).
        notices: repairs made and records that could not be parsed (with samples).
        no_records_match: the page was an OAI ``noRecordsMatch`` error (an empty list).
    """

    response_date: str | None = None
    records: list[HarvestedRecord] = field(default_factory=list)
    token: str | None = None
    complete_list_size: int | None = None
    cursor: int | None = None
    expiration_date: str | None = None
    had_token_element: bool = False
    header_only: int = 0
    notices: list[Notice] = field(default_factory=list)
    no_records_match: bool = False


@dataclass(frozen=True, slots=True)
class Description:
    """One ``<description>`` container of an Identify answer, reduced to plain values.

    Attributes:
        namespace: the namespace of the container's root element ("" when it has none),
            e.g. the VT ``toolkit`` or the OAI 1.1 ``eprints`` namespace.
        name: that element's local name (``oai-identifier``, ``toolkit``, ``eprints``).
        text: its text content with whitespace collapsed, at most 1,000 characters.
    """

    namespace: str
    name: str
    text: str


@dataclass(slots=True)
class IdentifyInfo:
    """What an endpoint's ``Identify`` says about itself (validated loosely).

    Attributes:
        repository_name: first ``repositoryName`` (stripped), or ``None``.
        base_url: the ``baseURL`` it claims.
        protocol_version: ``protocolVersion`` as sent.
        admin_emails: every ``adminEmail``.
        earliest_datestamp: ``earliestDatestamp`` as sent (may be empty or garbage).
        deleted_record: ``deletedRecord`` lower-cased (``no``, ``transient``, ``persistent``).
        granularity: ``granularity`` as sent (may be odd-cased or unknown).
        compression: advertised compression encodings.
        repository_identifier: from an ``oai-identifier`` description, when present.
        descriptions: every description container (what platforms say about themselves).
        response_date: ``<responseDate>`` as sent.
        notices: things a repository manager should fix (loose validation).
    """

    repository_name: str | None = None
    base_url: str | None = None
    protocol_version: str | None = None
    admin_emails: list[str] = field(default_factory=list)
    earliest_datestamp: str | None = None
    deleted_record: str | None = None
    granularity: str | None = None
    compression: list[str] = field(default_factory=list)
    repository_identifier: str | None = None
    descriptions: list[Description] = field(default_factory=list)
    response_date: str | None = None
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MetadataFormat:
    """One entry of ``ListMetadataFormats`` (namespace trimmed to its first token)."""

    prefix: str
    schema: str | None
    namespace: str | None


@dataclass(frozen=True, slots=True)
class SetInfo:
    """One entry of ``ListSets``: the setSpec exactly as sent, and its name."""

    spec: str
    name: str | None

"""Parsing the answers that describe a repository: Identify, ListMetadataFormats, ListSets."""

from __future__ import annotations

import re

from aggregator.harvest.dates import parse_datestamp
from aggregator.harvest.document import (
    check_token_kept,
    find_child,
    load_strict,
    oai_errors,
    raise_oai_errors,
    text_of,
    verb_element,
)
from aggregator.harvest.model import Description, IdentifyInfo, MetadataFormat, SetInfo
from aggregator.harvest.safe_xml import XMLElement
from aggregator.records import Notice

__all__ = ["parse_identify", "parse_metadata_formats", "parse_sets"]

_OAI_ID_NS = "{http://www.openarchives.org/OAI/2.0/oai-identifier}"
_GRANULARITIES = ("YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ")
_DELETED_POLICIES = ("no", "transient", "persistent")
_REPO_ID_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+")
_DESCRIPTION_TEXT_MAX = 1000


def _description(el: XMLElement) -> Description:
    """Reduce one description container's payload to its name and collapsed text."""
    tag = str(el.tag)
    namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    text = " ".join(" ".join(el.itertext()).split())  # a space between elements
    return Description(namespace, name, text[:_DESCRIPTION_TEXT_MAX])


def _identify_notices(info: IdentifyInfo, names: list[str]) -> None:
    """Add loose-validation warnings about an Identify answer to ``info.notices``."""
    def warn(code: str, message: str, sample: str | None = None) -> None:
        info.notices.append(Notice(code, message, sample))

    for required, value in (("repositoryName", info.repository_name),
                            ("baseURL", info.base_url),
                            ("protocolVersion", info.protocol_version),
                            ("deletedRecord", info.deleted_record),
                            ("granularity", info.granularity)):
        if not value:
            warn("identify-missing", f"Identify has no {required}")
    if not info.admin_emails:
        warn("identify-missing", "Identify has no adminEmail")
    if len(names) > 1:
        warn("identify-repository-name", f"Identify repeats repositoryName ({len(names)}x)",
             " | ".join(names[:3]))
    earliest = parse_datestamp(info.earliest_datestamp)
    if not info.earliest_datestamp:
        warn("identify-earliest-datestamp", "earliestDatestamp is empty or missing")
    elif earliest is None or not earliest.valid:
        warn("identify-earliest-datestamp", "earliestDatestamp is not an OAI datestamp",
             info.earliest_datestamp)
    if info.granularity is not None and info.granularity not in _GRANULARITIES:
        warn("identify-granularity", "granularity is not one of the two OAI values",
             info.granularity)
    for email in info.admin_emails:
        if email.lower().startswith("mailto:"):
            warn("identify-admin-email", "adminEmail carries a mailto: prefix", email)
    if info.deleted_record is not None and info.deleted_record not in _DELETED_POLICIES:
        warn("identify-deleted-record", "deletedRecord is not no/transient/persistent",
             info.deleted_record)
    repo_id = info.repository_identifier
    if repo_id is not None and not _REPO_ID_RE.fullmatch(repo_id):
        warn("identify-repository-identifier",
             "oai-identifier repositoryIdentifier does not match the schema pattern", repo_id)


def parse_identify(data: bytes) -> IdentifyInfo:
    """Parse an ``Identify`` answer, collecting validation warnings instead of failing.

    Raises:
        NotOAIResponse: the body is not OAI-PMH.
        MalformedXML: the body is not well-formed even after repair, or has no Identify.
        OAIProtocolError: the server answered with an OAI error.
    """
    doc, _repaired = load_strict(data)
    raise_oai_errors(oai_errors(doc))
    ident = verb_element(doc, "Identify", data)
    info = IdentifyInfo(notices=doc.notices)
    response_date = find_child(doc.root, doc.ns + "responseDate")
    info.response_date = text_of(response_date) if response_date is not None else None
    names: list[str] = []
    for el in ident:
        tag = el.tag
        if not isinstance(tag, str) or not tag.startswith(doc.ns):
            continue
        local, text = tag[len(doc.ns):], text_of(el)
        if local == "repositoryName" and text:
            names.append(text)
        elif local == "baseURL":
            info.base_url = text
        elif local == "protocolVersion":
            info.protocol_version = text
        elif local == "adminEmail" and text:
            info.admin_emails.append(text)
        elif local == "earliestDatestamp":
            info.earliest_datestamp = text
        elif local == "deletedRecord":
            info.deleted_record = text.lower() if text else None
        elif local == "granularity":
            info.granularity = text
        elif local == "compression" and text:
            info.compression.append(text)
        elif local == "description":
            for desc in el:
                if isinstance(desc.tag, str):
                    info.descriptions.append(_description(desc))
                if desc.tag in (_OAI_ID_NS + "oai-identifier", "oai-identifier"):
                    ns = _OAI_ID_NS if desc.tag != "oai-identifier" else ""
                    repo = find_child(desc, ns + "repositoryIdentifier")
                    if repo is not None and info.repository_identifier is None:
                        info.repository_identifier = text_of(repo)
    info.repository_name = names[0] if names else None
    _identify_notices(info, names)
    return info


def _first_token(el: XMLElement | None) -> str | None:
    """Return the first whitespace-separated token of an element's text."""
    if el is None:
        return None
    parts = (el.text or "").split()
    return parts[0] if parts else None


def parse_metadata_formats(data: bytes) -> list[MetadataFormat]:
    """Parse a ``ListMetadataFormats`` answer.

    Namespaces and schema URLs are trimmed to their first whitespace-separated token
    (Koha puts a schema location after the namespace).

    Raises:
        NotOAIResponse, MalformedXML, OAIProtocolError: as for :func:`parse_identify`.
    """
    doc, _repaired = load_strict(data)
    raise_oai_errors(oai_errors(doc))
    formats: list[MetadataFormat] = []
    ns = doc.ns
    for fmt in verb_element(doc, "ListMetadataFormats", data):
        if fmt.tag != ns + "metadataFormat":
            continue
        prefix = find_child(fmt, ns + "metadataPrefix")
        prefix_text = text_of(prefix) if prefix is not None else None
        if prefix_text:
            formats.append(MetadataFormat(
                prefix_text,
                _first_token(find_child(fmt, ns + "schema")),
                _first_token(find_child(fmt, ns + "metadataNamespace")),
            ))
    return formats


def parse_sets(data: bytes) -> tuple[list[SetInfo], str | None]:
    """Parse a ``ListSets`` page into its sets and its resumption token.

    ``noSetHierarchy`` is an empty list, not an error.

    Raises:
        NotOAIResponse, MalformedXML, OAIProtocolError: as for :func:`parse_identify`.
    """
    doc, repaired = load_strict(data)
    errors = oai_errors(doc)
    if errors and errors[0][0] == "noSetHierarchy":
        return [], None
    raise_oai_errors(errors)
    ns = doc.ns
    sets: list[SetInfo] = []
    token: str | None = None
    for el in verb_element(doc, "ListSets", data):
        if el.tag == ns + "set":
            spec_el, name_el = find_child(el, ns + "setSpec"), find_child(el, ns + "setName")
            spec = text_of(spec_el) if spec_el is not None else None
            if spec:
                sets.append(SetInfo(spec, text_of(name_el) if name_el is not None else None))
        elif el.tag == ns + "resumptionToken":
            token = text_of(el)
    if repaired:
        check_token_kept(data, token)
    return sets, token

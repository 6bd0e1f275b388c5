"""Turning OAI-PMH response bytes into plain values: list pages, Identify, formats, sets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aggregator.errors import ForbiddenXML, MalformedXML, NotOAIResponse, OAIProtocolError
from aggregator.harvest import salvage
from aggregator.harvest.dates import parse_datestamp
from aggregator.harvest.model import IdentifyInfo, ListPage, MetadataFormat, SetInfo
from aggregator.harvest.safe_xml import XMLElement, parse_bytes, serialise
from aggregator.harvest.sanitize import clean_bytes, trim
from aggregator.records import HarvestedRecord, Notice

__all__ = [
    "OAI_NS",
    "parse_identify",
    "parse_list_page",
    "parse_metadata_formats",
    "parse_sets",
]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
_OAI_ROOT = "{" + OAI_NS + "}OAI-PMH"
_OAI_ID_NS = "{http://www.openarchives.org/OAI/2.0/oai-identifier}"
_LIST_VERBS = ("ListRecords", "ListIdentifiers", "GetRecord")
_GRANULARITIES = ("YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ")
_DELETED_POLICIES = ("no", "transient", "persistent")
_REPO_ID_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+")
# A resumptionToken start tag (not self-closing) followed by some text.
_TOKEN_TEXT_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?resumptionToken(?:\s[^>]*)?(?<!/)>\s*[^<\s]")
# What may precede the root: whitespace, PIs, comments, a DOCTYPE (possibly with a subset).
_PROLOG_RE = re.compile(
    rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!(?i:doctype)[^\[>]*(?:\[.*?\])?\s*>)*", re.DOTALL
)
_ROOT_NAME_RE = re.compile(rb"<([A-Za-z_][\w.:-]*)")


@dataclass(slots=True)
class _Doc:
    """A parsed response: root, OAI namespace in Clark form ("" when absent), notices."""

    root: XMLElement
    ns: str
    notices: list[Notice] = field(default_factory=list)


def _sniff_root(body: bytes) -> None:
    """Raise NotOAIResponse unless the body's first element is named OAI-PMH."""
    prolog = _PROLOG_RE.match(body)
    match = _ROOT_NAME_RE.match(body, prolog.end() if prolog else 0)
    name = match.group(1).decode("ascii", "replace") if match else None
    if name is None or name.rpartition(":")[2] != "OAI-PMH":
        found = f"root <{name}>" if name else "no XML element"
        raise NotOAIResponse(f"body is not an OAI-PMH response ({found})", head=body[:500])


def _wrap_root(root: XMLElement, body: bytes, notices: list[Notice]) -> _Doc:
    """Check the root element and work out how OAI elements are named."""
    if root.tag == _OAI_ROOT:
        return _Doc(root, "{" + OAI_NS + "}", notices)
    if root.tag == "OAI-PMH":
        notices.append(Notice("no-namespace", "OAI-PMH elements carry no namespace"))
        return _Doc(root, "", notices)
    raise NotOAIResponse(f"root element is {root.tag!s}, not OAI-PMH", head=body[:500])


def _repair_notice(notices: list[Notice]) -> Notice:
    """Summarise the sanitiser's notices into one ``repaired-xml`` notice."""
    what = "; ".join(n.message for n in notices) or "no byte changes"
    sample = next((n.sample for n in notices if n.sample), None)
    return Notice("repaired-xml", f"page was not well-formed and was repaired: {what}", sample)


def _load(data: bytes) -> tuple[_Doc | None, bytes, list[Notice], MalformedXML | None]:
    """Trim and parse strictly, then repair and parse again.

    Returns:
        Either a parsed document, or (when even the repaired bytes fail, not at EOF)
        ``None`` with the repaired body, the notices so far and the parse error, so
        that list pages can be salvaged record by record.
    """
    body, notices = trim(data)
    try:
        return _wrap_root(parse_bytes(body), body, notices), body, notices, None
    except ForbiddenXML:
        _sniff_root(body)
        raise
    except MalformedXML as exc:
        _sniff_root(body)
        if exc.at_eof:
            raise
        error = exc
    cleaned = clean_bytes(body)
    if not cleaned.changed:
        return None, body, notices, error
    try:
        root = parse_bytes(cleaned.data)
    except MalformedXML as exc:
        if exc.at_eof:
            raise
        notices.append(_repair_notice(cleaned.notices))
        return None, cleaned.data, notices, exc
    notices.append(_repair_notice(cleaned.notices))
    doc = _wrap_root(root, cleaned.data, notices)
    return doc, cleaned.data, notices, None


def _load_strict(data: bytes) -> tuple[_Doc, bool]:
    """Load a response that cannot be salvaged; return it and whether it was repaired."""
    doc, _body, _notices, error = _load(data)
    if doc is None:
        assert error is not None
        raise error
    return doc, any(n.code == "repaired-xml" for n in doc.notices)


def _text(el: XMLElement) -> str | None:
    """Return an element's text stripped, or None when empty."""
    return (el.text or "").strip() or None


def _child(parent: XMLElement, tag: str) -> XMLElement | None:
    """Return the first direct child with this Clark tag."""
    for el in parent:
        if el.tag == tag:
            return el
    return None


def _errors(doc: _Doc) -> list[tuple[str, str]]:
    """Return every OAI ``<error>`` as (code, message)."""
    tag = doc.ns + "error"
    return [((el.get("code") or "").strip(), (el.text or "").strip())
            for el in doc.root if el.tag == tag]


def _raise_errors(errors: list[tuple[str, str]]) -> None:
    """Raise OAIProtocolError for the first error when there are any."""
    if errors:
        code, message = errors[0]
        raise OAIProtocolError(code or "unknown", message, errors=errors)


def _verb_element(doc: _Doc, verb: str, body: bytes) -> XMLElement:
    """Return the verb's element (``<ListRecords>``...) or raise MalformedXML."""
    el = _child(doc.root, doc.ns + verb)
    if el is None:
        raise MalformedXML(f"OAI-PMH response has no <{verb}> element",
                           sample=body[:200].decode("utf-8", "replace"))
    return el


def _check_token_kept(raw: bytes, token: str | None) -> None:
    """After a repair, refuse to end a list when the raw bytes still carry a token."""
    if token is None and _TOKEN_TEXT_RE.search(raw):
        raise MalformedXML(
            "repaired page lost its resumptionToken; refusing to end the list early",
            sample=raw[-300:].decode("utf-8", "replace"),
        )


def _int(value: str | None) -> int | None:
    """Parse an integer attribute, None when absent or not an integer."""
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def _read_token(el: XMLElement, page: ListPage) -> None:
    """Copy a ``<resumptionToken>`` element into the page."""
    page.had_token_element = True
    page.token = _text(el)
    page.complete_list_size = _int(el.get("completeListSize"))
    page.cursor = _int(el.get("cursor"))
    expiration = el.get("expirationDate")
    page.expiration_date = expiration.strip() if expiration else None


def _fill_page(list_el: XMLElement, ns: str, verb: str, page: ListPage) -> None:
    """Add the records (or headers) and the token under a list element to ``page``."""
    t_record, t_header, t_token = ns + "record", ns + "header", ns + "resumptionToken"
    t_metadata, t_identifier = ns + "metadata", ns + "identifier"
    t_datestamp, t_set_spec = ns + "datestamp", ns + "setSpec"
    headers_only = verb == "ListIdentifiers"
    header_only_live = 0
    records = page.records
    for child in list_el:
        tag = child.tag
        if tag == t_token:
            _read_token(child, page)
            continue
        metadata: XMLElement | None = None
        if headers_only and tag == t_header:
            header: XMLElement | None = child
        elif not headers_only and tag == t_record:
            header = None
            for part in child:
                if part.tag == t_header:
                    header = part
                elif part.tag == t_metadata:
                    metadata = part
        else:
            continue
        identifier = datestamp = None
        set_specs: list[str] = []
        deleted = False
        if header is not None:
            for el in header:
                el_tag = el.tag
                if el_tag == t_identifier:
                    identifier = (el.text or "").strip() or None
                elif el_tag == t_datestamp:
                    datestamp = (el.text or "").strip() or None
                elif el_tag == t_set_spec:
                    spec = (el.text or "").strip()
                    if spec and spec not in set_specs:
                        set_specs.append(spec)
            deleted = (header.get("status") or "").strip().lower() == "deleted"
        if identifier is None:
            state = "deleted record" if deleted else "record"
            page.notices.append(Notice("missing-identifier",
                                       f"skipped a {state} without an identifier",
                                       sample=datestamp))
            continue
        payload: bytes | None = None
        if not deleted and not headers_only:
            first = None
            if metadata is not None:
                for el in metadata:
                    if isinstance(el.tag, str):
                        first = el
                        break
            if first is None:
                header_only_live += 1
                continue
            payload = serialise(first)
        records.append(HarvestedRecord(identifier, datestamp, deleted, tuple(set_specs), payload))
    if header_only_live:
        page.header_only += header_only_live
        page.notices.append(Notice(
            "header-only",
            f"skipped {header_only_live} live records without metadata on this page",
        ))


def _salvaged_page(body: bytes, verb: str, error: MalformedXML,
                   notices: list[Notice]) -> ListPage:
    """Build a page from the records of a broken page that parse on their own."""
    rescued = salvage.salvage_list(body, verb, error)
    page = ListPage(response_date=rescued.response_date, notices=notices)
    page.notices.extend(rescued.notices)
    for root in rescued.documents:
        doc = _wrap_root(root, body, [])
        list_el = _child(root, doc.ns + verb)
        if list_el is not None:
            _fill_page(list_el, doc.ns, verb, page)
    if rescued.token_document is not None:
        doc = _wrap_root(rescued.token_document, body, [])
        token_el = _child(rescued.token_document, doc.ns + "resumptionToken")
        if token_el is not None:
            _read_token(token_el, page)
    return page


def parse_list_page(data: bytes, *, verb: str = "ListRecords") -> ListPage:
    """Parse one page of ``ListRecords``/``ListIdentifiers`` (or a ``GetRecord`` answer).

    Strict parse first; on failure the bytes are repaired and parsed again; if that
    fails too, the page is salvaged record by record, keeping every record that parses
    and reporting the others as ``bad-record`` notices.

    Args:
        data: the response body.
        verb: the verb that was requested.

    Returns:
        The page; ``no_records_match`` is set for an OAI ``noRecordsMatch`` answer.

    Raises:
        NotOAIResponse: the body is not OAI-PMH.
        MalformedXML: the body is truncated (``at_eof``), or a repaired page lost a
            resumption token, or nothing could be salvaged.
        ForbiddenXML: the body declares a DOCTYPE.
        OAIProtocolError: the server answered with an OAI error other than noRecordsMatch.
    """
    if verb not in _LIST_VERBS:
        raise ValueError(f"parse_list_page does not handle verb {verb!r}")
    doc, body, notices, error = _load(data)
    if doc is None:
        assert error is not None
        page = _salvaged_page(body, verb, error, notices)
        _check_token_kept(body, page.token)
        return page
    response_date = _child(doc.root, doc.ns + "responseDate")
    page = ListPage(response_date=_text(response_date) if response_date is not None else None,
                    notices=doc.notices)
    errors = _errors(doc)
    if errors:
        if errors[0][0] == "noRecordsMatch":
            page.no_records_match = True
            return page
        _raise_errors(errors)
    _fill_page(_verb_element(doc, verb, body), doc.ns, verb, page)
    if any(n.code == "repaired-xml" for n in page.notices):
        _check_token_kept(data, page.token)
    return page


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
    doc, _repaired = _load_strict(data)
    _raise_errors(_errors(doc))
    ident = _verb_element(doc, "Identify", data)
    info = IdentifyInfo(notices=doc.notices)
    response_date = _child(doc.root, doc.ns + "responseDate")
    info.response_date = _text(response_date) if response_date is not None else None
    names: list[str] = []
    for el in ident:
        tag = el.tag
        if not isinstance(tag, str) or not tag.startswith(doc.ns):
            continue
        local, text = tag[len(doc.ns):], _text(el)
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
                if desc.tag in (_OAI_ID_NS + "oai-identifier", "oai-identifier"):
                    ns = _OAI_ID_NS if desc.tag != "oai-identifier" else ""
                    repo = _child(desc, ns + "repositoryIdentifier")
                    if repo is not None and info.repository_identifier is None:
                        info.repository_identifier = _text(repo)
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
    doc, _repaired = _load_strict(data)
    _raise_errors(_errors(doc))
    formats: list[MetadataFormat] = []
    ns = doc.ns
    for fmt in _verb_element(doc, "ListMetadataFormats", data):
        if fmt.tag != ns + "metadataFormat":
            continue
        prefix = _child(fmt, ns + "metadataPrefix")
        prefix_text = _text(prefix) if prefix is not None else None
        if prefix_text:
            formats.append(MetadataFormat(
                prefix_text,
                _first_token(_child(fmt, ns + "schema")),
                _first_token(_child(fmt, ns + "metadataNamespace")),
            ))
    return formats


def parse_sets(data: bytes) -> tuple[list[SetInfo], str | None]:
    """Parse a ``ListSets`` page into its sets and its resumption token.

    ``noSetHierarchy`` is an empty list, not an error.

    Raises:
        NotOAIResponse, MalformedXML, OAIProtocolError: as for :func:`parse_identify`.
    """
    doc, repaired = _load_strict(data)
    errors = _errors(doc)
    if errors and errors[0][0] == "noSetHierarchy":
        return [], None
    _raise_errors(errors)
    ns = doc.ns
    sets: list[SetInfo] = []
    token: str | None = None
    for el in _verb_element(doc, "ListSets", data):
        if el.tag == ns + "set":
            spec_el, name_el = _child(el, ns + "setSpec"), _child(el, ns + "setName")
            spec = _text(spec_el) if spec_el is not None else None
            if spec:
                sets.append(SetInfo(spec, _text(name_el) if name_el is not None else None))
        elif el.tag == ns + "resumptionToken":
            token = _text(el)
    if repaired:
        _check_token_kept(data, token)
    return sets, token

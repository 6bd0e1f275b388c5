"""Turning ``ListRecords``/``ListIdentifiers``/``GetRecord`` pages into plain values."""

from __future__ import annotations

from aggregator.errors import MalformedXML
from aggregator.harvest import salvage
from aggregator.harvest.document import (
    check_token_kept,
    find_child,
    load_document,
    oai_errors,
    raise_oai_errors,
    text_of,
    verb_element,
    wrap_root,
)
from aggregator.harvest.model import ListPage
from aggregator.harvest.provenance import origin_description
from aggregator.harvest.safe_xml import XMLElement, serialise
from aggregator.records import HarvestedRecord, Notice

__all__ = ["parse_list_page"]

_LIST_VERBS = ("ListRecords", "ListIdentifiers", "GetRecord")


def _int(value: str | None) -> int | None:
    """Parse an integer attribute, None when absent or not an integer."""
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def _read_token(el: XMLElement, page: ListPage) -> None:
    """Copy a ``<resumptionToken>`` element into the page."""
    page.had_token_element = True
    page.token = text_of(el)
    page.complete_list_size = _int(el.get("completeListSize"))
    page.cursor = _int(el.get("cursor"))
    expiration = el.get("expirationDate")
    page.expiration_date = expiration.strip() if expiration else None


def _fill_page(list_el: XMLElement, ns: str, verb: str, page: ListPage) -> None:
    """Add the records (or headers) and the token under a list element to ``page``."""
    t_record, t_header, t_token = ns + "record", ns + "header", ns + "resumptionToken"
    t_metadata, t_identifier = ns + "metadata", ns + "identifier"
    t_datestamp, t_set_spec, t_about = ns + "datestamp", ns + "setSpec", ns + "about"
    headers_only = verb == "ListIdentifiers"
    header_only_live = 0
    bad_provenance: list[str] = []
    records = page.records
    for child in list_el:
        tag = child.tag
        if tag == t_token:
            _read_token(child, page)
            continue
        metadata: XMLElement | None = None
        abouts: list[XMLElement] | None = None  # rare: only records re-exposed upstream
        if headers_only and tag == t_header:
            header: XMLElement | None = child
        elif not headers_only and tag == t_record:
            header = None
            for part in child:
                if part.tag == t_header:
                    header = part
                elif part.tag == t_metadata:
                    metadata = part
                elif part.tag == t_about:
                    abouts = [part] if abouts is None else [*abouts, part]
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
        provenance: bytes | None = None
        if abouts is not None and not deleted:
            provenance, ignored = origin_description(abouts)
            if ignored:
                bad_provenance.append(identifier)
        records.append(HarvestedRecord(identifier, datestamp, deleted, tuple(set_specs), payload,
                                       provenance))
    if header_only_live:
        page.header_only += header_only_live
        page.notices.append(Notice(
            "header-only",
            f"skipped {header_only_live} live records without metadata on this page",
        ))
    if bad_provenance:
        page.notices.append(Notice(
            "provenance-ignored",
            f"ignored the provenance of {len(bad_provenance)} records on this page: "
            "not a valid originDescription", sample=bad_provenance[0]))


def _salvaged_page(body: bytes, verb: str, error: MalformedXML,
                   notices: list[Notice]) -> ListPage:
    """Build a page from the records of a broken page that parse on their own."""
    rescued = salvage.salvage_list(body, verb, error)
    page = ListPage(response_date=rescued.response_date, notices=notices)
    page.notices.extend(rescued.notices)
    for root in rescued.documents:
        doc = wrap_root(root, body, [])
        list_el = find_child(root, doc.ns + verb)
        if list_el is not None:
            _fill_page(list_el, doc.ns, verb, page)
    if rescued.token_document is not None:
        doc = wrap_root(rescued.token_document, body, [])
        token_el = find_child(rescued.token_document, doc.ns + "resumptionToken")
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
    doc, body, notices, error = load_document(data)
    if doc is None:
        assert error is not None
        page = _salvaged_page(body, verb, error, notices)
        check_token_kept(body, page.token)
        return page
    response_date = find_child(doc.root, doc.ns + "responseDate")
    page = ListPage(response_date=text_of(response_date) if response_date is not None else None,
                    notices=doc.notices)
    errors = oai_errors(doc)
    if errors:
        if errors[0][0] == "noRecordsMatch":
            page.no_records_match = True
            return page
        raise_oai_errors(errors)
    _fill_page(verb_element(doc, verb, body), doc.ns, verb, page)
    if any(n.code == "repaired-xml" for n in page.notices):
        check_token_kept(data, page.token)
    return page

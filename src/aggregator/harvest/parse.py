"""Turning ``ListRecords``/``ListIdentifiers``/``GetRecord`` pages into plain values."""

from __future__ import annotations

from aggregator.errors import MalformedXML, NotOAIResponse
from aggregator.harvest import salvage
from aggregator.harvest.document import (
    OAI_NS,
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
from aggregator.harvest.safe_xml import XMLElement, parse_bytes, parse_stream, serialise
from aggregator.records import HarvestedRecord, Notice

__all__ = ["parse_list_page"]

_LIST_VERBS = ("ListRecords", "ListIdentifiers", "GetRecord")
# Pages from this size on are parsed as a stream, each record dropped from the tree once
# read, so that memory holds the records and not the tree (about 6 bytes for each byte of
# the page). Smaller pages are parsed whole: libxml2's push parser, which streaming
# needs, is up to a quarter slower on them (bench/bigpage.py measures both).
STREAM_FROM_BYTES = 8 << 20


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


class _PageBuilder:
    """Turns the children of a list element into records, notices and the token."""

    def __init__(self, ns: str, verb: str) -> None:
        self.ns = ns
        self.headers_only = verb == "ListIdentifiers"
        self.t_item = ns + ("header" if self.headers_only else "record")
        self.records: list[HarvestedRecord] = []
        self.notices: list[Notice] = []  # missing identifiers, in document order
        self.header_only_live = 0
        self.bad_provenance: list[str] = []

    def add(self, child: XMLElement, page: ListPage | None = None) -> bool:
        """Take one child of the list element; return whether it was a record (or a
        header for ``ListIdentifiers``), which the builder no longer needs.

        A ``<resumptionToken>`` is copied into ``page`` (when one is given).
        """
        tag = child.tag
        if tag != self.t_item:
            if page is not None and tag == self.ns + "resumptionToken":
                _read_token(child, page)
            return False
        ns = self.ns
        metadata: XMLElement | None = None
        abouts: list[XMLElement] | None = None  # rare: only records re-exposed upstream
        if self.headers_only:
            header: XMLElement | None = child
        else:
            header = None
            t_header, t_metadata, t_about = ns + "header", ns + "metadata", ns + "about"
            for part in child:
                if part.tag == t_header:
                    header = part
                elif part.tag == t_metadata:
                    metadata = part
                elif part.tag == t_about:
                    abouts = [part] if abouts is None else [*abouts, part]
        identifier = datestamp = None
        set_specs: list[str] = []
        deleted = False
        if header is not None:
            t_identifier, t_datestamp, t_set_spec = (ns + "identifier", ns + "datestamp",
                                                     ns + "setSpec")
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
            self.notices.append(Notice("missing-identifier",
                                       f"skipped a {state} without an identifier",
                                       sample=datestamp))
            return True
        payload: bytes | None = None
        if not deleted and not self.headers_only:
            first = None
            if metadata is not None:
                for el in metadata:
                    if isinstance(el.tag, str):
                        first = el
                        break
            if first is None:
                self.header_only_live += 1
                return True
            payload = serialise(first)
        provenance: bytes | None = None
        if abouts is not None and not deleted:
            provenance, ignored = origin_description(abouts)
            if ignored:
                self.bad_provenance.append(identifier)
        self.records.append(HarvestedRecord(identifier, datestamp, deleted, tuple(set_specs),
                                            payload, provenance))
        return True

    def finish(self, page: ListPage) -> None:
        """Add the records and the notices about them to ``page``."""
        page.records.extend(self.records)
        page.notices.extend(self.notices)
        if self.header_only_live:
            page.header_only += self.header_only_live
            page.notices.append(Notice(
                "header-only",
                f"skipped {self.header_only_live} live records without metadata on this page",
            ))
        if self.bad_provenance:
            page.notices.append(Notice(
                "provenance-ignored",
                f"ignored the provenance of {len(self.bad_provenance)} records on this page: "
                "not a valid originDescription", sample=self.bad_provenance[0]))


def _fill_page(list_el: XMLElement, ns: str, verb: str, page: ListPage,
               builder: _PageBuilder | None = None) -> None:
    """Add the records (or headers) and the token under a list element to ``page``
    (after those a streaming ``builder`` already took from it)."""
    if builder is None:
        builder = _PageBuilder(ns, verb)
    for child in list_el:
        builder.add(child, page)
    builder.finish(page)


class _Stream:
    """Takes a list page's records as the parser reads them (see ``parse_stream``), so
    that the parsed tree never holds more than one record."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        item = "header" if verb == "ListIdentifiers" else "record"
        self.tags = ("{" + OAI_NS + "}" + item, item)
        self.list_el: XMLElement | None = None
        self.builder: _PageBuilder | None = None

    def parse(self, body: bytes) -> XMLElement:
        """Parse a body (the strict try, then the repaired one), starting afresh."""
        self.list_el = self.builder = None
        return parse_stream(body, self.tags, self._take)

    def _take(self, item: XMLElement) -> bool:
        """Take an item when it is a child of the page's list element, as ``_fill_page``
        would (the first ``<verb>`` child of an OAI-PMH root, in the root's namespace)."""
        parent = item.getparent()
        if parent is None:
            return False
        if parent is not self.list_el:
            if self.list_el is not None:
                return False
            root = parent.getparent()
            tag = item.tag
            assert isinstance(tag, str)
            ns = tag[:tag.index("}") + 1] if tag.startswith("{") else ""
            if (root is None or root.getparent() is not None
                    or root.tag != ns + "OAI-PMH" or parent.tag != ns + self.verb
                    or find_child(root, ns + self.verb) is not parent):
                return False
            self.list_el, self.builder = parent, _PageBuilder(ns, self.verb)
        assert self.builder is not None
        return self.builder.add(item)


def _salvaged_page(body: bytes, verb: str, error: MalformedXML,
                   notices: list[Notice]) -> ListPage:
    """Build a page from the records of a broken page that parse on their own (each
    turned into records as soon as it is parsed, so a large page is never held whole)."""
    page = ListPage(notices=notices)
    start = len(notices)
    refused: list[NotOAIResponse] = []

    def take(root: XMLElement) -> None:
        if refused:
            return
        try:
            doc = wrap_root(root, body, [])
        except NotOAIResponse as exc:  # raised once salvage itself has had its say
            refused.append(exc)
            return
        list_el = find_child(root, doc.ns + verb)
        if list_el is not None:
            _fill_page(list_el, doc.ns, verb, page)

    rescued = salvage.salvage_list(body, verb, error, take)
    if refused:
        raise refused[0]
    page.response_date = rescued.response_date
    page.notices[start:start] = rescued.notices
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
    stream = _Stream(verb)
    doc, body, notices, error = load_document(
        data, parse=stream.parse if len(data) >= STREAM_FROM_BYTES else parse_bytes)
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
    list_el = verb_element(doc, verb, body)
    _fill_page(list_el, doc.ns, verb, page,
               stream.builder if stream.list_el is list_el else None)
    if any(n.code == "repaired-xml" for n in page.notices):
        check_token_kept(data, page.token)
    return page

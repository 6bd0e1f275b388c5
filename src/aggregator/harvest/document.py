"""Loading an OAI-PMH response: strict parse, repair, root check, and the shared lookups."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from aggregator.errors import (
    ForbiddenXML,
    MalformedXML,
    NotOAIResponse,
    OAIProtocolError,
    WrongAnswer,
)
from aggregator.harvest.safe_xml import XMLElement, parse_bytes
from aggregator.harvest.sanitize import clean_bytes, trim
from aggregator.records import Notice

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
_OAI_ROOT = "{" + OAI_NS + "}OAI-PMH"
_VERBS = ("Identify", "ListRecords", "ListIdentifiers", "GetRecord", "ListSets",
          "ListMetadataFormats")
# A resumptionToken start tag (not self-closing) followed by some text.
_TOKEN_TEXT_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?resumptionToken(?:\s[^>]*)?(?<!/)>\s*[^<\s]")
# What may precede the root: whitespace, PIs, comments, a DOCTYPE (possibly with a subset).
_PROLOG_RE = re.compile(
    rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!(?i:doctype)[^\[>]*(?:\[.*?\])?\s*>)*", re.DOTALL
)
_ROOT_NAME_RE = re.compile(rb"<([A-Za-z_][\w.:-]*)")


@dataclass(slots=True)
class Doc:
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


def wrap_root(root: XMLElement, body: bytes, notices: list[Notice]) -> Doc:
    """Check the root element and work out how OAI elements are named."""
    if root.tag == _OAI_ROOT:
        return Doc(root, "{" + OAI_NS + "}", notices)
    if root.tag == "OAI-PMH":
        notices.append(Notice("no-namespace", "OAI-PMH elements carry no namespace"))
        return Doc(root, "", notices)
    raise NotOAIResponse(f"root element is {root.tag!s}, not OAI-PMH", head=body[:500])


def _repair_notice(notices: list[Notice]) -> Notice:
    """Summarise the sanitiser's notices into one ``repaired-xml`` notice."""
    what = "; ".join(n.message for n in notices) or "no byte changes"
    sample = next((n.sample for n in notices if n.sample), None)
    return Notice("repaired-xml", f"page was not well-formed and was repaired: {what}", sample)


def load_document(data: bytes, *, parse: Callable[[bytes], XMLElement] = parse_bytes,
                  ) -> tuple[Doc | None, bytes, list[Notice], MalformedXML | None]:
    """Trim and parse strictly, then repair and parse again.

    Args:
        data: the response body.
        parse: turns bytes into a root element, raising as :func:`parse_bytes` does
            (list pages pass a streaming parse that takes their records as it goes).

    Returns:
        Either a parsed document, or (when even the repaired bytes fail, not at EOF)
        ``None`` with the repaired body, the notices so far and the parse error, so
        that list pages can be salvaged record by record.
    """
    body, notices = trim(data)
    try:
        return wrap_root(parse(body), body, notices), body, notices, None
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
        root = parse(cleaned.data)
    except MalformedXML as exc:
        if exc.at_eof:
            raise
        notices.append(_repair_notice(cleaned.notices))
        return None, cleaned.data, notices, exc
    notices.append(_repair_notice(cleaned.notices))
    doc = wrap_root(root, cleaned.data, notices)
    return doc, cleaned.data, notices, None


def load_strict(data: bytes) -> tuple[Doc, bool]:
    """Load a response that cannot be salvaged; return it and whether it was repaired."""
    doc, _body, _notices, error = load_document(data)
    if doc is None:
        assert error is not None
        raise error
    return doc, any(n.code == "repaired-xml" for n in doc.notices)


def text_of(el: XMLElement) -> str | None:
    """Return an element's text stripped, or None when empty."""
    return (el.text or "").strip() or None


def find_child(parent: XMLElement, tag: str) -> XMLElement | None:
    """Return the first direct child with this Clark tag."""
    for el in parent:
        if el.tag == tag:
            return el
    return None


def oai_errors(doc: Doc) -> list[tuple[str, str]]:
    """Return every OAI ``<error>`` as (code, message)."""
    tag = doc.ns + "error"
    return [((el.get("code") or "").strip(), (el.text or "").strip())
            for el in doc.root if el.tag == tag]


def raise_oai_errors(errors: list[tuple[str, str]]) -> None:
    """Raise OAIProtocolError for the first error when there are any."""
    if errors:
        code, message = errors[0]
        raise OAIProtocolError(code or "unknown", message, errors=errors)


def verb_element(doc: Doc, verb: str, body: bytes) -> XMLElement:
    """Return the verb's element (``<ListRecords>``...) or raise MalformedXML."""
    el = find_child(doc.root, doc.ns + verb)
    if el is None:
        sample = body[:200].decode("utf-8", "replace")
        other = next((name for name in _VERBS if name != verb
                      and find_child(doc.root, doc.ns + name) is not None), None)
        if other is not None:
            raise WrongAnswer(f"asked for {verb}, the server answered with <{other}>: it "
                              "does not follow the verb it is sent", sample=sample)
        raise MalformedXML(f"OAI-PMH response has no <{verb}> element", sample=sample)
    return el


def check_token_kept(raw: bytes, token: str | None) -> None:
    """After a repair, refuse to end a list when the raw bytes still carry a token."""
    if token is None and _TOKEN_TEXT_RE.search(raw):
        raise MalformedXML(
            "repaired page lost its resumptionToken; refusing to end the list early",
            sample=raw[-300:].decode("utf-8", "replace"),
        )

"""MODS 3.x records (digital collections, DSpace and Islandora exports) to fields."""

from __future__ import annotations

from collections.abc import Callable

from aggregator.normalize.builder import Draft, Node, local_name, text_of
from aggregator.normalize.fields import Fields
from aggregator.normalize.vocab import language_code

__all__ = ["MODS_NS", "map_mods", "mods_record"]

MODS_NS = "http://www.loc.gov/mods/v3"

_AUTHOR_ROLES = frozenset({
    "aut", "cre", "author", "creator", "pengarang", "penulis", "originator", "artist",
    "photographer", "composer",
})
# Which URLs make the best link: the page showing the object, not a thumbnail.
_URL_RANK = {"primary display": 0, "object in context": 0, "raw object": 2, "preview": 3}
_DATE_TIERS = {"dateIssued": 0, "dateCreated": 1, "copyrightDate": 2, "dateCaptured": 3}


def _children(node: Node) -> list[tuple[str, Node]]:
    """Direct child elements as (local name, element)."""
    return [(local_name(c.tag), c) for c in node if isinstance(c.tag, str)]


def _title(node: Node) -> str:
    """A titleInfo as one string: non-sort words, title, subtitle, part."""
    parts: dict[str, str] = {}
    for name, child in _children(node):
        value = text_of(child)
        if value and name not in parts:
            parts[name] = value
    title = " ".join(p for p in (parts.get("nonSort"), parts.get("title")) if p)
    for extra in ("subTitle", "partNumber", "partName"):
        if parts.get(extra):
            title = f"{title}: {parts[extra]}" if title else parts[extra]
    return title


def _on_title(d: Draft, node: Node) -> None:
    title = _title(node)
    if node.get("type") or d.titles:
        d.other_titles.append(title)
    else:
        d.titles.append(title)


def _on_name(d: Draft, node: Node) -> None:
    family = given = ""
    plain: list[str] = []
    roles: set[str] = set()
    for name, child in _children(node):
        if name == "namePart":
            kind, value = child.get("type"), text_of(child)
            if kind == "family":
                family = value
            elif kind == "given":
                given = value
            elif kind != "date":
                plain.append(value)
        elif name == "displayForm" and not plain:
            plain.append(text_of(child))
        elif name == "role":
            roles.update(text_of(term).lower().rstrip(".") for _, term in _children(child))
    full = ", ".join(p for p in (family, given) if p) or " ".join(p for p in plain if p)
    if not full:
        return
    if not roles or roles & _AUTHOR_ROLES:
        d.creators.append(full)
    else:
        d.contributors.append(full)


def _on_subject(d: Draft, node: Node) -> None:
    parts: list[str] = []
    for name, child in _children(node):
        if name in ("name", "titleInfo", "hierarchicalGeographic"):
            inner = [text_of(c) for _, c in _children(child)]
            parts.append((", " if name == "name" else " -- ").join(p for p in inner if p))
        elif name != "cartographics":
            parts.append(text_of(child))
    heading = " -- ".join(p for p in parts if p)
    d.subjects.append(heading)
    lang = node.get("lang") or node.get("{http://www.w3.org/XML/1998/namespace}lang")
    if heading and lang:
        d.subject_langs[heading] = language_code(lang) or lang.strip()


def _on_abstract(d: Draft, node: Node) -> None:
    d.abstracts.append(text_of(node))


def _on_origin(d: Draft, node: Node) -> None:
    tiers: dict[int, list[str]] = {}
    for name, child in _children(node):
        if name == "publisher":
            d.publishers.append(text_of(child))
        elif name in _DATE_TIERS and child.get("point") != "end":
            tiers.setdefault(_DATE_TIERS[name], []).append(text_of(child))
    for tier in sorted(tiers):
        (d.dates if tier == 0 else d.fallback_dates).extend(tiers[tier])


def _on_genre(d: Draft, node: Node) -> None:
    d.types.append(text_of(node))


def _on_language(d: Draft, node: Node) -> None:
    terms = [(c.get("type") or "", text_of(c)) for n, c in _children(node) if n == "languageTerm"]
    code = next((v for t, v in terms if t == "code" and v), None)
    value = code or next((v for _, v in terms if v), "")
    if value:
        d.languages.append(value)


def _on_identifier(d: Draft, node: Node) -> None:
    value, kind = text_of(node), (node.get("type") or "").lower()
    if kind in ("hdl", "handle") and value[:1].isdigit():
        value = "hdl:" + value
    elif kind == "doi" and value.startswith("10."):
        value = "doi:" + value
    d.identifiers.append(value)


def _on_location(d: Draft, node: Node) -> None:
    urls = [(_URL_RANK.get(c.get("usage") or c.get("access") or "", 1), text_of(c))
            for n, c in _children(node) if n == "url"]
    d.links.extend(url for _, url in sorted(urls, key=lambda pair: pair[0]))


def _on_access(d: Draft, node: Node) -> None:
    d.rights.append(text_of(node))


_CLASS_AUTHORITIES = {"ddc": "ddc", "udc": "udc", "lcc": "lcc"}


def _on_classification(d: Draft, node: Node) -> None:
    scheme = _CLASS_AUTHORITIES.get((node.get("authority") or "").lower())
    value = text_of(node)
    if value:
        d.classes.append((value.replace("/", ""), scheme))


def _on_related(d: Draft, node: Node) -> None:
    """A host item (the journal of an article) gives the citation and the ISSN."""
    if (node.get("type") or "") != "host":
        return
    title, volume, issue, pages = "", "", "", ""
    for name, child in _children(node):
        if name == "titleInfo" and not title:
            title = _title(child)
        elif name == "identifier" and (child.get("type") or "").lower() == "issn":
            d.related.append("ISSN " + text_of(child))
        elif name == "part":
            volume, issue, pages = _part(child)
    parts = [title] if title else []
    parts.append(" ".join(p for p in (f"Vol {volume}" if volume else "",
                                      f"No {issue}" if issue else "") if p))
    if pages:
        parts.append(f"pp. {pages}")
    d.hosts.append("; ".join(p for p in parts if p))


def _part(node: Node) -> tuple[str, str, str]:
    """Volume, issue and pages from a MODS ``part``."""
    volume = issue = pages = ""
    for name, child in _children(node):
        if name == "detail":
            number = next((text_of(c) for n, c in _children(child) if n == "number"), "")
            kind = (child.get("type") or "").lower()
            if kind == "volume":
                volume = number
            elif kind in ("issue", "number"):
                issue = number
        elif name == "extent":
            ends = {n: text_of(c) for n, c in _children(child) if n in ("start", "end")}
            pages = "-".join(v for v in (ends.get("start"), ends.get("end")) if v)
    return volume, issue, pages


_HANDLERS: dict[str, Callable[[Draft, Node], None]] = {
    "classification": _on_classification, "relatedItem": _on_related,
    "titleInfo": _on_title, "name": _on_name, "subject": _on_subject,
    "abstract": _on_abstract, "originInfo": _on_origin, "genre": _on_genre,
    "typeOfResource": _on_genre, "language": _on_language, "identifier": _on_identifier,
    "location": _on_location, "accessCondition": _on_access,
}


def map_mods(root: Node) -> Fields:
    """Map a ``mods`` element to fields.

    Only direct children count: a ``relatedItem`` (the host collection, a series)
    describes another work, not this one; a host's title and part give the citation.
    """
    draft = Draft("mods")
    for name, child in _children(root):
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(draft, child)
    return draft.finish()


def mods_record(root: Node) -> Node | None:
    """The mods element of a document (the root, or a modsCollection's first)."""
    if local_name(root.tag) != "modsCollection":
        return root
    for child in root:
        if local_name(child.tag) == "mods":
            return child
    return None

"""The feed's names: record identifiers and set specs, made and read back."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote

from aggregator.normalize.vocab import TYPES

__all__ = ["MEMBER", "TYPE", "TYPE_BY_SLUG", "SetRequest", "decode_spec", "encode_spec",
           "header_specs", "parse_identifier", "read_set", "record_identifier", "type_spec",
           "uri_form"]

MEMBER = "member"
TYPE = "type"
# The characters a local identifier keeps as they are (the oai-identifier scheme's, but
# "%", which starts an escape): anything else is percent-encoded, so every identifier
# reads back to exactly the member's.
_SAFE = "-_.!~*'();/?:@&=+$,"
_SPEC_SAFE = re.compile(r"[A-Za-z0-9\-_.!*'()]")
_ESCAPED = re.compile(r"~([0-9A-F]{2})")
# RFC 3986's URI-reference: the lexical space of xs:anyURI once XML Schema has escaped
# non-ASCII characters and <>"{}|\^` (which it allows, unlike "%", "#" and "[]" misused).
_PCT = "%[0-9A-Fa-f]{2}"
_SUB = "!$&'()*+,;="
_PCHAR = rf"(?:[A-Za-z0-9\-._~{_SUB}:@]|{_PCT})"
_SEGMENT_NC = rf"(?:[A-Za-z0-9\-._~{_SUB}@]|{_PCT})+"
_PATH = rf"(?:/{_PCHAR}*)*"
_AUTHORITY = (rf"(?:(?:[A-Za-z0-9\-._~{_SUB}:]|{_PCT})*@)?"
              rf"(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~{_SUB}]|{_PCT})*)(?::[0-9]*)?")
_URI_REFERENCE = re.compile(
    rf"(?:[A-Za-z][A-Za-z0-9+\-.]*:(?://{_AUTHORITY}{_PATH}|/?(?:{_PCHAR}+{_PATH})?)"
    rf"|//{_AUTHORITY}{_PATH}|/(?:{_PCHAR}+{_PATH})?|(?:{_SEGMENT_NC}{_PATH})?)"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?")
# The usual identifier (``oai:host:local``, a URL without authority): a URI for certain.
_PLAIN_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+\-.]*:(?!//)[A-Za-z0-9\-._~{_SUB}:@/]*")
_XSD_ESCAPES = re.compile(r'[^\x00-\x7f]|[<>"{}|\\^`]')
_SEGMENT_SAFE = "-._~" + _SUB + "@"  # what one relative path segment keeps as it is


def record_identifier(repository_id: str, label: str, local: str) -> str:
    """``oai:<repository id>:<source label>/<the member's identifier>``: the label is the
    member's slug (``<slug>.<source id>`` for a member's second source and later)."""
    return f"oai:{repository_id}:{label}/{quote(local, safe=_SAFE)}"


def uri_form(text: str) -> str:
    """``text`` as a legal xs:anyURI: as it is when it is one (without whitespace, which
    the type collapses), else percent-encoded whole as one relative path segment
    (UTF-8), which :func:`urllib.parse.unquote` reads back."""
    if _PLAIN_URI.fullmatch(text):
        return text
    if text and not any(ch.isspace() for ch in text) and _URI_REFERENCE.fullmatch(
            _XSD_ESCAPES.sub("_", text)):
        return text
    return quote(text, safe=_SEGMENT_SAFE)


def parse_identifier(repository_id: str, identifier: str) -> tuple[str, str] | None:
    """(source label, the member's identifier) of one of our identifiers, else ``None``."""
    head = f"oai:{repository_id}:"
    if not identifier.startswith(head):
        return None
    slug, slash, local = identifier[len(head):].partition("/")
    if not slug or not slash or not local:
        return None
    return slug, unquote(local)


def encode_spec(spec: str) -> str:
    """A member's setSpec in the characters a setSpec may have: each ``:``-separated part
    keeps its letters, digits and ``-_.!*'()``; other bytes become ``~XX`` (hex, as UTF-8)
    and an empty part ``~~``. Reversible, and specs that were legal stay as they were."""
    parts = []
    for part in spec.split(":"):
        if not part:
            parts.append("~~")
            continue
        parts.append("".join(
            ch if _SPEC_SAFE.fullmatch(ch) else "".join(f"~{b:02X}" for b in ch.encode())
            for ch in part))
    return ":".join(parts)


def decode_spec(encoded: str) -> str | None:
    """The member's setSpec behind :func:`encode_spec`'s output (``None``: not one)."""
    parts = []
    for part in encoded.split(":"):
        if part == "~~":
            parts.append("")
            continue
        raw, at = bytearray(), 0
        while at < len(part):
            if part[at] == "~":
                escaped = _ESCAPED.match(part, at)
                if escaped is None:
                    return None
                raw.append(int(escaped.group(1), 16))
                at += 3
            else:
                raw += part[at].encode()
                at += 1
        try:
            parts.append(raw.decode())
        except UnicodeDecodeError:
            return None
    return ":".join(parts)


def type_spec(work_type: str) -> str:
    """``type:<type>`` for a normalised type (``Conference paper`` → ``type:conference-paper``)."""
    return f"{TYPE}:{work_type.lower().replace(' ', '-')}"


TYPE_BY_SLUG = {type_spec(t)[len(TYPE) + 1:]: t for t in TYPES}


def header_specs(slug: str, member_specs: Iterable[str], work_type: str | None) -> list[str]:
    """The setSpecs in a record's header: its member, the member's own sets, its type."""
    out = [f"{MEMBER}:{slug}"]
    out += [f"{MEMBER}:{slug}:{encode_spec(spec)}" for spec in member_specs]
    if work_type in TYPES:
        out.append(type_spec(work_type))
    return out


@dataclass(frozen=True, slots=True)
class SetRequest:
    """A ``set`` argument read.

    Attributes:
        known: the spec names a set the feed has (else the list is empty).
        member: ``member:<slug>``'s slug, when the set is within one member.
        member_set: within that member, the member's own setSpec (decoded).
        work_type: the type of ``type:<type>``; ``""`` for ``type`` itself.
    """

    known: bool
    member: str | None = None
    member_set: str | None = None
    work_type: str | None = None


def read_set(spec: str) -> SetRequest:
    """Read a (syntactically valid) ``set`` argument."""
    top, _, rest = spec.partition(":")
    if top == MEMBER:
        if not rest:
            return SetRequest(True)
        slug, _, own = rest.partition(":")
        if not own:
            return SetRequest(True, member=slug)
        decoded = decode_spec(own)
        return SetRequest(decoded is not None, member=slug, member_set=decoded)
    if top == TYPE:
        if not rest:
            return SetRequest(True, work_type="")
        work_type = TYPE_BY_SLUG.get(rest)
        return SetRequest(work_type is not None, work_type=work_type)
    return SetRequest(False)

"""The one-line, APA-like citation shown on a record page."""

from __future__ import annotations

from aggregator.export.model import one_line
from aggregator.normalize.fields import Fields

__all__ = ["MAX_AUTHORS", "author_name", "citation"]

MAX_AUTHORS = 3
_END_MARKS = (".", "?", "!")


def _initials(given: str) -> str:
    """"Budi Santoso" → "B. S."; "Jean-Paul" → "J.-P."; kept initials stay as they are."""
    out = []
    for word in given.split():
        parts = [p for p in word.split("-") if p]
        out.append("-".join(p[0] + "." for p in parts))
    return " ".join(p for p in out if p)


def author_name(name: str) -> str:
    """APA form of one name: "Surname, G." for "Surname, Given"; other names unchanged.

    Names without a comma (mononyms such as "Sukarno", corporate authors, names in
    direct order) are not inverted: Indonesian names often have no surname to invert.
    """
    text = one_line(name)
    surname, comma, given = text.partition(",")
    surname, given = surname.strip(), given.strip()
    if not comma or not surname:
        return text.strip(", ")
    initials = _initials(given)
    return f"{surname}, {initials}" if initials else surname


def _authors(creators: tuple[str, ...]) -> str:
    """"A", "A, & B", "A, B, & C", or the first three then "et al."."""
    names = [n for n in (author_name(c) for c in creators) if n]
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + ", et al."
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + ", & " + names[-1]


def _sentence(text: str) -> str:
    """``text`` ending with a full stop (not doubled after "?", "!" or an initial)."""
    return text if text.endswith(_END_MARKS) else text + "."


def _source(fields: Fields) -> str:
    """"Jurnal Pustaka, 13(1), 45-60": the journal, volume(issue) and pages, as in APA."""
    journal = one_line(fields.journal_title)
    if not journal:
        return ""
    volume, issue, pages = (one_line(v) for v in (fields.volume, fields.issue, fields.pages))
    numbering = volume + (f"({issue})" if issue else "")
    return ", ".join(p for p in (journal, numbering, pages.replace("-", "\u2013")) if p)


def citation(fields: Fields, member_name: str | None = None) -> str:
    """A plain-text citation line: "Surname, G., & Other, A. (2019). Title. Publisher."

    Missing parts are left out; a missing year is "(n.d.)" as in APA, and a record
    without authors starts with its title. The text is plain: escape it for HTML.

    Args:
        fields: the record's fields.
        member_name: the holding member, added as "Held by …" when it is not
            already the publisher.

    Returns:
        One line without control characters.
    """
    authors = _authors(fields.creators)
    title = one_line(fields.title) or "[No title]"
    year = f"({fields.year})" if fields.year is not None else "(n.d.)"
    parts = [_sentence(authors), f"{year}.", _sentence(title)] if authors \
        else [_sentence(title), f"{year}."]
    source = _source(fields)
    if source:
        parts.append(_sentence(source))
    publisher = one_line(fields.publisher)
    if publisher and not source:
        parts.append(_sentence(publisher))
    holder = one_line(member_name)
    if holder and holder.casefold() != publisher.casefold():
        parts.append(_sentence(f"Held by {holder}"))
    doi = one_line(next(iter(fields.identifiers.get("doi", ())), ""))
    if doi:
        parts.append("https://doi.org/" + doi.replace(" ", ""))
    return " ".join(parts)

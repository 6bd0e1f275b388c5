"""Controlled vocabularies: language values to ISO 639-1 codes, type values to our types."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["TYPES", "is_textual", "language_code", "language_codes", "resolve_type",
           "type_of"]

TYPES = (
    "Book", "Article", "Thesis", "Dissertation", "Report", "Dataset", "Conference paper",
    "Book chapter", "Journal", "Image", "Video", "Audio", "Map", "Software", "Other",
)

# ISO 639-1 code, then ISO 639-2 (B and T) / 639-3 / retired codes, then names in
# English, Indonesian and the language itself. Regional languages of Indonesia that
# have no 639-1 code map to their three-letter code.
_LANGUAGES: tuple[tuple[str, str, str], ...] = (
    ("id", "ind in", "indonesian|indonesia|bahasa indonesia|bahasa|indo"),
    ("en", "eng", "english|inggris|bahasa inggris"),
    ("jv", "jav jw", "javanese|jawa|basa jawa|jowo"),
    ("su", "sun", "sundanese|sunda|basa sunda"),
    ("ms", "msa may zsm zlm", "malay|melayu|bahasa melayu|bahasa malaysia|malaysia"),
    ("ar", "ara arb", "arabic|arab|arabiyah|bahasa arab"),
    ("zh", "zho chi cmn", "chinese|mandarin|cina|china|tionghoa|bahasa mandarin"),
    ("ja", "jpn", "japanese|jepang|japan|nihongo"),
    ("ko", "kor", "korean|korea"),
    ("fr", "fre fra", "french|perancis|prancis|français|francais"),
    ("de", "ger deu", "german|jerman|deutsch"),
    ("nl", "dut nld", "dutch|belanda|nederlands|flemish"),
    ("es", "spa", "spanish|spanyol|castilian|spanish castilian|español|espanol"),
    ("pt", "por", "portuguese|portugis|português|portugues"),
    ("ru", "rus", "russian|rusia"),
    ("it", "ita", "italian|italia|italiano"),
    ("hi", "hin", "hindi"),
    ("th", "tha", "thai|thailand"),
    ("vi", "vie", "vietnamese|vietnam"),
    ("tl", "tgl fil", "tagalog|filipino"),
    ("tr", "tur", "turkish|turki"),
    ("fa", "per fas", "persian|farsi|persia|parsi"),
    ("ur", "urd", "urdu"),
    ("bn", "ben", "bengali|bangla"),
    ("ta", "tam", "tamil"),
    ("pl", "pol", "polish|polandia"),
    ("sv", "swe", "swedish|swedia"),
    ("no", "nor nob nno", "norwegian|norwegia"),
    ("da", "dan", "danish|denmark"),
    ("fi", "fin", "finnish|finlandia"),
    ("el", "gre ell", "greek|yunani"),
    ("he", "heb", "hebrew|ibrani"),
    ("la", "lat", "latin"),
    ("sa", "san", "sanskrit|sanskerta"),
    ("cs", "cze ces", "czech|ceko"),
    ("hu", "hun", "hungarian|hongaria"),
    ("uk", "ukr", "ukrainian|ukraina"),
    ("ro", "rum ron", "romanian|rumania"),
    ("ban", "ban", "balinese|bali"),
    ("mad", "mad", "madurese|madura"),
    ("min", "min", "minangkabau|minang"),
    ("bug", "bug", "buginese|bugis"),
    ("ace", "ace", "acehnese|aceh"),
    ("bjn", "bjn", "banjarese|banjar"),
)


def _language_tables() -> tuple[dict[str, str], dict[str, str]]:
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for target, others, spelled in _LANGUAGES:
        codes[target] = target
        for code in others.split():
            codes[code] = target
        for name in spelled.split("|"):
            names[_name_key(name)] = target
    return codes, names


_NOT_LETTERS = re.compile(r"[\W\d_]+")
_CODE_SHAPE = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*")
_LIST_SPLIT = re.compile(r"\s*[;,/|]\s*|\s+(?:and|dan|&)\s+")


def _name_key(value: str) -> str:
    """Letters only, lower case, without a leading "bahasa"/"basa" or trailing "language"."""
    key = _NOT_LETTERS.sub("", value.casefold())
    if key.endswith("language"):
        key = key[: -len("language")]
    return key


_CODES, _NAMES = _language_tables()


@lru_cache(maxsize=4096)
def language_code(value: str) -> str | None:
    """Map one language value to an ISO 639-1 code (or our code for regional languages).

    Args:
        value: a code (``ind``, ``en_US``, ``en-GB``) or a name (``Bahasa Indonesia``).

    Returns:
        The code, or ``None`` when the value is not recognised.
    """
    text = value.strip().casefold()
    shape = _CODE_SHAPE.fullmatch(text)
    if shape is not None:
        found = _CODES.get(shape.group(1))
        if found is not None:
            return found
    return _NAMES.get(_name_key(text))


def language_codes(values: Iterable[str]) -> tuple[str, ...]:
    """Map language values to codes, keeping unrecognised values as harvested (stripped).

    A value naming several languages (``en; id``, ``Spanish, Castilian``) gives one code
    per recognised part; it is kept whole when any part is not recognised.
    """
    out: dict[str, None] = {}
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        code = language_code(value)
        if code is not None:
            out[code] = None
            continue
        parts = [p for p in _LIST_SPLIT.split(value) if p]
        mapped = [language_code(p) for p in parts] if len(parts) > 1 else [None]
        if all(mapped):
            out.update(dict.fromkeys(m for m in mapped if m))
        else:
            out[" ".join(value.split())] = None
    return tuple(out)


# Sentinels for values that say nothing about the kind of work.
_WEAK = ""  # "Text": true of nearly everything
_IGNORE = "-"  # versions and peer-review status (info:eu-repo/semantics/publishedVersion)

_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "Thesis": ("thesis", "tesis", "skripsi", "bachelorthesis", "masterthesis",
               "mastersthesis", "thesismasters", "thesisbachelor", "thesisundergraduate",
               "undergraduatethesis", "tugasakhir", "c46ec", "cbdcc", "c7a1f", "studentthesis"),
    "Dissertation": ("dissertation", "disertasi", "doctoralthesis", "thesisdoctoral",
                     "phdthesis", "cdb06"),
    "Article": ("article", "articles", "artikel", "journalarticle", "peerreviewedarticle",
                "artikeljurnal", "jurnalartikel", "contributiontojournal", "c6501", "c2df8fbb1",
                "researcharticle", "reviewarticle", "articulo", "artigo", "preprint"),
    "Book": ("book", "books", "buku", "monograph", "monografi", "bukuteks", "bukuajar",
             "ebook", "c2f33", "textbook"),
    "Book chapter": ("bookpart", "booksection", "bookchapter", "chapter", "babbuku",
                     "bagianbuku", "c3248", "partofbook"),
    "Conference paper": ("conferenceobject", "conferenceitem", "conferencepaper",
                         "conferenceproceedings", "proceedings", "prosiding", "proceeding",
                         "conferenceorworkshopitem", "makalahseminar", "seminar", "c5794",
                         "cc94f", "conferencecontribution"),
    "Report": ("report", "laporan", "workingpaper", "technicalreport", "laporanpenelitian",
               "researchreport", "c93fc", "c18ws", "discussionpaper"),
    "Dataset": ("dataset", "datasets", "data", "cddb1", "researchdata"),
    "Journal": ("journal", "jurnal", "periodical", "serial", "majalah", "magazine",
                "c0640", "newspaper", "suratkabar"),
    "Image": ("image", "stillimage", "gambar", "foto", "photograph", "photo", "picture",
              "cc513", "artwork", "poster"),
    "Video": ("movingimage", "video", "film", "c12ce"),
    "Audio": ("sound", "audio", "soundrecording", "rekamansuara", "c18cc"),
    "Map": ("map", "peta", "cartographic", "cartographicmaterial", "c12cd", "atlas"),
    "Software": ("software", "perangkatlunak", "computerprogram", "c5ce6", "softwaremultimedia"),
    "Other": ("other", "lainnya", "lainlain", "misc", "physicalobject",
              "threedimensionalobject", "mixedmaterial", "kit", "c1843"),
    _WEAK: ("text", "teks", "texts", "textual", "printedtext", "tekscetak"),
    _IGNORE: ("publishedversion", "acceptedversion", "submittedversion", "draft",
              "updatedversion", "peerreviewed", "nonpeerreviewed", "refereed", "notrefereed",
              "version", "none", "unknown"),
}
_TYPE_TABLE = {word: target for target, words in _TYPE_WORDS.items() for word in words}
# Tried in order inside longer values ("Skripsi S1 Manajemen", "Laporan Kerja Praktik").
_TYPE_PARTS = (
    ("disertasi", "Dissertation"), ("dissertation", "Dissertation"),
    ("doctoral", "Dissertation"), ("skripsi", "Thesis"), ("tesis", "Thesis"),
    ("thesis", "Thesis"), ("prosiding", "Conference paper"),
    ("proceeding", "Conference paper"), ("conference", "Conference paper"),
    ("seminar", "Conference paper"), ("laporan", "Report"), ("report", "Report"),
    ("artikel", "Article"), ("article", "Article"), ("artículo", "Article"),
    ("artigo", "Article"), ("chapter", "Book chapter"), ("jurnal", "Journal"),
    ("journal", "Journal"), ("buku", "Book"), ("book", "Book"), ("dataset", "Dataset"),
    ("peta", "Map"), ("video", "Video"),
)
_TYPE_PREFIX = re.compile(
    r"^(?:info:eu-repo/semantics/|doc-type:|https?://purl\.org/coar/resource_type/"
    r"|https?://purl\.org/dc/dcmitype/|dcmitype:)", re.IGNORECASE)


_NOT_WORD = re.compile(r"[\W_]+")


def _type_key(value: str) -> str:
    """Lower-case letters and digits of a type value, without a vocabulary prefix."""
    return _NOT_WORD.sub("", _TYPE_PREFIX.sub("", value.strip()).casefold())


@lru_cache(maxsize=4096)
def _lookup_type(value: str) -> str | None:
    """Return a type, ``_WEAK``, ``_IGNORE`` or None for one raw value."""
    key = _type_key(value)
    if not key:
        return None
    found = _TYPE_TABLE.get(key)
    if found is not None:
        return found
    for part, target in _TYPE_PARTS:
        if part in key:
            return target
    return None


def type_of(value: str) -> str | None:
    """Map one type value to the controlled list, or None (unknown, weak or a version)."""
    found = _lookup_type(value)
    return None if found in (_WEAK, _IGNORE) else found


def resolve_type(values: Iterable[str]) -> str | None:
    """Pick the controlled type for a record from all its type values.

    The first value that names a specific type wins; ``Other`` only when nothing more
    specific was found; a later "doctoral" value turns a generic Thesis into a
    Dissertation. ``Text`` alone, version statements and unknown values give None.
    """
    chosen: str | None = None
    other = False
    for value in values:
        found = _lookup_type(value)
        if found is None or found in (_WEAK, _IGNORE):
            continue
        if found == "Other":
            other = True
        elif chosen is None or (chosen == "Thesis" and found == "Dissertation"):
            chosen = found
    if chosen is None and other:
        return "Other"
    return chosen


def is_textual(values: Iterable[str]) -> bool:
    """Whether any type value says only "text" (``Text``, ``Teks``, DCMI Text)."""
    return any(_lookup_type(value) == _WEAK for value in values)

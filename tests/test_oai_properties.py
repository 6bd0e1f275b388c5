"""The feed's invariants, by Hypothesis: any request (any verb, names, values, control
characters, repeats, dates, sets, prefixes, tokens) gets a schema-valid answer or the
right OAI error, never a 500; tokens round-trip and refuse any altered byte; set specs
and identifiers round-trip for any text."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.config import load_settings
from aggregator.errors import OAIRequestError
from aggregator.oai.naming import (
    decode_spec,
    encode_spec,
    parse_identifier,
    record_identifier,
    uri_form,
)
from aggregator.oai.tokens import TokenCodec
from aggregator.store.db import init_schema, make_engine
from aggregator.web import create_app
from oaifeed import BASE_URL, REPOSITORY_ID, Network, dc, error_code, gone, marc, mods, parse, xp

VERBS = ("Identify", "ListMetadataFormats", "ListSets", "GetRecord", "ListIdentifiers",
         "ListRecords")
# verb -> (required, optional) arguments, from the protocol's section 4 (not the feed's
# own table, so a slip there is caught here)
ARGUMENTS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
RESUMABLE = {"ListIdentifiers", "ListRecords", "ListSets"}
# OAI-PMH.xsd's metadataPrefixType and setSpecType
PREFIX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
SETSPEC = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
OFFERED = {"oai_dc", "marc21", "mods"}  # the formats this network has records in
SOME_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # any text HTTP carries


@dataclass(frozen=True)
class Feed:
    """The app over a small network, its identifiers and some of its tokens."""

    client: FlaskClient
    formats: dict[str, set[str]]  # identifier -> the formats it has
    tokens: dict[str, str]  # token -> the verb it continues


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    data = Path(tmp_path_factory.mktemp("feed"))
    base = load_settings(environ={}, data_dir=str(data))
    engine = make_engine(base)
    init_schema(engine)
    net = Network(engine)
    net.member("kota", "https://kota.example/oai.php")
    net.member("unira", "https://unira.example/oai", prefix="marcxml")
    net.member("ipk", "https://ipk.example/oai", prefix="mods")
    net.member("desa", "https://desa.example/oai")
    net.put("kota", [dc(f"oai:slims/{i}", f"Judul {i}", n=i, sets=("buku", "a b"),
                        kind="Skripsi") for i in range(1, 6)])
    net.put("kota", [gone("oai:slims/5")])
    net.put("unira", [marc(f"oai:unira:{i}", f"Marc {i}", n=i) for i in range(1, 4)],
            prefix="marcxml")
    net.put("ipk", [mods(f"oai:ipk:{i}", f"Tesis {i}") for i in range(1, 4)], prefix="mods")
    net.put("desa", [dc("oai:desa/1", "Desa")])
    net.remove("desa")
    settings = replace(base, base_url=BASE_URL, oai_repository_id=REPOSITORY_ID,
                       oai_page_size=2)
    client = create_app(settings, engine=engine).test_client()
    formats = {record_identifier(REPOSITORY_ID, "kota", f"oai:slims/{i}"): {"oai_dc", "marc21"}
               for i in range(1, 6)}
    formats |= {record_identifier(REPOSITORY_ID, "unira", f"oai:unira:{i}"): {"oai_dc", "marc21"}
                for i in range(1, 4)}
    formats |= {record_identifier(REPOSITORY_ID, "ipk", f"oai:ipk:{i}"): OFFERED
                for i in range(1, 4)}
    formats[record_identifier(REPOSITORY_ID, "desa", "oai:desa/1")] = {"oai_dc", "marc21"}
    tokens = {}
    for verb, prefix in (("ListRecords", "oai_dc"), ("ListIdentifiers", "marc21"),
                         ("ListRecords", "mods")):
        page = parse(client.get("/oai", query_string={"verb": verb, "metadataPrefix": prefix}
                                ).get_data(), lax=True)
        tokens[str(xp(page, "//o:resumptionToken/text()")[0])] = verb
    yield Feed(client, formats, tokens)
    engine.dispose()


# -- any request ------------------------------------------------------------------------


def _dates() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
    return st.one_of(
        moments.map(lambda m: m.date().isoformat()),
        moments.map(lambda m: m.isoformat(timespec="seconds") + "Z"),
        st.sampled_from(["2024-13-01", "2024-02-30", "2024-01-01T24:00:00Z", "yesterday",
                         "2024-01-01T00:00:00", "2024-1-1", "9999-12-31T23:59:59Z",
                         "0000-01-01", " 2024-01-01", "2024-01-01Z", "2024-01-01\n",
                         "٢٠٢٤-٠١-٠١", "2024-01-01T00:00:00.5Z"]),
        SOME_TEXT)


def _values(feed: Feed) -> dict[str, st.SearchStrategy[Any]]:
    tokens = list(feed.tokens)
    altered = [t[:7] + ("A" if t[7] != "A" else "B") + t[8:] for t in tokens]
    altered += [t[:-1] for t in tokens] + [t + "A" for t in tokens]
    return {
        "verb": st.sampled_from([*VERBS, "Frobnicate", "", "listrecords", "Identify "]),
        "metadataPrefix": st.sampled_from([*OFFERED, "oai_datacite", "ead", "oai dc", ""]),
        "identifier": st.sampled_from([*feed.formats, f"oai:{REPOSITORY_ID}:kota/nope",
                                       "oai:other.example:kota/oai:slims/1", "x", ""]),
        "from": _dates(),
        "until": _dates(),
        "set": st.sampled_from(["member", "member:kota", "member:kota:buku", "member:kota:a~20b",
                                "member:kota:~zz", "member:nobody", "member:desa", "type",
                                "type:thesis", "type:nothing", "shelf", "bad set", "member:",
                                "a::b", ""]),
        "resumptionToken": st.sampled_from(tokens + altered + ["", "abc"]),
    }


@st.composite
def requests(draw: st.DrawFn, feed: Feed) -> list[tuple[str, Any]]:
    """Arguments as sent. Mostly a verb with its required arguments and some of its
    optional ones (or a token), values mostly from the pools, now and then one argument
    more (repeated or illegal); else anything, a verb none, once or twice. Values: from
    the pools, or any text (control characters included), or bytes that are not UTF-8."""
    pools = _values(feed)
    anything = st.one_of(SOME_TEXT, st.binary(max_size=6))

    def value(name: str) -> Any:
        pool = pools.get(name, SOME_TEXT)
        return draw(pool if draw(st.integers(0, 5)) else anything)

    if draw(st.integers(0, 3)):
        verb = draw(st.sampled_from(VERBS))
        required, optional = ARGUMENTS[verb]
        names = sorted(required) + [n for n in sorted(optional) if draw(st.booleans())]
        if verb in RESUMABLE and not draw(st.integers(0, 3)):
            names = ["resumptionToken"]
        if not draw(st.integers(0, 4)):
            names.append(draw(st.sampled_from([*sorted(pools), "colour"])))
        pairs = [("verb", verb)]
    else:
        pairs = [("verb", value("verb")) for _ in range(draw(st.sampled_from([1, 0, 2])))]
        names = draw(st.lists(st.sampled_from([*sorted(pools), "colour", "Verb", ""]),
                              max_size=4))
    pairs += [(name, value(name)) for name in names]
    return draw(st.permutations(pairs))


def _bound(value: str, *, upper: bool) -> tuple[str, datetime] | None:
    """A from/until value read as the protocol says (None: not a datestamp)."""
    for kind, fmt, pattern, step in (
            ("seconds", "%Y-%m-%dT%H:%M:%SZ", "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
             "[0-9]{2}Z", timedelta(seconds=1)),
            ("day", "%Y-%m-%d", "[0-9]{4}-[0-9]{2}-[0-9]{2}", timedelta(days=1))):
        if re.fullmatch(pattern, value):
            try:
                moment = datetime.strptime(value, fmt)
            except ValueError:
                return None
            if upper:  # the last instant it covers
                try:
                    moment = moment + step - timedelta(microseconds=1)
                except OverflowError:
                    moment = datetime.max
            return kind, moment
    return None


def expected(feed: Feed, pairs: list[tuple[str, Any]]) -> set[str | None]:
    """The answers the protocol allows: OAI error codes, ``None`` for a list, record or
    description."""
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        multi.setdefault(name, []).append(text)
    verbs = multi.pop("verb", [])
    if len(verbs) != 1 or verbs[0] not in VERBS:
        return {"badVerb"}
    verb = verbs[0]
    args = {name: values[0] for name, values in multi.items()}
    if any(len(values) > 1 or NOT_XML.search(values[0]) for values in multi.values()):
        return {"badArgument"}
    if "resumptionToken" in args and verb in RESUMABLE:
        if len(args) > 1:
            return {"badArgument"}
        return {None} if feed.tokens.get(args["resumptionToken"]) == verb else {
            "badResumptionToken"}
    required, optional = ARGUMENTS[verb]
    if set(args) - required - optional or required - set(args):
        return {"badArgument"}
    prefix = args.get("metadataPrefix")
    if prefix is not None and not PREFIX.fullmatch(prefix):
        return {"badArgument"}
    identifier = args.get("identifier")
    if verb == "GetRecord":
        assert prefix is not None and identifier is not None
        if identifier not in feed.formats:
            return {"idDoesNotExist"} | ({"cannotDisseminateFormat"} if prefix not in OFFERED
                                        else set())
        return {None} if prefix in feed.formats[identifier] else {"cannotDisseminateFormat"}
    if verb == "ListMetadataFormats":
        return {None} if identifier is None or identifier in feed.formats else {
            "idDoesNotExist"}
    if verb not in ("ListRecords", "ListIdentifiers"):
        return {None}
    start = _bound(args["from"], upper=False) if "from" in args else None
    end = _bound(args["until"], upper=True) if "until" in args else None
    if (("from" in args and start is None) or ("until" in args and end is None)
            or (start and end and (start[0] != end[0] or start[1] > end[1]))
            or ("set" in args and not SETSPEC.fullmatch(args["set"]))):
        return {"badArgument"}
    if prefix not in OFFERED:
        return {"cannotDisseminateFormat"}
    if not ({"from", "until", "set"} & set(args)):
        return {None}  # every format offered has records
    return {None, "noRecordsMatch"}


def test_any_request_gets_a_valid_answer_or_the_right_error(feed: Feed) -> None:
    @settings(max_examples=250, deadline=timedelta(seconds=2), database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(pairs=requests(feed), post=st.booleans())
    @example(pairs=[("verb", "ListRecords"), ("metadataPrefix", "ead"),
                    ("from", "yesterday")], post=False)
    @example(pairs=[("verb", "ListIdentifiers"), ("metadataPrefix", "ead"),
                    ("set", "bad set")], post=False)
    @example(pairs=[("verb", "GetRecord"), ("metadataPrefix", "oai dc"),
                    ("identifier", "nope")], post=False)
    def check(pairs: list[tuple[str, Any]], post: bool) -> None:
        if post:
            response = feed.client.post("/oai", data=urlencode(pairs),
                                        content_type="application/x-www-form-urlencoded")
        else:
            response = feed.client.get("/oai?" + urlencode(pairs))
        assert response.status_code == 200, pairs
        body = response.get_data()
        root = parse(body, lax=b"http://www.loc.gov/mods/v3" in body)  # schema-valid
        code = error_code(root)
        allowed = expected(feed, pairs)
        assert code in allowed, (pairs, code, allowed, body[:1500])
        request = xp(root, "/o:OAI-PMH/o:request")[0]
        assert request.text == f"{BASE_URL}/oai"
        assert bool(request.attrib) == (code not in ("badVerb", "badArgument"))

    check()


# -- tokens ---------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
STATES = st.dictionaries(st.text(max_size=6).filter(lambda k: k != "x"), JSON, max_size=6)
BASE64_CHARS = string.ascii_letters + string.digits + "+/-_="
CODECS = [TokenCodec(b"secret"), TokenCodec(b"secret", magic=b"v1"),
          TokenCodec(b"secret", urlsafe=False), TokenCodec(b"secret", urlsafe=False, padded=True)]


def _refused(codec: TokenCodec, token: str) -> bool:
    try:
        codec.decode(token, now=0.0)
    except OAIRequestError as error:
        assert error.code == "badResumptionToken"
        return True
    return False


@settings(max_examples=200, deadline=None, database=None)
@given(state=STATES, which=st.sampled_from(range(len(CODECS))), data=st.data())
def test_tokens_round_trip_and_refuse_any_altered_byte(state: dict[str, Any], which: int,
                                                       data: st.DataObject) -> None:
    codec = CODECS[which]
    token = codec.encode(state)
    assert codec.decode(token, now=0.0) == state
    raw = token.encode("latin-1")
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]), label="byte")
    altered = raw[:at] + bytes([byte]) + raw[at + 1:]
    assert _refused(codec, altered.decode("latin-1")), (token, at, byte)
    # the last characters carry base64's spare bits and the padding: every other
    # character of the alphabets there
    for at in range(max(0, len(token) - 3), len(token)):
        for char in BASE64_CHARS.replace(token[at], ""):
            assert _refused(codec, token[:at] + char + token[at + 1:]), (token, at, char)
    assert _refused(codec, token[:at])  # cut short
    assert _refused(TokenCodec(b"another secret", urlsafe=which < 2), token)


def test_a_token_spelt_with_base64_spare_bits_set_is_refused() -> None:
    """"QQ==" and "QR==" decode to the same byte: only the spelling we wrote is ours."""
    codec = TokenCodec(b"secret", urlsafe=False, padded=True)
    token = codec.encode({})
    assert token.endswith("g==")
    assert _refused(codec, token[:-3] + "h==")


def test_a_token_past_its_expiry_is_refused() -> None:
    codec = TokenCodec(b"secret")
    token = codec.encode({"a": 1, "x": 1000})
    assert codec.decode(token, now=1000.0)["a"] == 1
    with pytest.raises(OAIRequestError, match="expired"):
        codec.decode(token, now=1000.5)


# -- names ------------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # harvested XML has no surrogates
OAI_IDENTIFIER = re.compile(  # oai-identifier.xsd's sampleIdentifier pattern
    r"oai:[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+:[a-zA-Z0-9\-_\.!~\*'\(\);/\?:@&=\+$,%]+")
SLUGS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
_ANY_URI = etree.XMLSchema(etree.fromstring(
    b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
    b'<xs:element name="u" type="xs:anyURI"/></xs:schema>'))


@settings(max_examples=300, deadline=None, database=None)
@given(spec=ANY_TEXT)
@example(spec="koleksi:")
@example(spec="a~7Eb")
def test_member_set_specs_round_trip(spec: str) -> None:
    encoded = encode_spec(spec)
    assert SETSPEC.fullmatch(f"member:kota:{encoded}")
    assert decode_spec(encoded) == spec
    if SETSPEC.fullmatch(spec) and "~" not in spec:  # "~" is how escapes start
        assert encoded == spec


@settings(max_examples=300, deadline=None, database=None)
@given(slug=SLUGS, local=ANY_TEXT.filter(bool))
@example(slug="kota", local="oai:slims/50%-diskon")
@example(slug="kota", local="a/b%2Fc")
def test_record_identifiers_round_trip(slug: str, local: str) -> None:
    identifier = record_identifier(REPOSITORY_ID, slug, local)
    assert OAI_IDENTIFIER.fullmatch(identifier)
    assert parse_identifier(REPOSITORY_ID, identifier) == (slug, local)
    assert parse_identifier("other.example", identifier) is None


@settings(max_examples=300, deadline=None, database=None)
@given(text=ANY_TEXT.filter(bool))
@example(text="//x:y:z")
@example(text="http://[::1]:80/a?b#c")
def test_provenance_identifiers_are_always_uris(text: str) -> None:
    form = uri_form(text)
    element = etree.Element("u")
    element.text = NOT_XML.sub("", form)
    assert form == element.text and _ANY_URI.validate(element), (text, form)
    assert form == text or unquote(form) == text

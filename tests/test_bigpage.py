"""Large list pages: parsed as a stream with bounded memory, and to the same result as whole."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aggregator.demo.oaiserver import OAIServer, Repository, Response
from aggregator.errors import AggregatorError
from aggregator.harvest import parse
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.safe_xml import XMLElement, parse_bytes, parse_stream

OAI = "http://www.openarchives.org/OAI/2.0/"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "oai" / "responses"
DC = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
      "<dc:creator>Siregar, Budi</dc:creator><dc:description>{text}</dc:description>"
      "</oai_dc:dc>")
PROVENANCE = (
    '<about><provenance xmlns="http://www.openarchives.org/OAI/2.0/provenance">'
    '<originDescription harvestDate="2024-01-01T00:00:00Z" altered="false">'
    "<baseURL>http://up.example/oai</baseURL><identifier>oai:up:1</identifier>"
    "<datestamp>2023-01-01</datestamp>"
    "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"
    "</originDescription></provenance></about>")


def rec(ident: str, metadata: str | None = None, *, status: str = "", sets: str = "",
        about: str = "") -> str:
    status_attr = f' status="{status}"' if status else ""
    body = "" if metadata == "" else (
        f"<metadata>{metadata if metadata is not None else DC.format(title=ident, text='x')}"
        "</metadata>")
    ident_el = f"<identifier>{ident}</identifier>" if ident else ""
    return (f"<record><header{status_attr}>{ident_el}<datestamp>2024-01-02</datestamp>"
            f"{sets}</header>{body}{about}</record>\n")


def page(items: str, *, verb: str = "ListRecords", root: str = f'<OAI-PMH xmlns="{OAI}">',
         close: str = "</OAI-PMH>") -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"{root}<responseDate>2024-05-01T10:00:00Z</responseDate>"
            f'<request verb="{verb}">http://example.org/oai</request>'
            f"<{verb}>{items}</{verb}>{close}").encode()


TOKEN = '<resumptionToken completeListSize="9" cursor="0">tok/1</resumptionToken>'
PAGES = {
    "plain": page(rec("a") + rec("b") + rec("c") + TOKEN),
    "token-first": page(TOKEN + rec("a") + rec("b")),
    "two-tokens": page(rec("a") + "<resumptionToken>1</resumptionToken>" + rec("b")
                       + "<resumptionToken/>"),
    "odd-records": page(rec("a") + rec("") + rec("b", status="deleted") + rec("c", "")
                        + rec("d", sets="<setSpec>s</setSpec><setSpec>s</setSpec>")
                        + rec("e", about=PROVENANCE) + rec("f", about="<about><x/></about>")
                        + rec("g", about='<about><provenance xmlns="http://www.openarchives'
                                         '.org/OAI/2.0/provenance"><bad/></provenance>'
                                         "</about>")),
    "comments": page("<!-- c -->" + rec("a") + "<?pi x?>" + rec("b") + "<other/>" + rec("c")),
    "nested-records": page(rec("m", '<record xmlns="http://www.loc.gov/MARC21/slim">'
                                    "<leader>x</leader></record>")
                           + rec("n", "<record><leader>y</leader></record>")),
    "second-list": page(rec("a")).replace(b"</ListRecords>",
                                          b"</ListRecords><ListRecords>" + rec("z").encode()
                                          + b"</ListRecords>"),
    "no-namespace": page(rec("a") + rec("b"), root="<OAI-PMH>"),
    "prefixed": page(rec("a").replace("<record>", "<oai:record>")
                     .replace("</record>", "</oai:record>"),
                     root=f'<oai:OAI-PMH xmlns:oai="{OAI}">', close="</oai:OAI-PMH>"),
    "wrong-ns-records": page(rec("a").replace("<record>", '<record xmlns="urn:x">')),
    "identifiers": page('<header><identifier>h1</identifier></header><header status="deleted">'
                        "<identifier>h2</identifier></header><header/>" + TOKEN,
                        verb="ListIdentifiers"),
    "getrecord": page(rec("a"), verb="GetRecord"),
    "no-records-match": page("").replace(b"<ListRecords></ListRecords>",
                                         b'<error code="noRecordsMatch">none</error>'),
    "error-after-list": page(rec("a")).replace(b"</OAI-PMH>",
                                               b'<error code="badArgument">x</error></OAI-PMH>'),
    "other-verb": page(rec("a"), verb="ListSets"),
    "not-oai": b"<html><body><record/></body></html>",
    "bad-amp": page(rec("a") + rec("b", DC.format(title="R & D", text="y")) + rec("c")),
    "bad-record": page(rec("a") + rec("b", DC.format(title="<i>open", text="y")) + rec("c")
                       + TOKEN),
    "control-chars": page(rec("a", DC.format(title="bell \x07", text="y"))),
    "undefined-entity": page(rec("a", DC.format(title="&nbsp;", text="y"))),
    "doctype": page(rec("a")).replace(b"?>\n", b"?>\n<!DOCTYPE OAI-PMH>"),
    "utf16": page(rec("a") + rec("b")).replace(b"UTF-8", b"UTF-16").decode().encode("utf-16"),
    # a DOCTYPE the byte-level check cannot read: refused once parsed, entity never loaded
    "utf16-xxe": page(rec("a", DC.format(title="&xxe;", text="y"))).replace(b"UTF-8", b"UTF-16")
    .replace(b"?>\n", b'?>\n<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
    .decode().encode("utf-16"),
}


def outcome(data: bytes, verb: str) -> Any:
    """The page parsed, or the error it raised (type, message and details)."""
    try:
        return parse_list_page(data, verb=verb)
    except AggregatorError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "sample", None),
                getattr(exc, "at_eof", None), getattr(exc, "code", None))


def both_ways(data: bytes, verb: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """Parse as a whole tree and as a stream."""
    monkeypatch.setattr(parse, "STREAM_FROM_BYTES", 1 << 62)
    whole = outcome(data, verb)
    monkeypatch.setattr(parse, "STREAM_FROM_BYTES", 0)
    return whole, outcome(data, verb)


def variants(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    """The page cut short and with bytes that break it inserted, ``count`` of each."""
    junk = [b"<", b"&", b"\x00", b"\xff", b"</x>", b"<a b='", b"]]>", b"&#0;", b"&e;",
            b"</record>", b"<record>", b"\xc3", b"<![CDATA[", b"<!DOCTYPE a>"]
    out = []
    for _ in range(count):
        out.append(data[:rng.randrange(len(data) + 1)])
        at = rng.randrange(len(data) + 1)
        out.append(data[:at] + rng.choice(junk) + data[at:])
    return out


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers", "GetRecord"])
def test_stream_gives_the_same_page(name: str, verb: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    whole, streamed = both_ways(PAGES[name], verb, monkeypatch)
    assert streamed == whole
    refused = {"doctype": "ForbiddenXML", "utf16-xxe": "NotOAIResponse"}  # root unsniffable
    if name in refused:
        assert streamed[0] == refused[name]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_stream_gives_the_same_page_when_broken(name: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Truncated and corrupted pages: repaired, salvaged or refused alike."""
    rng = random.Random(name)
    for data in variants(PAGES[name], rng, 15):
        whole, streamed = both_ways(data, "ListRecords", monkeypatch)
        assert streamed == whole, data


CORPUS_FILES = sorted(CORPUS.rglob("*.xml")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS_FILES, reason=f"response corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", CORPUS_FILES,
                         ids=[str(p.relative_to(CORPUS)) for p in CORPUS_FILES])
def test_stream_gives_the_same_page_on_the_corpus(path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = path.read_bytes()
    for verb in ("ListRecords", "ListIdentifiers", "GetRecord"):
        whole, streamed = both_ways(data, verb, monkeypatch)
        assert streamed == whole
    rng = random.Random(path.name)
    for broken in variants(data, rng, 5):
        whole, streamed = both_ways(broken, "ListRecords", monkeypatch)
        assert streamed == whole


def test_stream_errors_are_those_of_the_whole_parse() -> None:
    """The push parser words some errors its own way; parse_stream reports parse_bytes's."""
    rng = random.Random(3)
    data = PAGES["plain"]
    for broken in [b"", b"  ", *variants(data, rng, 60)]:
        try:
            parse_bytes(broken)
            expected = None
        except AggregatorError as exc:
            expected = (type(exc), str(exc), getattr(exc, "sample", None),
                        getattr(exc, "at_eof", None))
        try:
            parse_stream(broken, ("record",), lambda el: True)
            got = None
        except AggregatorError as exc:
            got = (type(exc), str(exc), getattr(exc, "sample", None),
                   getattr(exc, "at_eof", None))
        assert got == expected, broken


def test_stream_drops_what_it_was_given() -> None:
    data = page(rec("a") + rec("b") + TOKEN + rec("c"))
    seen: list[str] = []

    def take(el: XMLElement) -> bool:
        header = next(iter(el))
        seen.append(next(iter(header)).text or "")
        return seen[-1] != "b"  # keep b

    root = parse_stream(data, ("{" + OAI + "}record",), take)
    assert seen == ["a", "b", "c"]
    list_el = [el for el in root if el.tag == "{" + OAI + "}ListRecords"][0]
    kept = [str(el.tag).rpartition("}")[2] for el in list_el]
    assert kept == ["record", "resumptionToken"]


def test_small_pages_are_parsed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the threshold the (faster) whole-tree parse is used."""
    calls: list[int] = []
    real = parse.parse_stream

    def spy(data: bytes, *args: Any) -> XMLElement:
        calls.append(len(data))
        return real(data, *args)

    monkeypatch.setattr(parse, "parse_stream", spy)
    parse_list_page(PAGES["plain"])
    assert calls == []
    monkeypatch.setattr(parse, "STREAM_FROM_BYTES", len(PAGES["plain"]))
    assert parse_list_page(PAGES["plain"]).token == "tok/1"
    assert calls == [len(PAGES["plain"])]


# --- memory ---------------------------------------------------------------------------

# The peak is read from VmHWM: ru_maxrss would start from the RSS of this (large) pytest
# process, which Linux keeps in the peak of a child across exec.
PARSE_CHILD = """
import gc, json, sys
from aggregator.harvest.parse import parse_list_page

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

data = open(sys.argv[1], "rb").read()
gc.collect()
before = peak_kb()
page = parse_list_page(data)
after = peak_kb()
print(json.dumps({"records": len(page.records), "token": page.token,
                  "growth_mb": (after - before) / 1024}))
"""
HAS_HWM = Path("/proc/self/status").is_file() and "VmHWM:" in Path("/proc/self/status").read_text()


def big_page(records: int, token: str = TOKEN) -> bytes:
    """A well-formed ListRecords page of about 800 bytes a record."""
    text = "Penelitian ini mengkaji literasi informasi di kalangan mahasiswa. " * 7
    items = [rec(f"oai:big.example:{n}", DC.format(title=f"Kajian nomor {n}", text=text))
             for n in range(records)]
    return page("".join(items) + token)


@pytest.mark.skipif(not HAS_HWM, reason="needs Linux's /proc/self/status")
@pytest.mark.parametrize("broken", [False, True], ids=["well-formed", "salvaged"])
def test_a_big_page_is_parsed_in_bounded_memory(broken: bool, tmp_path: Path) -> None:
    """A 38 MB page grew a parsing process by some 180 MB (its whole tree), and by 220 MB
    when one bad record had it salvaged record by record (every record's small tree
    kept); now what remains is its records (about 50 MB)."""
    data = big_page(48_000)
    assert len(data) > 36 << 20
    if broken:
        data = data.replace(b"Kajian nomor 7<", b"Kajian & nomor 7<")
    path = tmp_path / "page.xml"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-c", PARSE_CHILD, str(path)], check=True,
                         capture_output=True, text=True, timeout=120)
    result = json.loads(out.stdout)
    assert result["records"] == 48_000 - broken
    assert result["token"] == "tok/1"
    assert result["growth_mb"] < 100, result


def test_a_big_broken_page_is_repaired_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repair, and the verdict on a truncated page, are the same on the streaming path."""
    data = big_page(300).replace(b"Kajian nomor 7<", b"Kajian nomor 7\x07<")
    whole, streamed = both_ways(data, "ListRecords", monkeypatch)
    assert streamed == whole
    assert not isinstance(streamed, tuple)
    assert len(streamed.records) == 300
    assert [n.code for n in streamed.notices] == ["repaired-xml"]
    whole, streamed = both_ways(data[:-60], "ListRecords", monkeypatch)
    assert streamed == whole
    assert streamed[0] == "MalformedXML" and streamed[3]  # cut short: asked again


HARVEST_CHILD = """
import json, sys
from aggregator.cli import main
import aggregator.harvest.client, aggregator.pipeline  # loaded before the peak is read

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

main(["init"])
main(["members", "add", "big", "--name", "Big", "--url", sys.argv[1]])
before = peak_kb()
try:
    main(["harvest", "big", "--json", "--no-index"])
except SystemExit:
    pass
print(json.dumps({"growth_mb": (peak_kb() - before) / 1024}))
"""


@pytest.mark.skipif(not HAS_HWM, reason="needs Linux's /proc/self/status")
def test_a_big_page_is_harvested_in_bounded_memory(tmp_path: Path) -> None:
    """One 24 MB page of 30,000 records through the whole pipeline (fetch, parse,
    normalise in the worker, store in SQLite): the harvest process grew by some 190 MB
    (the body twice, the tree, the normalised page pickled, every row's parameters);
    now by some 80 MB."""
    records = 30_000
    data = big_page(records, token="")  # the whole list
    with OAIServer(Repository()) as server:
        server.quirk = lambda r: (Response(body=data) if r.params.get("verb") == "ListRecords"
                                  else None)
        env = dict(os.environ, AGGREGATOR_DATA_DIR=str(tmp_path),
                   AGGREGATOR_ALLOW_NETWORKS="127.0.0.0/8", AGGREGATOR_LOG_LEVEL="WARNING")
        env.pop("AGGREGATOR_DATABASE_URL", None)
        out = subprocess.run([sys.executable, "-c", HARVEST_CHILD, server.base_url],
                             check=True, capture_output=True, text=True, timeout=180, env=env)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    harvest, memory = lines[-2], lines[-1]
    assert (harvest["status"], harvest["new"]) == ("ok", records), out.stderr
    assert memory["growth_mb"] < 120, memory

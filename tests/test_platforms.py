"""Which platform answers: detected by `aggregator check` from what a real HTTP server
answering like SLiMS, OJS, EPrints, DSpace or Koha says, and from captured responses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import load_settings
from aggregator.errors import NotOAIResponse
from aggregator.harvest.check import CheckReport, check_endpoint, failed_report
from aggregator.harvest.findings import REPORT_CODES
from aggregator.harvest.identify import parse_identify
from aggregator.harvest.parse import parse_list_page
from aggregator.harvest.platform import Evidence, detect_platform
from httpfixture import LocalServer
from platform_pages import PLATFORMS, serve_platform

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "oai" / "responses"


@pytest.fixture(scope="module")
def reports() -> Iterator[dict[str, CheckReport]]:
    """One check of each platform's endpoint (a real server on 127.0.0.1)."""
    settings = load_settings(environ={}, allow_networks=("127.0.0.0/8",), max_retries=0)
    out = {}
    for name, platform in PLATFORMS.items():
        with LocalServer() as server:
            out[name] = check_endpoint(serve_platform(server, platform), settings)
    yield out


@pytest.mark.parametrize("name", list(PLATFORMS))
def test_each_platform_is_detected_from_its_answers(reports: dict[str, CheckReport],
                                                    name: str) -> None:
    report = reports[name]
    as_json = report.as_json()
    assert report.info["platform"] == as_json["platform"] == name
    assert bool(report.info["platform_clues"]) is (name != "unknown")


@pytest.mark.parametrize("name", list(PLATFORMS))
def test_every_finding_carries_a_known_code_next_to_its_text(
        reports: dict[str, CheckReport], name: str) -> None:
    as_json = reports[name].as_json()
    findings = as_json["findings"]
    assert all(f["code"] in REPORT_CODES for f in findings)
    assert as_json["errors"] == [f["message"] for f in findings if f["severity"] == "error"]
    assert as_json["warnings"] == [f["message"] for f in findings if f["severity"] == "warning"]
    assert as_json["ok"] is (not as_json["errors"])


@pytest.mark.parametrize(("name", "codes"), [
    ("slims", {"placeholder-identifier", "missing-datestamp", "default-repository-name",
               "default-admin-email", "empty-earliest-datestamp", "identify-repository-name"}),
    ("ojs", {"placeholder-identifier"}),
    ("eprints", {"placeholder-identifier", "default-policy"}),
    ("dspace", {"placeholder-identifier", "default-repository-name"}),
    ("koha", {"placeholder-identifier"}),
    ("unknown", set()),
])
def test_what_each_platform_leaves_at_its_defaults(reports: dict[str, CheckReport], name: str,
                                                   codes: set[str]) -> None:
    found = {f.code for f in reports[name].findings}
    assert codes <= found
    if name == "unknown":
        assert found == set()


def test_a_failed_probe_still_names_the_platform_from_the_url() -> None:
    report = failed_report("https://opac.example.ac.id/cgi-bin/koha/oai.pl",
                           NotOAIResponse("HTTP 200: not OAI-PMH (text/html)"))
    assert report.info["platform"] == "koha"
    assert [(f.severity, f.code) for f in report.findings] == [("error", "not-oai")]


# --- captured responses (../shared/oai) ------------------------------------------------

def corpus(*parts: str) -> bytes:
    path = CORPUS.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"response corpus not found at {CORPUS}")
    return path.read_bytes()


def evidence(base_url: str, identify: bytes | None = None, page: bytes | None = None,
             verb: str = "ListRecords") -> Evidence:
    info = parse_identify(identify) if identify is not None else None
    listed = parse_list_page(page, verb=verb) if page is not None else None
    records = listed.records if listed is not None else []
    extra: dict[str, Any] = {}
    if info is not None:
        extra = {"repository_name": info.repository_name,
                 "admin_emails": tuple(info.admin_emails),
                 "descriptions": tuple(info.descriptions), "granularity": info.granularity,
                 "earliest_datestamp": info.earliest_datestamp}
    return Evidence(base_url, identifiers=tuple(r.identifier for r in records),
                    set_specs=tuple(s for r in records for s in r.set_specs),
                    token=listed.token if listed is not None else None, **extra)


@pytest.mark.parametrize(("expected", "base_url", "identify", "page", "verb"), [
    ("slims", "http://perpustakaan.example.ac.id:80/slims/oai.php",
     ("slims-reconstructed", "Identify.reconstructed.xml"),
     ("slims-reconstructed", "ListRecords.reconstructed.xml"), "ListRecords"),
    ("ojs", "http://aprendeenlinea.udea.edu.co/revistas/index.php/ingenieria/oai", None,
     ("ojs-udea", "ListRecords_deleted_with_token.xml"), "ListRecords"),
    ("eprints", "http://eprints.ecs.soton.ac.uk/perl/oai2", None,
     ("eprints-ecs-soton", "ListIdentifiers_deleted_hex_setSpec_2004.xml"), "ListIdentifiers"),
    ("dspace", "http://dspace.ubib.eur.nl/oai/", ("dspace-erasmus-pyoai", "Identify.xml"),
     ("dspace-erasmus-pyoai", "GetRecord_hdl_identifier.xml"), "GetRecord"),
    ("unknown", "https://zenodo.org/oai2d", ("zenodo", "Identify.xml"),
     ("zenodo", "ListRecords_oai_dc_first_page.xml"), "ListRecords"),
])
def test_platforms_are_told_from_captured_answers(
        expected: str, base_url: str, identify: tuple[str, ...] | None,
        page: tuple[str, ...], verb: str) -> None:
    found = detect_platform(evidence(base_url, corpus(*identify) if identify else None,
                                     corpus(*page), verb))
    assert found.name == expected, found


def test_the_dspace_1_toolkit_alone_says_nothing() -> None:
    """OAICat is a toolkit anyone could run: without handles it is not DSpace."""
    found = detect_platform(evidence("http://dspace.ubib.eur.nl/oai/",
                                     corpus("dspace-erasmus-pyoai", "Identify.xml")))
    assert found.name == "unknown"


def test_identify_keeps_its_description_containers() -> None:
    info = parse_identify(PLATFORMS["ojs"].pages("Identify", "https://j.example.ac.id/oai"))
    assert [(d.name, d.namespace) for d in info.descriptions] == [
        ("oai-identifier", "http://www.openarchives.org/OAI/2.0/oai-identifier"),
        ("toolkit", "http://oai.dlib.vt.edu/OAI/metadata/toolkit")]
    assert info.descriptions[1].text.startswith("Open Journal Systems Public Knowledge")
    assert info.repository_identifier == "ojs.pkp.sfu.ca"

"""The endpoint report in plain language: every code translated, platform advice in both
languages, the one-line verdict, and what a registrant is not shown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aggregator.config import Settings, load_settings
from aggregator.harvest.check import probe_endpoint
from aggregator.harvest.findings import REPORT_CODES
from aggregator.harvest.platform import PLATFORMS as PLATFORM_KEYS
from aggregator.harvest.registration import REFUSALS
from aggregator.web.admin.advice import ADVICE, REFUSED_ADVICE
from aggregator.web.admin.report import (
    LANGUAGES,
    PLATFORM_NAMES,
    explain,
    platform_name,
    summary,
)
from aggregator.web.admin.texts import REFUSED, TEXTS
from httpfixture import LocalServer, Reply
from platform_pages import PLATFORMS, serve_platform

SETTINGS_LOCAL = {"allow_networks": ("127.0.0.0/8",), "max_retries": 0}


def report(*findings: tuple[str, str, str | None], platform: str = "unknown",
           **info: Any) -> dict[str, Any]:
    """A report as `CheckReport.as_json()` writes it, from (severity, code, sample)."""
    items = [{"severity": sev, "code": code, "message": f"{code} happened",
              **({"sample": sample} if sample else {})} for sev, code, sample in findings]
    return {"base_url": "https://repo.example.ac.id/oai", "platform": platform,
            "ok": not any(s == "error" for s, _, _ in findings),
            "errors": [i["message"] for i in items if i["severity"] == "error"],
            "warnings": [i["message"] for i in items if i["severity"] == "warning"],
            "findings": items, "info": {"platform": platform, **info}}


# --- every code has its words in every language -----------------------------------------

@pytest.mark.parametrize("code", sorted(REPORT_CODES))
def test_every_report_code_is_explained_in_both_languages(code: str) -> None:
    assert set(TEXTS[code]) == set(LANGUAGES)
    texts = {}
    for lang in LANGUAGES:
        first = explain(report(("warning", code, "ListSets")), lang)[0]
        assert first.code == code and first.message.strip()
        assert "{" not in first.message and "…" not in first.message, first.message
        texts[lang] = first.message
    assert texts["id"] != texts["en"]


@pytest.mark.parametrize("cause", sorted(REFUSALS))
def test_every_refusal_cause_is_explained_in_both_languages(cause: str) -> None:
    texts = [explain(report(("error", "refused-url", cause)), lang)[0].message
             for lang in LANGUAGES]
    assert texts == [REFUSED[cause][lang] for lang in LANGUAGES]
    assert texts[0] != texts[1]


def test_advice_tables_name_only_known_codes_platforms_and_languages() -> None:
    assert set(ADVICE) <= set(REPORT_CODES)
    assert set(REFUSED_ADVICE) <= set(REFUSALS)
    assert set(REPORT_CODES) - set(ADVICE) == {"refused-url"}  # advised per cause instead
    for code, table in ADVICE.items():
        assert "any" in table, code
        assert set(table) <= set(PLATFORM_KEYS) | {"any"}, code
        for entry in table.values():
            assert set(entry) == set(LANGUAGES) and all(entry.values()), code
            assert entry["id"] != entry["en"], code
    assert set(PLATFORM_NAMES) == set(PLATFORM_KEYS) | {"unknown"}


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="fr"):
        explain(report(), "fr")


# --- advice for the platform the endpoint runs, from a real server ------------------------

@pytest.fixture(scope="module")
def checked() -> Iterator[dict[str, dict[str, Any]]]:
    settings = load_settings(environ={}, **SETTINGS_LOCAL)
    out = {}
    for name, platform in PLATFORMS.items():
        with LocalServer() as server:
            out[name] = probe_endpoint(serve_platform(server, platform), settings).as_json()
    yield out


PLACEHOLDER_ADVICE = {
    "ojs": ("repository_id", "[oai]", "config.inc.php"),
    "slims": ("$sysconf['OAI']['identifierPrefix']", "sysconfig.inc.php"),
    "eprints": ("$oai->{v2}->{archive_id}", "cfg/cfg.d/oai.pl"),
    "dspace": ("handle.prefix", "local.cfg", "Handle.Net"),
    "koha": ("OAI-PMH:archiveID", "KOHA-OAI-TEST"),
}


@pytest.mark.parametrize("name", sorted(PLACEHOLDER_ADVICE))
def test_a_placeholder_identifier_is_explained_with_the_platforms_setting(
        checked: dict[str, dict[str, Any]], name: str) -> None:
    advice = {}
    for lang in LANGUAGES:
        (finding,) = [f for f in explain(checked[name], lang)
                      if f.code == "placeholder-identifier"]
        assert finding.severity == "warning"
        assert all(needle in finding.advice for needle in PLACEHOLDER_ADVICE[name])
        assert finding.detail and "identifiers use" in finding.detail
        advice[lang] = finding.advice
    assert advice["id"] != advice["en"]
    assert platform_name(checked[name], "en").lower().startswith(name)


def test_slims_gets_slims_advice_for_each_of_its_defaults(
        checked: dict[str, dict[str, Any]]) -> None:
    found = {f.code: f for f in explain(checked["slims"], "id")}
    assert "$sysconf['OAI']['Identify']['repositoryName']" in \
        found["default-repository-name"].advice
    assert "$sysconf['OAI']['Identify']['adminEmail']" in found["default-admin-email"].advice
    assert found["missing-datestamp"].severity == "error"
    assert "lib/oai-pmh.inc.php" in found["missing-datestamp"].advice
    assert "identify-earliest-datestamp" not in found  # said once, by the check itself
    assert summary(checked["slims"], "id") == ("Belum siap dipanen: ada 1 masalah yang harus "
                                               "diperbaiki lebih dulu.")
    assert summary(checked["slims"], "en") == "Not ready: 1 problem must be fixed first."


def test_other_platforms_get_their_own_settings(checked: dict[str, dict[str, Any]]) -> None:
    dspace = {f.code: f for f in explain(checked["dspace"], "en")}
    assert "dspace.name" in dspace["default-repository-name"].advice
    eprints = {f.code: f for f in explain(checked["eprints"], "id")}
    assert "$oai->{metadata_policy}" in eprints["default-policy"].advice
    unknown = explain(checked["unknown"], "id")
    assert [(f.severity, f.code) for f in unknown] == [("ok", "ready")]
    assert platform_name(checked["unknown"], "id") == "tidak dikenali"


# --- the verdict -------------------------------------------------------------------------

def test_summary_ready_ready_with_warnings_and_not_ready() -> None:
    ready = report(estimated_size=12345)
    warned = report(("warning", "no-complete-list-size", None),
                    ("warning", "placeholder-identifier", "oai:slims/1"),
                    ("warning", "placeholder-identifier", "oai:slims/2"))
    broken = report(("error", "no-oai-dc", None), ("warning", "bad-granularity", "x"))
    assert summary(ready, "en") == "Ready: this address can be registered as it is."
    assert summary(ready, "id").startswith("Siap dipanen:")
    assert summary(warned, "en").startswith("Ready with warnings") and "2 things" in \
        summary(warned, "en")
    assert "ada 2 hal" in summary(warned, "id")
    assert summary(broken, "en") == "Not ready: 1 problem must be fixed first."
    assert summary(broken, "id").startswith("Belum siap dipanen")
    (ok,) = [f for f in explain(ready, "id") if f.severity == "ok"]
    assert "12.345" in ok.message
    assert "12,345" in explain(ready, "en")[-1].message
    assert [f.severity for f in explain(broken, "en")] == ["error", "warning"]


def test_the_same_code_twice_is_one_finding_with_both_details() -> None:
    twice = report(("warning", "identify-missing", None), ("warning", "identify-missing", None))
    twice["findings"][1]["message"] = "Identify has no adminEmail"
    (finding, _ok) = explain(twice, "en")
    assert finding.detail == "identify-missing happened; Identify has no adminEmail"


# --- failures: a plain sentence, no technical message --------------------------------------

@pytest.fixture
def settings() -> Settings:
    return load_settings(environ={}, **SETTINGS_LOCAL)


def test_a_refused_url_is_a_report_too() -> None:
    strict = load_settings(environ={}, max_retries=0)
    as_json = probe_endpoint("http://0x7f000001/oai", strict).as_json()
    assert [(f["code"], f.get("sample")) for f in as_json["findings"]] == [
        ("refused-url", "loopback")]
    (finding,) = explain(as_json, "id")
    # the technical detail is the command line's own message (it names no address)
    assert finding.severity == "error" and finding.detail == REFUSALS["loopback"]
    assert finding.message == REFUSED["loopback"]["id"]
    assert "alamat publik" in finding.advice


def test_an_unreachable_endpoint_hides_its_technical_message(settings: Settings) -> None:
    as_json = probe_endpoint("http://127.0.0.1:9/oai", settings).as_json()
    assert [f["code"] for f in as_json["findings"]] == ["unreachable"]
    assert "127.0.0.1" in as_json["errors"][0]  # the operator's CLI keeps the detail
    (finding,) = explain(as_json, "en")
    assert finding.detail is None and "127.0.0.1" not in finding.message + finding.advice
    assert summary(as_json, "id").startswith("Belum siap dipanen")


def test_a_redirect_to_a_private_address_is_blocked_without_saying_where() -> None:
    strict = load_settings(environ={}, allow_networks=("127.0.0.1/32",), max_retries=0)
    with LocalServer() as server, LocalServer(host="127.0.0.2") as inner:
        server.serve(Reply(302, [("Location", f"{inner.base}/oai")]))
        as_json = probe_endpoint(server.url, strict).as_json()
        assert inner.seen == []
    assert [f["code"] for f in as_json["findings"]] == ["blocked-address"]
    (finding,) = explain(as_json, "id")
    assert finding.detail is None and "127.0.0.2" not in finding.message + finding.advice


def test_advice_follows_the_platform_whose_default_was_found() -> None:
    """An OJS identifier prefix behind an unrecognised front gets OJS's advice."""
    found = report(("warning", "placeholder-identifier", "oai:ojs.pkp.sfu.ca:article/7"))
    found["findings"][0]["platform"] = "ojs"
    (finding, _ok) = explain(found, "id")
    assert "repository_id" in finding.advice and "[oai]" in finding.advice
    (general, _ok) = explain(report(("warning", "placeholder-identifier", "x:1")), "en")
    assert general.advice == ADVICE["placeholder-identifier"]["any"]["en"]

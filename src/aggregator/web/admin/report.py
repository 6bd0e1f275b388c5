"""The endpoint report in plain language for the admin pages: one sentence per problem
with what to do about it on the detected platform, and a one-line verdict, in Bahasa
Indonesia (the default) or English.

It reads the JSON of :meth:`aggregator.harvest.check.CheckReport.as_json` (from
``probe_endpoint`` or ``aggregator check --json``), so a stored report can be explained
again later, in either language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aggregator.web.admin.advice import ADVICE, REFUSED_ADVICE
from aggregator.web.admin.texts import COUNTED, READY, REFUSED, SUMMARIES, TEXTS

__all__ = ["LANGUAGES", "PLATFORM_NAMES", "Finding", "explain", "platform_name", "summary"]

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
UNKNOWN = "unknown"
# Failures whose technical message names hosts and addresses: not shown to a registrant,
# lest the form tell them what the aggregator's network looks like from inside. (A
# refused URL's message names the cause only: it is shown, as the command line shows it.)
FAILURE_CODES = frozenset({
    "unreachable", "http-error", "blocked-address", "retry-later",
    "response-too-large", "not-oai", "malformed-xml", "identify-error", "wrong-verb",
})
# A parser notice says less than the check's own finding on the same matter.
SUPERSEDED: dict[str, tuple[str, ...]] = {
    "identify-granularity": ("bad-granularity",),
    "identify-earliest-datestamp": ("empty-earliest-datestamp", "bad-earliest-datestamp"),
}
PLATFORM_NAMES: dict[str, dict[str, str]] = {
    "slims": {"id": "SLiMS", "en": "SLiMS"},
    "ojs": {"id": "OJS (Open Journal Systems)", "en": "OJS (Open Journal Systems)"},
    "eprints": {"id": "EPrints", "en": "EPrints"},
    "dspace": {"id": "DSpace", "en": "DSpace"},
    "koha": {"id": "Koha", "en": "Koha"},
    UNKNOWN: {"id": "tidak dikenali", "en": "not recognised"},
}
_SIZE = {"id": " Perkiraan jumlah cantuman: {n}.", "en": " Estimated number of records: {n}."}
_MAX_DETAILS = 3


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the explained report.

    Attributes:
        severity: ``error`` (must be fixed before harvesting), ``warning`` (should be
            fixed) or ``ok`` (the endpoint is ready).
        code: the report code (``placeholder-identifier`` ...), or ``ready`` for ``ok``.
        message: one plain sentence saying what was found.
        advice: what the repository manager can do, naming the detected platform's real
            setting where there is one ("" when nothing can or need be done).
        detail: the technical English message(s), for the curious; ``None`` for failures
            (they name hosts and addresses) and for ``ok``.
    """

    severity: str
    code: str
    message: str
    advice: str
    detail: str | None = None


def explain(report_json: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> list[Finding]:
    """Explain a report: errors first, then warnings, one finding per code, then ``ok``
    when nothing stops harvesting.

    Args:
        report_json: what ``CheckReport.as_json()`` returned.
        lang: ``id`` (Bahasa Indonesia) or ``en``.

    Raises:
        ValueError: ``lang`` is not one of :data:`LANGUAGES`.
    """
    _require(lang)
    platform = _platform(report_json)
    grouped = _grouped(_findings(report_json))
    out = [Finding(_severity(items), code, _text(code, items[0].get("sample"), lang),
                   _advice(code, items[0], platform, lang), _detail(code, items))
           for code, items in grouped.items()]
    out.sort(key=lambda f: f.severity != "error")
    if not any(f.severity == "error" for f in out):
        out.append(Finding("ok", "ready", READY[lang] + _size(report_json, lang), ""))
    return out


def summary(report_json: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> str:
    """One line: ready, ready with warnings (how many), or not ready (how many errors)."""
    findings = explain(report_json, lang)
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    if errors:
        key, n = "not-ready", errors
    elif warnings:
        key, n = "warnings", warnings
    else:
        return SUMMARIES["ready"][lang]
    singular, plural = COUNTED[key][lang]
    return SUMMARIES[key][lang].format(count=f"{n} {singular if n == 1 else plural}")


def platform_name(report_json: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> str:
    """The detected platform's display name (``tidak dikenali`` / ``not recognised``)."""
    _require(lang)
    return PLATFORM_NAMES[_platform(report_json)][lang]


def _require(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")


def _platform(report_json: Mapping[str, Any]) -> str:
    name = report_json.get("platform") or report_json.get("info", {}).get("platform")
    return name if name in PLATFORM_NAMES else UNKNOWN


def _findings(report_json: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The report's findings (a report without codes: its messages as ``other-notice``)."""
    if "findings" in report_json:
        return list(report_json["findings"])
    return [{"severity": severity, "code": "other-notice", "message": message}
            for severity, key in (("error", "errors"), ("warning", "warnings"))
            for message in report_json.get(key, [])]


def _grouped(findings: list[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Findings by code in first-seen order, without those another one supersedes."""
    present = {f["code"] for f in findings}
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for item in findings:
        code = item["code"] if item["code"] in TEXTS else "other-notice"
        if present.intersection(SUPERSEDED.get(code, ())):
            continue
        grouped.setdefault(code, []).append(item)
    return grouped


def _severity(items: list[Mapping[str, Any]]) -> str:
    return "error" if any(i.get("severity") == "error" for i in items) else "warning"


def _text(code: str, sample: str | None, lang: str) -> str:
    if code == "refused-url" and sample in REFUSED:
        return REFUSED[sample][lang]
    return TEXTS[code][lang].format(sample=sample or "…")


def _advice(code: str, item: Mapping[str, Any], platform: str, lang: str) -> str:
    """The advice for ``platform``: the one whose shipped default the finding is about,
    else the endpoint's; general advice when there is none for it."""
    if code == "refused-url":
        return REFUSED_ADVICE.get(item.get("sample") or "", {}).get(lang, "")
    platform = item.get("platform") or platform
    table = ADVICE.get(code, {})
    entry = table.get(platform) or table.get("any")
    return entry[lang] if entry else ""


def _detail(code: str, items: list[Mapping[str, Any]]) -> str | None:
    if code in FAILURE_CODES:
        return None
    messages = list(dict.fromkeys(str(i.get("message", "")) for i in items))
    more = len(messages) - _MAX_DETAILS
    return "; ".join(messages[:_MAX_DETAILS]) + (f" (+{more})" if more > 0 else "")


def _size(report_json: Mapping[str, Any], lang: str) -> str:
    size = report_json.get("info", {}).get("estimated_size")
    if not isinstance(size, int) or isinstance(size, bool):
        return ""
    number = f"{size:,}".replace(",", "." if lang == "id" else ",")
    return _SIZE[lang].format(n=number)

"""`aggregator index report` on the demo network, before and after a renormalisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from aggregator.store.models import Record
from test_cli import cli, env  # noqa: F401  (the fixture is used by name)
from test_cli_search import demo  # noqa: F401


def report(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, _ = cli(capsys, "index", "report", "--json")
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


def test_report_on_the_demo(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    data = report(capsys)
    assert data["works"] > 250 and data["records"] >= data["works"]
    assert data["works_typed_percent"] >= 95.0  # SLiMS "Text" with ISBN or shelf mark
    assert data["records_classified"] > 100  # SLiMS DDC numbers
    assert data["articles"] > 0 and data["articles_with_journal"] > 0
    assert data["not_normalised"] == 0
    code, out, _ = cli(capsys, "index", "report")
    assert code == 0
    assert "works with a type" in out and "articles with journal details" in out


def test_renormalise_brings_old_records_up_to_date(
        demo: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    # Make the stored fields look like an older release wrote them.
    engine = create_engine(f"sqlite:///{demo / 'aggregator.sqlite3'}")
    with Session(engine) as session:
        for row in session.scalars(select(Record).where(Record.fields.is_not(None))):
            old = dict(row.fields or {})
            old.update(type=None, classification=[], journal_title=None)
            row.fields = old
        session.commit()
    engine.dispose()
    before = report(capsys)
    assert before["works_typed"] == 0
    assert before["records_classified"] == 0
    assert before["unmapped_types"][0][0] == "Text"
    code, out, _ = cli(capsys, "index", "rebuild", "--renormalise")
    assert code == 0, out
    after = report(capsys)
    assert after["works_typed_percent"] >= 95.0
    assert after["records_classified"] > 100

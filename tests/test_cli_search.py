"""`aggregator search` and `aggregator index …` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.cli_index import parse_years
from aggregator.errors import UserInputError
from test_cli import cli, env  # noqa: F401  (the fixture is used by name)


@pytest.fixture
def demo(env: dict[str, str], tmp_path: Path,  # noqa: F811
         capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample network harvested (and indexed) into its own folder."""
    folder = tmp_path / "demo"
    code, out, _ = cli(capsys, "demo", "--data-dir", str(folder), "--no-serve")
    assert code == 0, out
    monkeypatch.setenv("AGGREGATOR_DATA_DIR", str(folder))
    return folder


def test_search_json_has_one_hit_per_work_with_members_and_facets(
        demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "search", "pendidikan", "--per-page", "50", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["total"] >= 5
    assert "pendidikan" in result["hits"][0]["title"].lower()  # title matches rank first
    assert set(result["facets"]) == {"member", "type", "year", "language", "subject"}
    shared = [h for h in result["hits"] if len(h["members"]) > 1]
    assert shared, "the sample network holds some works at several members"


def test_filters_narrow_the_hits(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    everything = json.loads(cli(capsys, "search", "--json")[1])
    theses = json.loads(cli(capsys, "search", "--type", "Thesis", "--json")[1])
    recent = json.loads(cli(capsys, "search", "--year", "2020..", "--json")[1])
    member = json.loads(cli(capsys, "search", "--member", "unira", "--json")[1])
    assert 0 < theses["total"] < everything["total"]
    assert all(h["type"] == "Thesis" for h in theses["hits"])
    assert all(h["year"] is None or h["year"] >= 2020 for h in recent["hits"])
    assert all("unira" in h["members"] for h in member["hits"])


def test_plain_output_and_index_status(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "search", "padi")
    assert code == 0 and "works found" in out and "held by:" in out
    code, out, _ = cli(capsys, "index", "status", "--json")
    status = json.loads(out)
    assert status["clusters_behind"] == status["records_waiting_for_clustering"] == 0
    assert status["documents"] > 100
    code, out, _ = cli(capsys, "index", "rebuild")
    assert code == 0 and "indexed" in out
    assert json.loads(cli(capsys, "index", "status", "--json")[1])["documents"] == \
        status["documents"]


def test_rebuild_can_normalise_every_record_again(
        demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import select, update

    from aggregator.config import load_settings
    from aggregator.store.db import connect, make_engine
    from aggregator.store.models import Record

    engine = make_engine(load_settings(environ={}, data_dir=demo))
    with connect(engine) as conn:  # fields stored by an older, wrong normaliser
        rid, fields = conn.execute(select(Record.id, Record.fields).where(
            Record.fields.is_not(None)).order_by(Record.id)).first()  # type: ignore[misc]
        title = fields["title"]
        conn.execute(update(Record).where(Record.id == rid)
                     .values(fields={**fields, "title": "Judul Keliru Sekali"}))
    cli(capsys, "index", "rebuild")
    assert json.loads(cli(capsys, "search", "keliru", "--json")[1])["total"] == 1
    code, out, _ = cli(capsys, "index", "rebuild", "--renormalise")
    assert code == 0 and "normalised from their XML" in out
    assert json.loads(cli(capsys, "search", "keliru", "--json")[1])["total"] == 0
    with connect(engine) as conn:
        assert conn.scalar(select(Record.fields).where(Record.id == rid))["title"] == title
    engine.dispose()


def test_search_errors_are_one_line(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "search", "x", "--year", "abc")
    assert code == 2 and err.startswith("error:") and "--year" in err


def test_search_without_an_index_says_what_to_do(
        env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    cli(capsys, "init")
    code, _, err = cli(capsys, "search", "x")
    assert code == 2 and "index rebuild" in err


@pytest.mark.parametrize(("text", "expected"), [
    ("2019", (2019, 2019)), ("2019..2021", (2019, 2021)), ("..2005", (None, 2005)),
    ("2019..", (2019, None)), (None, (None, None)),
])
def test_year_ranges(text: str | None, expected: tuple[int | None, int | None]) -> None:
    assert parse_years(text) == expected


@pytest.mark.parametrize("text", ["abc", "2021..2019", "19", ".."])
def test_bad_year_ranges(text: str) -> None:
    with pytest.raises(UserInputError):
        parse_years(text)

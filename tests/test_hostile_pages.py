"""Pages crafted to make repair and salvage slow: linear time, whatever they repeat."""

from __future__ import annotations

import time

import pytest

from aggregator.errors import HarvestError
from aggregator.harvest.parse import parse_list_page

HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        b"<responseDate>2026-01-01T00:00:00Z</responseDate>"
        b'<request verb="ListRecords">http://x.example/oai</request><ListRecords>')
RECORD = (b"<record><header><identifier>oai:x:1</identifier>"
          b"<datestamp>2020-01-01</datestamp></header><metadata>"
          b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
          b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Judul</dc:title>'
          b"</oai_dc:dc></metadata></record>")
TAIL = b"</ListRecords></OAI-PMH>"


@pytest.mark.parametrize("unit", [b"<record ", b"<?xml ", b"<record a=\"", b"<?xml a ?"])
@pytest.mark.parametrize("size", [200_000, 1_000_000])
@pytest.mark.parametrize("end", [b"", RECORD + TAIL], ids=["cut", "closed"])
def test_crafted_repetitions_cost_linear_time(unit: bytes, size: int, end: bytes) -> None:
    """A 160 KB page of "<record " took 48 s of CPU, an 800 KB one about 20 minutes."""
    page = HEAD + RECORD + unit * (size // len(unit)) + end
    started = time.process_time()
    try:
        result = parse_list_page(page, verb="ListRecords")
    except HarvestError:
        result = None  # refusing the page is fine; taking minutes is not
    spent = time.process_time() - started
    assert spent < 3.0, (unit, size, spent)
    if result is not None and end:  # the records after the junk are kept
        assert "oai:x:1" in {r.identifier for r in result.records}

"""OAI-PMH answers shaped like those of SLiMS, OJS, EPrints, DSpace and Koha (and one
unknown platform), modelled on ../shared/oai/responses and PLATFORMS.md, served by a
real HTTP server keyed by verb.

Each platform is a :class:`Platform`: the path of its base URL and a function building
the answer to each verb for the base URL actually served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from httpfixture import LocalServer, Reply, Seen

OAI_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
            'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
            '<responseDate>2025-01-15T14:03:27Z</responseDate>\n')
DC_OPEN = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/">')
OAI_DC_FORMAT = ('<metadataFormat><metadataPrefix>oai_dc</metadataPrefix>'
                 '<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>'
                 '<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/'
                 '</metadataNamespace></metadataFormat>')
OAI_ID_NS = ('xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
             'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
             'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"')


def envelope(verb: str, base_url: str, body: str, **attrs: str) -> bytes:
    """One OAI-PMH answer to ``verb`` with ``body`` inside the verb's element."""
    request_attrs = "".join(f' {k}="{v}"' for k, v in {"verb": verb, **attrs}.items())
    return (f'{OAI_HEAD}<request{request_attrs}>{base_url}</request>\n'
            f'<{verb}>{body}</{verb}>\n</OAI-PMH>').encode()


def error(verb: str, base_url: str, code: str, text: str) -> bytes:
    return (f'{OAI_HEAD}<request verb="{verb}">{base_url}</request>\n'
            f'<error code="{code}">{text}</error>\n</OAI-PMH>').encode()


def identify(base_url: str, name: str, *, email: str, earliest: str, deleted: str,
             granularity: str, extra: str = "", descriptions: str = "") -> bytes:
    return envelope("Identify", base_url, (
        f"<repositoryName>{name}</repositoryName><baseURL>{base_url}</baseURL>"
        f"<protocolVersion>2.0</protocolVersion>{extra}<adminEmail>{email}</adminEmail>"
        f"<earliestDatestamp>{earliest}</earliestDatestamp>"
        f"<deletedRecord>{deleted}</deletedRecord><granularity>{granularity}</granularity>"
        f"{descriptions}"))


def oai_identifier(repository_id: str, sample: str) -> str:
    return (f"<description><oai-identifier {OAI_ID_NS}><scheme>oai</scheme>"
            f"<repositoryIdentifier>{repository_id}</repositoryIdentifier>"
            f"<delimiter>:</delimiter><sampleIdentifier>{sample}</sampleIdentifier>"
            f"</oai-identifier></description>")


def record(identifier: str, datestamp: str | None, specs: tuple[str, ...], title: str) -> str:
    stamp = f"<datestamp>{datestamp}</datestamp>" if datestamp else ""
    sets = "".join(f"<setSpec>{s}</setSpec>" for s in specs)
    return (f"<record><header><identifier>{identifier}</identifier>{stamp}{sets}</header>"
            f"<metadata>{DC_OPEN}<dc:title>{title}</dc:title>"
            f"<dc:creator>Sulistyo-Basuki</dc:creator><dc:language>ind</dc:language>"
            f"</oai_dc:dc></metadata></record>")


def sets(*pairs: tuple[str, str]) -> str:
    return "".join(f"<set><setSpec>{spec}</setSpec><setName>{name}</setName></set>"
                   for spec, name in pairs)


Pages = Callable[[str, str], bytes]  # (verb, base_url) -> body


@dataclass(frozen=True)
class Platform:
    """One platform's endpoint: where it lives and how it answers."""

    name: str
    path: str
    pages: Pages


def _slims(verb: str, base: str) -> bytes:
    # SLiMS 9 oai.php: repositoryName twice, empty earliestDatestamp, OAI 1.1 eprints
    # description, identifiers oai:slims/<biblio_id>, ListRecords headers without datestamp
    if verb == "Identify":
        return identify(
            base, "SLiMS Senayan Library Management System Repository",
            email="admin@slims.web.id", earliest="", deleted="transient",
            granularity="YYYY-MM-DDThh:mm:ssZ",
            extra="<repositoryName>SLiMS Senayan Library Management System Repository"
                  "</repositoryName>",
            descriptions='<description><eprints xmlns="http://www.openarchives.org/OAI/1.1/'
                         'eprints"><metadataPolicy><text></text></metadataPolicy></eprints>'
                         '</description>')
    if verb == "ListMetadataFormats":
        return envelope(verb, base, OAI_DC_FORMAT)
    if verb == "ListSets":
        return envelope(verb, base, sets(("1", "Perpustakaan"), ("7", "Tafsir")))
    rows = "".join(record(f"oai:slims/{n}", None, (), f"Pengantar Ilmu Perpustakaan {n}")
                   for n in range(1235, 1230, -1))
    return envelope(verb, base, rows + '<resumptionToken completeListSize="1235" cursor="0">'
                    "oai_dc/100</resumptionToken>", metadataPrefix="oai_dc")


def _ojs(verb: str, base: str) -> bytes:
    # OJS 3.3 journal endpoint left with the stock [oai] repository_id
    if verb == "Identify":
        toolkit = ('<description><toolkit xmlns="http://oai.dlib.vt.edu/OAI/metadata/toolkit"'
                   ' xsi:schemaLocation="http://oai.dlib.vt.edu/OAI/metadata/toolkit '
                   'http://oai.dlib.vt.edu/OAI/metadata/toolkit.xsd">'
                   '<title>Open Journal Systems</title><author><name>Public Knowledge '
                   'Project</name><email>pkp.contact@gmail.com</email></author>'
                   '<version>3.3.0.14</version><URL>http://pkp.sfu.ca/ojs/</URL></toolkit>'
                   '</description>')
        return identify(
            base, "Jurnal Ilmu Perpustakaan dan Informasi", email="jipi@example.ac.id",
            earliest="2016-03-01T02:11:09Z", deleted="persistent",
            granularity="YYYY-MM-DDThh:mm:ssZ",
            extra="", descriptions=oai_identifier("ojs.pkp.sfu.ca",
                                                  "oai:ojs.pkp.sfu.ca:article/1") + toolkit)
    if verb == "ListMetadataFormats":
        return envelope(verb, base, OAI_DC_FORMAT + OAI_DC_FORMAT.replace(
            "oai_dc</metadataPrefix>", "oai_marc</metadataPrefix>"))
    if verb == "ListSets":
        return envelope(verb, base, sets(("jipi", "Jurnal Ilmu Perpustakaan"),
                                         ("jipi:ART", "Artikel"), ("driver", "Open Access")))
    rows = "".join(record(f"oai:ojs.pkp.sfu.ca:article/{n}", f"2024-0{n}-12T03:14:15Z",
                          ("jipi:ART",), f"Literasi informasi {n}") for n in range(1, 6))
    return envelope(verb, base, rows + '<resumptionToken expirationDate="2025-01-16T14:03:27Z"'
                    ' completeListSize="212" cursor="0">8d0bd2f0c7bd4e2b1a7c3f6b0f8c2e11'
                    "</resumptionToken>", metadataPrefix="oai_dc")


def _eprints(verb: str, base: str) -> bytes:
    # EPrints 3.4 cgi/oai2 with the shipped archive_id and policy texts
    if verb == "Identify":
        policy = ("No metadata policy defined. This server has not yet been fully configured. "
                  "Please contact the admin for more information, but if in doubt assume "
                  "that NO rights at all are granted to this data.")
        eprints = ('<description><eprints xmlns="http://www.openarchives.org/OAI/1.1/eprints">'
                   "<content><text>OAI Site description has not been configured.</text>"
                   f"</content><metadataPolicy><text>{policy}</text></metadataPolicy>"
                   f"<dataPolicy><text>{policy.replace('metadata', 'data')}</text>"
                   "</dataPolicy><comment>This system is running eprints server software "
                   "(EPrints 3.4.4) developed at the University of Southampton. For more "
                   "information see http://www.eprints.org/</comment></eprints></description>")
        return identify(
            base, "Repositori Universitas Contoh", email="repo@example.ac.id",
            earliest="2011-05-09T04:12:55Z", deleted="persistent",
            granularity="YYYY-MM-DDThh:mm:ssZ",
            descriptions=oai_identifier("generic.eprints.org", "oai:generic.eprints.org:23")
            + eprints)
    if verb == "ListMetadataFormats":
        return envelope(verb, base, OAI_DC_FORMAT)
    if verb == "ListSets":
        return envelope(verb, base, sets(("7374617475733D707562", "Status = Published"),
                                         ("74797065733D61727469636C65", "Item Type = Article")))
    rows = "".join(record(f"oai:generic.eprints.org:{n}", f"2023-11-0{n}T08:00:00Z",
                          ("7374617475733D707562", "74797065733D61727469636C65"),
                          f"Kajian koleksi {n}") for n in range(1, 6))
    return envelope(verb, base, rows + '<resumptionToken cursor="6">metadataPrefix%3Doai_dc'
                    "%26offset%3D6</resumptionToken>", metadataPrefix="oai_dc")


def _dspace(verb: str, base: str) -> bytes:
    # DSpace 7 (XOAI) at /server/oai/request, stock dspace.name, test handle prefix
    if verb == "Identify":
        return identify(
            base, "DSpace at My University", email="dspace-help@example.ac.id",
            earliest="2019-02-20T05:16:40Z", deleted="transient",
            granularity="YYYY-MM-DDThh:mm:ssZ",
            descriptions=oai_identifier("repository.example.ac.id",
                                        "oai:repository.example.ac.id:123456789/1"))
    if verb == "ListMetadataFormats":
        return envelope(verb, base, OAI_DC_FORMAT)
    if verb == "ListSets":
        return envelope(verb, base, sets(("com_123456789_1", "Fakultas Ilmu Budaya"),
                                         ("col_123456789_2", "Skripsi")))
    rows = "".join(record(f"oai:repository.example.ac.id:123456789/{n}",
                          f"2022-08-1{n - 40}T10:20:30Z", ("com_123456789_1", "col_123456789_2"),
                          f"Skripsi {n}") for n in range(40, 45))
    return envelope(verb, base, rows + '<resumptionToken completeListSize="873" cursor="0">'
                    "oai_dc////100</resumptionToken>", metadataPrefix="oai_dc")


def _koha(verb: str, base: str) -> bytes:
    # Koha's oai.pl: day granularity, 0001-01-01, no description, KOHA-OAI-TEST archiveID
    if verb == "Identify":
        return identify(base, "Perpustakaan Daerah Contoh", email="perpus@example.go.id",
                        earliest="0001-01-01", deleted="no", granularity="YYYY-MM-DD",
                        extra="")
    if verb == "ListMetadataFormats":
        return envelope(verb, base, OAI_DC_FORMAT + (
            "<metadataFormat><metadataPrefix>marcxml</metadataPrefix><schema>"
            "http://www.loc.gov/MARC21/slim http://www.loc.gov/ standards/marcxml/schema/"
            "MARC21slim.xsd</schema><metadataNamespace>http://www.loc.gov/MARC21/slim "
            "http://www.loc.gov/ standards/marcxml/schema/MARC21slim</metadataNamespace>"
            "</metadataFormat>"))
    if verb == "ListSets":
        return error(verb, base, "noSetHierarchy", "There are no sets in this repository")
    rows = "".join(record(f"KOHA-OAI-TEST:{n}", f"2024-02-0{n}", (), f"Sejarah daerah {n}")
                   for n in range(1, 6))
    return envelope(verb, base, rows + "<resumptionToken>oai_dc/50/1970-01-01T00:00:00Z/"
                    "2025-01-15T23:59:59Z/</resumptionToken>", metadataPrefix="oai_dc")


def _zenodo(verb: str, base: str) -> bytes:
    # a platform the detector does not know (InvenioRDM), as captured from Zenodo
    if verb == "Identify":
        return identify(base, "Zenodo", email="info@zenodo.org",
                        earliest="2014-02-03T14:41:33Z", deleted="no",
                        granularity="YYYY-MM-DDThh:mm:ssZ")
    if verb == "ListMetadataFormats":
        return envelope(verb, base, OAI_DC_FORMAT)
    if verb == "ListSets":
        return envelope(verb, base, sets(("user-cfa", "CfA"), ("software", "Software")))
    rows = "".join(record(f"oai:zenodo.org:{n}", f"2024-05-0{n - 1000}T07:00:00Z",
                          ("software",), f"Dataset {n}") for n in range(1001, 1004))
    return envelope(verb, base, rows, metadataPrefix="oai_dc")


PLATFORMS = {p.name: p for p in (
    Platform("slims", "/slims/oai.php", _slims),
    Platform("ojs", "/index.php/jipi/oai", _ojs),
    Platform("eprints", "/cgi/oai2", _eprints),
    Platform("dspace", "/server/oai/request", _dspace),
    Platform("koha", "/cgi-bin/koha/oai.pl", _koha),
    Platform("unknown", "/oai2d", _zenodo),
)}


def serve_platform(server: LocalServer, platform: Platform) -> str:
    """Make ``server`` answer as ``platform``; return the base URL to check."""
    base_url = f"{server.base}{platform.path}"

    def answer(seen: Seen) -> Reply:
        body = platform.pages(seen.param("verb") or "", base_url)
        return Reply(200, [("Content-Type", "text/xml; charset=utf-8")], body)

    server.script = answer
    return base_url

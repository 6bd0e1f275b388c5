"""Deterministic generators of realistic bilingual (Indonesian/English) sample records."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from aggregator.demo.samples import SampleRecord


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAMES = _words(
    "Siregar Nasution Harahap Lubis Simanjuntak Pratama Wijaya Santoso Saputra Hidayat "
    "Kurniawan Setiawan Wibowo Susanto Gunawan Rahman Hasibuan Sitompul Tanjung Pohan "
    "Daeng Pattiasina Manuhutu Wenda Kogoya Rumbiak Mahendra Putri Lestari Handayani "
    "Sulistyowati Nugroho Prasetyo Firmansyah Syahputra Ramadhan Siagian Purba Ginting "
    "Tarigan Sembiring Manurung Sinaga Ambarita Batubara Matondang Nainggolan"
)
GIVEN_NAMES = _words(
    "Ahmad Budi Citra Dewi Eko Fitri Gita Hendra Indah Joko Kartika Lukman Maya Nur Oki "
    "Putu Rina Sari Teguh Umar Vina Wahyu Yusuf Zainal Agus Bambang Dian Endang Fajar "
    "Hana Irwan Made Nyoman Ketut Ratna Siti Taufik Wulan Yanti Arif Bayu Dimas Intan"
)
PLACES = (
    "Kabupaten Bogor",
    "Kota Makassar",
    "Kabupaten Sleman",
    "Kota Padang",
    "Kota Medan",
    "Kabupaten Banyumas",
    "Kota Pontianak",
    "Kabupaten Gowa",
    "Kota Ambon",
    "Kabupaten Jayapura",
    "Kota Kupang",
    "Kabupaten Lombok Timur",
    "Kota Palembang",
    "Kabupaten Aceh Besar",
    "Kota Denpasar",
    "Kabupaten Malang",
    "Kota Samarinda",
    "Kabupaten Minahasa",
)
# (Indonesian, English) pairs so a record reads consistently in either language.
TOPICS = (
    ("literasi informasi", "information literacy"),
    ("perpustakaan digital", "digital libraries"),
    ("ketahanan pangan", "food security"),
    ("budidaya rumput laut", "seaweed farming"),
    ("kesehatan ibu dan anak", "maternal and child health"),
    ("stunting", "stunting"),
    ("pembelajaran daring", "online learning"),
    ("kurikulum merdeka", "the independent curriculum"),
    ("usaha mikro kecil menengah", "micro, small and medium enterprises"),
    ("pariwisata berkelanjutan", "sustainable tourism"),
    ("mitigasi bencana", "disaster mitigation"),
    ("hukum adat", "customary law"),
    ("kearifan lokal", "local wisdom"),
    ("sistem informasi geografis", "geographic information systems"),
    ("energi terbarukan", "renewable energy"),
    ("pengelolaan sampah", "waste management"),
    ("minat baca", "reading interest"),
    ("naskah kuno", "ancient manuscripts"),
    ("kualitas air sungai", "river water quality"),
    ("perikanan tangkap", "capture fisheries"),
    ("tata kelola desa", "village governance"),
    ("keuangan syariah", "Islamic finance"),
)
GROUPS = (
    ("siswa sekolah dasar", "primary school pupils"),
    ("mahasiswa", "university students"),
    ("petani padi", "rice farmers"),
    ("nelayan tradisional", "traditional fishers"),
    ("pustakawan", "librarians"),
    ("masyarakat pesisir", "coastal communities"),
    ("pelaku UMKM", "small business owners"),
    ("tenaga kesehatan", "health workers"),
    ("guru madrasah", "madrasah teachers"),
    ("pemerintah desa", "village administrations"),
)
OPENINGS = (
    ("Analisis", "An analysis of"),
    ("Pengaruh", "The effect of"),
    ("Studi kasus", "A case study of"),
    ("Evaluasi", "An evaluation of"),
    ("Implementasi", "Implementing"),
    ("Peran", "The role of"),
    ("Strategi pengembangan", "Strategies for developing"),
    ("Tinjauan", "A review of"),
)
SUFFIXES = (
    ("tahun 2015-2020", "2015-2020"),
    ("dengan pendekatan kualitatif", "a qualitative study"),
    ("berbasis partisipasi masyarakat", "a participatory approach"),
    ("sebuah kajian empiris", "an empirical study"),
)
SENTENCES_ID = (
    "Penelitian ini bertujuan untuk mengkaji {t} di kalangan {g} di {p}.",
    "Data dikumpulkan melalui survei, wawancara mendalam, dan observasi lapangan.",
    "Sampel penelitian terdiri atas {n} responden yang dipilih secara purposif.",
    "Hasil penelitian menunjukkan bahwa {t} berpengaruh signifikan terhadap kesejahteraan {g}.",
    "Analisis data menggunakan regresi linier berganda dan uji beda rata-rata.",
    "Temuan ini memberikan masukan bagi pemerintah daerah dalam merumuskan kebijakan.",
    "Keterbatasan penelitian terletak pada jumlah sampel dan cakupan wilayah.",
    "Penelitian lanjutan disarankan untuk membandingkan {p} dengan daerah lain.",
    "Kajian pustaka menunjukkan bahwa {t} belum banyak diteliti di Indonesia bagian timur.",
    "Program pendampingan selama enam bulan meningkatkan pemahaman {g} tentang {t}.",
    "Pendekatan yang digunakan adalah studi kasus dengan analisis tematik.",
    "Hasil uji validitas dan reliabilitas menunjukkan instrumen layak digunakan.",
    "Faktor pendukung utama adalah dukungan pimpinan dan ketersediaan anggaran.",
    "Penelitian ini merekomendasikan penguatan kapasitas {g} melalui pelatihan berkala.",
)
SENTENCES_EN = (
    "This study examines {t} among {g} in {p}, Indonesia.",
    "Data were collected through a survey, in-depth interviews and field observation.",
    "The sample comprised {n} respondents selected by purposive sampling.",
    "The results show that {t} has a significant effect on the welfare of {g}.",
    "The data were analysed with multiple linear regression and difference-of-means tests.",
    "The findings offer guidance to local governments when drafting policy.",
    "The study is limited by its sample size and geographical coverage.",
    "Further research should compare {p} with other regions.",
    "The literature suggests that {t} has rarely been studied in eastern Indonesia.",
    "A six-month mentoring programme improved the understanding of {g} about {t}.",
    "The approach is a qualitative case study with thematic analysis.",
    "Validity and reliability tests show that the instrument is fit for use.",
    "Leadership support and a dedicated budget were the main enabling factors.",
    "The study recommends regular training to strengthen the capacity of {g}.",
)
PUBLISHERS = (
    "Universitas Nusantara Raya",
    "Penerbit Pustaka Khatulistiwa",
    "Institut Pertanian Khatulistiwa",
    "Balai Pustaka Daerah",
    "Lembaga Penelitian dan Pengabdian kepada Masyarakat",
    "Ikatan Pustakawan Indonesia",
    "Gramata Press",
    "Deepublish Nusantara",
)
TYPES = ("Text", "Article", "Thesis", "Book", "Conference paper", "Report")
SUBJECTS_ID = tuple(t[0].capitalize() for t in TOPICS) + ("Indonesia", "Pendidikan", "Ekonomi")
SUBJECTS_EN = tuple(t[1].capitalize() for t in TOPICS) + ("Indonesia", "Education", "Economics")


def person(rng: random.Random) -> str:
    """Return a name in "Surname, Given" form."""
    given = rng.choice(GIVEN_NAMES)
    if rng.random() < 0.4:
        given += " " + rng.choice(GIVEN_NAMES)
    return f"{rng.choice(SURNAMES)}, {given}"


def title_pair(rng: random.Random) -> tuple[str, str]:
    """Return one title in Indonesian and its English translation (5-15 words each)."""
    while True:
        topic, group, opening = rng.choice(TOPICS), rng.choice(GROUPS), rng.choice(OPENINGS)
        place = rng.choice(PLACES)
        pair = (
            f"{opening[0]} {topic[0]} pada {group[0]} di {place}",
            f"{opening[1]} {topic[1]} among {group[1]} in {place}",
        )
        if rng.random() < 0.4:
            suffix = rng.choice(SUFFIXES)
            pair = f"{pair[0]} {suffix[0]}", f"{pair[1]}: {suffix[1]}"
        if max(len(t.split()) for t in pair) <= 15:
            return pair


def title(rng: random.Random, english: bool) -> str:
    """Return a 5-15 word title in Indonesian or English."""
    return title_pair(rng)[1 if english else 0]


def abstract(rng: random.Random, english: bool) -> str:
    """Return a 60-150 word abstract in Indonesian or English."""
    side = 1 if english else 0
    templates = SENTENCES_EN if english else SENTENCES_ID
    fill = {
        "t": rng.choice(TOPICS)[side],
        "g": rng.choice(GROUPS)[side],
        "p": rng.choice(PLACES),
        "n": rng.randint(30, 400),
    }
    target = rng.randint(60, 150)
    sentences: list[str] = []
    count = 0
    while 0 <= count < target:  # each sentence once before any repeats
        for template in rng.sample(templates, len(templates)):
            sentence = template.format(**fill)
            words = sentence.count(" ") + 1
            if count + words > 150:  # only reachable past 130 words: stop here
                count = -1
                break
            sentences.append(sentence)
            count += words
            if count >= target:
                break
    return " ".join(sentences)


def dublin_core(rng: random.Random, number: int, url_base: str) -> dict[str, list[str]]:
    """Return one record's Dublin Core fields (roughly 1-2 KB once serialised)."""
    english = rng.random() < 0.35
    subjects = SUBJECTS_EN if english else SUBJECTS_ID
    year = rng.randint(1998, 2025)
    return {
        "title": [title(rng, english)],
        "creator": [person(rng) for _ in range(rng.randint(1, 4))],
        "subject": rng.sample(subjects, rng.randint(2, 5)),
        "description": [abstract(rng, english)],
        "publisher": [rng.choice(PUBLISHERS)],
        "date": [str(year)],
        "type": [rng.choice(TYPES)],
        "format": ["application/pdf"],
        "identifier": [f"{url_base}{number}"],
        "language": ["en" if english else "id"],
    }


def generate_records(
    n: int,
    *,
    seed: int = 0,
    start: datetime = datetime(2019, 1, 1, tzinfo=UTC),
    prefix: str = "oai:bench.example.org:",
    years: float = 6.0,
    sets: Sequence[str] = (),
    url_base: str = "https://repository.example.org/record/",
) -> list[SampleRecord]:
    """Generate ``n`` records; the same arguments always give the same records.

    Args:
        n: how many records.
        seed: seed of the random generator.
        start: the earliest datestamp; the others spread over ``years`` after it.
        prefix: identifier prefix; record ``i`` (from 1) is ``prefix + str(i)``.
        years: how many years the datestamps span.
        sets: setSpecs to deal out to the records in turn (none if empty).
        url_base: prefix of the ``dc:identifier`` URL.

    Returns:
        The records in identifier order, which is also datestamp order.
    """
    rng = random.Random(seed)
    span = int(years * 365.25 * 86400)
    base = start.astimezone(UTC).replace(microsecond=0)
    # Later identifiers get later datestamps, as in a repository that numbers new items
    # in sequence; it also keeps harvest order close to memory order (cold pages are faster).
    offsets = sorted(rng.randrange(span) for _ in range(n))
    records = []
    for number, offset in enumerate(offsets, start=1):
        record_sets = (sets[number % len(sets)],) if sets else ()
        records.append(
            SampleRecord(
                identifier=f"{prefix}{number}",
                datestamp=base + timedelta(seconds=offset),
                sets=record_sets,
                metadata=dublin_core(rng, number, url_base),
            )
        )
    return records

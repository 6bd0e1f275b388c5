"""What a repository manager can do about each finding, in Indonesian and English: the
real setting of the detected platform where there is one (facts from PLATFORMS.md and the
platforms' shipped configuration), general advice otherwise (key ``any``)."""

from __future__ import annotations

__all__ = ["ADVICE", "REFUSED_ADVICE"]

_Advice = dict[str, dict[str, str]]


def _t(id_: str, en: str) -> dict[str, str]:
    return {"id": id_, "en": en}


_SLIMS_CONFIG = "sysconfig.inc.php"
_KOHA_PREFS = ("Administration › System preferences › Web services")
_KOHA_PREFS_ID = ("Administrasi › Preferensi sistem › Web services")

ADVICE: dict[str, _Advice] = {
    "unreachable": {"any": _t(
        "Periksa ejaan alamat, pastikan alamat itu dapat dibuka dari luar jaringan kampus "
        "atau kantor Anda, dan firewall mengizinkan kunjungan dari internet.",
        "Check the spelling, make sure the address opens from outside your campus or office "
        "network, and that the firewall lets visitors from the internet in.")},
    "http-error": {"any": _t(
        "Buka alamat itu di peramban dengan tambahan ?verb=Identify di ujungnya. Kode 404 "
        "biasanya berarti jalurnya salah; kode 5xx berarti galat di server, yang "
        "penjelasannya ada di log server.",
        "Open the address in a browser with ?verb=Identify added at the end. A 404 usually "
        "means the path is wrong; a 5xx means an error on the server, which its log "
        "explains.")},
    "blocked-address": {"any": _t(
        "Berikan alamat publik repositori, yaitu alamat yang dapat dibuka siapa saja dari "
        "internet, dan pastikan alamat itu tidak dialihkan ke alamat internal.",
        "Give the repository's public address, the one anybody can open from the internet, "
        "and make sure it does not redirect to an internal address.")},
    "retry-later": {"any": _t(
        "Coba periksa lagi nanti. Jika terus terjadi, tanyakan kepada pengelola server "
        "apakah ada pembatasan akses atau halaman perawatan yang menghalangi pemanen.",
        "Try the check again later. If it keeps happening, ask whoever runs the server "
        "whether a rate limit or a maintenance page keeps harvesters out.")},
    "response-too-large": {
        "any": _t("Kecilkan jumlah cantuman per halaman dalam pengaturan OAI platform Anda.",
                  "Lower the number of records per page in your platform's OAI settings."),
        "ojs": _t("Kecilkan oai_max_records di bagian [oai] berkas config.inc.php OJS.",
                  "Lower oai_max_records in the [oai] section of OJS's config.inc.php."),
        "slims": _t(f"Kecilkan $sysconf['OAI']['ListRecords']['RecordPerSet'] di "
                    f"{_SLIMS_CONFIG}.",
                    f"Lower $sysconf['OAI']['ListRecords']['RecordPerSet'] in "
                    f"{_SLIMS_CONFIG}."),
        "koha": _t(f"Kecilkan preferensi sistem OAI-PMH:MaxCount ({_KOHA_PREFS_ID}).",
                   f"Lower the system preference OAI-PMH:MaxCount ({_KOHA_PREFS})."),
    },
    "not-oai": {
        "any": _t("Pastikan ini alamat dasar OAI-PMH platform Anda (bukan halaman beranda) "
                  "dan layanan OAI-PMH-nya sudah dinyalakan.",
                  "Make sure this is your platform's OAI-PMH base address (not its home "
                  "page) and that its OAI-PMH service is switched on."),
        "ojs": _t("Di OJS alamatnya https://<situs>/index.php/<jurnal>/oai, dan layanan "
                  "OAI harus menyala: oai = On di bagian [oai] berkas config.inc.php.",
                  "In OJS the address is https://<site>/index.php/<journal>/oai, and OAI "
                  "must be on: oai = On in the [oai] section of config.inc.php."),
        "slims": _t(f"Di SLiMS alamatnya berakhir dengan /oai.php, dan layanan OAI harus "
                    f"menyala: $sysconf['OAI']['enable'] = true di {_SLIMS_CONFIG}.",
                    f"In SLiMS the address ends in /oai.php, and OAI must be on: "
                    f"$sysconf['OAI']['enable'] = true in {_SLIMS_CONFIG}."),
        "eprints": _t("Di EPrints alamatnya https://<repositori>/cgi/oai2.",
                      "In EPrints the address is https://<repository>/cgi/oai2."),
        "dspace": _t("Di DSpace 7 ke atas alamatnya https://<server>/server/oai/request "
                     "(versi lama: /oai/request).",
                     "In DSpace 7 and later the address is "
                     "https://<server>/server/oai/request (older versions: /oai/request)."),
        "koha": _t(f"Di Koha alamatnya https://<OPAC>/cgi-bin/koha/oai.pl, dan preferensi "
                   f"sistem OAI-PMH harus bernilai Enable ({_KOHA_PREFS_ID}).",
                   f"In Koha the address is https://<OPAC>/cgi-bin/koha/oai.pl, and the "
                   f"system preference OAI-PMH must be set to Enable ({_KOHA_PREFS})."),
    },
    "malformed-xml": {"any": _t(
        "Buka alamat itu dengan ?verb=Identify di peramban dan lihat sumber halamannya. "
        "Peringatan PHP atau karakter nyasar sebelum XML adalah penyebab yang sering; log "
        "galat server menunjukkannya.",
        "Open the address with ?verb=Identify in a browser and view the page source. PHP "
        "warnings or stray characters before the XML are the usual cause; the server's "
        "error log shows them.")},
    "identify-error": {
        "any": _t("Layanan OAI-PMH tampaknya mati atau salah diatur; periksa pengaturan OAI "
                  "platform Anda.",
                  "The OAI-PMH service seems to be off or misconfigured; check your "
                  "platform's OAI settings."),
        "koha": _t(f"Koha menjawab setiap permintaan dengan galat selama preferensi sistem "
                   f"OAI-PMH mati: ubah menjadi Enable ({_KOHA_PREFS_ID}).",
                   f"Koha answers every request with an error while the system preference "
                   f"OAI-PMH is off: set it to Enable ({_KOHA_PREFS})."),
        "slims": _t(f"SLiMS menjawab 'OAI Repository disabled' selama OAI mati: isi "
                    f"$sysconf['OAI']['enable'] = true di {_SLIMS_CONFIG}.",
                    f"SLiMS answers 'OAI Repository disabled' while OAI is off: set "
                    f"$sysconf['OAI']['enable'] = true in {_SLIMS_CONFIG}."),
        "ojs": _t("Pastikan oai = On di bagian [oai] berkas config.inc.php OJS.",
                  "Make sure oai = On in the [oai] section of OJS's config.inc.php."),
    },
    "wrong-verb": {"any": _t(
        "Alamat ini mungkin menunjuk ke berkas statis atau skrip yang mengabaikan "
        "parameternya; gunakan alamat OAI-PMH yang sebenarnya dari platform Anda.",
        "The address may point at a static file or a script that ignores its parameters; "
        "use your platform's real OAI-PMH address.")},
    "bad-protocol-version": {"any": _t(
        "Perbarui platform atau modul OAI-nya; OAI-PMH versi 1 sudah tidak dipakai.",
        "Upgrade the platform or its OAI module; version 1 of OAI-PMH is no longer in use.")},
    "identify-missing": {
        "any": _t("Isi nama repositori dan alamat surel pengelola dalam pengaturan OAI "
                  "platform Anda.",
                  "Fill in the repository's name and the administrator's e-mail address in "
                  "your platform's OAI settings."),
        "koha": _t("Nama repositori diambil dari preferensi sistem LibraryName; isilah "
                   "dengan nama perpustakaan Anda.",
                   "The repository name comes from the system preference LibraryName; "
                   "fill it in with your library's name."),
        "slims": _t(f"Isi $sysconf['OAI']['Identify']['repositoryName'] dan "
                    f"$sysconf['OAI']['Identify']['adminEmail'] di {_SLIMS_CONFIG}.",
                    f"Set $sysconf['OAI']['Identify']['repositoryName'] and "
                    f"$sysconf['OAI']['Identify']['adminEmail'] in {_SLIMS_CONFIG}."),
        "dspace": _t("Nama repositori adalah dspace.name di [dspace]/config/local.cfg; "
                     "setelah mengubahnya jalankan [dspace]/bin/dspace oai clean-cache.",
                     "The repository name is dspace.name in [dspace]/config/local.cfg; "
                     "after changing it run [dspace]/bin/dspace oai clean-cache."),
    },
    "bad-granularity": {"any": _t(
        "Tulis granularity persis YYYY-MM-DDThh:mm:ssZ (atau YYYY-MM-DD), dengan huruf "
        "besar seperti itu.",
        "Write granularity exactly as YYYY-MM-DDThh:mm:ssZ (or YYYY-MM-DD), in capitals "
        "like that.")},
    "empty-earliest-datestamp": {
        "any": _t("earliestDatestamp seharusnya tanggal cantuman tertua; biasanya dihitung "
                  "sendiri oleh platform, jadi periksa versi platform Anda.",
                  "earliestDatestamp should be the date of the oldest record; platforms "
                  "usually compute it, so check your platform's version."),
        "slims": _t("SLiMS 9 selalu mengirim earliestDatestamp kosong karena begitulah kode "
                    "OAI-nya ditulis, bukan karena pengaturan. Tidak ada yang perlu diubah; "
                    "agregator dapat menanganinya.",
                    "SLiMS 9 always sends an empty earliestDatestamp because its OAI code is "
                    "written that way, not because of a setting. Nothing to change; the "
                    "aggregator copes with it."),
    },
    "bad-earliest-datestamp": {"any": _t(
        "earliestDatestamp harus berbentuk 2019-03-01 atau 2019-03-01T00:00:00Z (UTC).",
        "earliestDatestamp must look like 2019-03-01 or 2019-03-01T00:00:00Z (UTC).")},
    "base-url-mismatch": {
        "any": _t("Daftarkan alamat yang disebut server jika alamat itu berfungsi, atau "
                  "betulkan pengaturan alamat dasar di server agar keduanya sama (http atau "
                  "https, port, garis miring di akhir).",
                  "Register the address the server gives if it works, or correct the "
                  "server's base address setting so both agree (http or https, port, "
                  "trailing slash)."),
        "slims": _t(f"SLiMS menyusun baseURL dari nama server dan port, selalu dengan "
                    f"http://; isi $sysconf['OAI']['Identify']['baseURL'] di {_SLIMS_CONFIG} "
                    f"dengan alamat publiknya.",
                    f"SLiMS builds baseURL from the server name and port, always with "
                    f"http://; set $sysconf['OAI']['Identify']['baseURL'] in {_SLIMS_CONFIG} "
                    f"to the public address."),
        "ojs": _t("OJS menyusunnya dari base_url di bagian [general] config.inc.php; isilah "
                  "dengan alamat https publiknya.",
                  "OJS builds it from base_url in the [general] section of config.inc.php; "
                  "make that the public https address."),
        "dspace": _t("Isi oai.url di [dspace]/config/modules/oai.cfg (atau local.cfg) dengan "
                     "alamat publik, misalnya https://<server>/server/oai.",
                     "Set oai.url in [dspace]/config/modules/oai.cfg (or local.cfg) to the "
                     "public address, e.g. https://<server>/server/oai."),
    },
    "default-repository-name": {
        "any": _t("Ganti nama repositori dengan nama perpustakaan Anda.",
                  "Replace the repository name with your library's name."),
        "slims": _t(f"Ubah $sysconf['OAI']['Identify']['repositoryName'] di {_SLIMS_CONFIG} "
                    f"menjadi nama perpustakaan Anda.",
                    f"Change $sysconf['OAI']['Identify']['repositoryName'] in "
                    f"{_SLIMS_CONFIG} to your library's name."),
        "dspace": _t("Ubah dspace.name di [dspace]/config/local.cfg, lalu jalankan "
                     "[dspace]/bin/dspace oai clean-cache agar jawaban OAI ikut berubah.",
                     "Change dspace.name in [dspace]/config/local.cfg, then run "
                     "[dspace]/bin/dspace oai clean-cache so the OAI answers change too."),
    },
    "default-admin-email": {
        "any": _t("Ganti alamat surel pengelola dengan alamat yang dibaca seseorang di "
                  "perpustakaan Anda.",
                  "Replace the administrator's address with one somebody at your library "
                  "reads."),
        "slims": _t(f"Ubah $sysconf['OAI']['Identify']['adminEmail'] di {_SLIMS_CONFIG}.",
                    f"Change $sysconf['OAI']['Identify']['adminEmail'] in {_SLIMS_CONFIG}."),
    },
    "default-policy": {
        "any": _t("Tuliskan kebijakan pemakaian metadata dan data repositori Anda.",
                  "Write down your repository's metadata and data policies."),
        "eprints": _t("Tulis kebijakan Anda di cfg/cfg.d/oai.pl arsip EPrints "
                      "($oai->{metadata_policy}, $oai->{data_policy}, "
                      "$oai->{submission_policy}: teks atau url), lalu muat ulang server web.",
                      "Write your policies in the EPrints archive's cfg/cfg.d/oai.pl "
                      "($oai->{metadata_policy}, $oai->{data_policy}, "
                      "$oai->{submission_policy}: text or url), then restart the web "
                      "server."),
    },
    "identify-repository-name": {
        "any": _t("Hanya boleh ada satu repositoryName; periksa pengaturan atau templat "
                  "Identify platform Anda.",
                  "Only one repositoryName is allowed; check your platform's Identify "
                  "settings or template."),
        "slims": _t("SLiMS 9 menuliskan nama itu dua kali di kode OAI-nya; tidak merugikan "
                    "agregator dan tidak dapat diubah lewat pengaturan.",
                    "SLiMS 9 writes the name twice in its OAI code; it does the aggregator "
                    "no harm and no setting changes it."),
    },
    "identify-admin-email": {"any": _t(
        "Tulis alamatnya saja (nama@contoh.ac.id), tanpa mailto:.",
        "Write the bare address (name@example.ac.id), without mailto:.")},
    "identify-deleted-record": {"any": _t(
        "Pilih salah satu: no, transient, atau persistent (persistent jika cantuman terhapus "
        "tetap dilaporkan).",
        "Choose one of no, transient or persistent (persistent when deleted records keep "
        "being reported).")},
    "identify-repository-identifier": {
        "any": _t("Pengenal repositori sebaiknya nama domain Anda, misalnya "
                  "repositori.contoh.ac.id.",
                  "The repository identifier should be your domain name, e.g. "
                  "repository.example.ac.id."),
        "ojs": _t("Di OJS pengenal ini adalah repository_id di bagian [oai] config.inc.php.",
                  "In OJS this identifier is repository_id in the [oai] section of "
                  "config.inc.php."),
        "eprints": _t("Di EPrints pengenal ini adalah $oai->{v2}->{archive_id} di "
                      "cfg/cfg.d/oai.pl.",
                      "In EPrints this identifier is $oai->{v2}->{archive_id} in "
                      "cfg/cfg.d/oai.pl."),
        "dspace": _t("Di DSpace pengenal ini adalah oai.identifier.prefix di "
                     "[dspace]/config/modules/oai.cfg.",
                     "In DSpace this identifier is oai.identifier.prefix in "
                     "[dspace]/config/modules/oai.cfg."),
    },
    "oai-error": {"any": _t(
        "Keterangan teknis di bawah menyebutkan galatnya; log platform Anda biasanya "
        "menjelaskan penyebabnya.",
        "The technical detail below names the error; your platform's log usually explains "
        "its cause.")},
    "verb-failed": {"any": _t(
        "Buka permintaan itu di peramban dan periksa apakah jawabannya XML yang utuh.",
        "Open that request in a browser and check that the answer is complete XML.")},
    "no-oai-dc": {
        "any": _t("Aktifkan format oai_dc di pengaturan OAI platform Anda.",
                  "Enable the oai_dc format in your platform's OAI settings."),
        "koha": _t("Koha menyediakan oai_dc kecuali berkas di preferensi sistem "
                   "OAI-PMH:ConfFile tidak mencantumkannya; tambahkan oai_dc di berkas itu.",
                   "Koha offers oai_dc unless the file named by the system preference "
                   "OAI-PMH:ConfFile leaves it out; add oai_dc to that file."),
    },
    "prefix-not-listed": {"any": _t(
        "Pilih salah satu format yang ada di daftar server, biasanya oai_dc.",
        "Choose one of the formats the server lists, usually oai_dc.")},
    "no-complete-list-size": {"any": _t(
        "Ini tidak menghalangi panen; platform versi baru umumnya mengirim completeListSize.",
        "This does not stop harvesting; newer versions of most platforms send "
        "completeListSize.")},
    "placeholder-identifier": {
        "any": _t("Ganti pengenal repositori dalam pengaturan OAI platform Anda dengan nama "
                  "domain Anda sendiri, sebelum panen pertama.",
                  "Change the repository identifier in your platform's OAI settings to your "
                  "own domain name, before the first harvest."),
        "ojs": _t("Di berkas config.inc.php OJS, bagian [oai], ganti repository_id dari "
                  "ojs.pkp.sfu.ca menjadi nama domain Anda (misalnya jurnal.contoh.ac.id). "
                  "Semua pengidentifikasi artikel ikut berubah, jadi lakukan sebelum panen "
                  "pertama.",
                  "In OJS's config.inc.php, section [oai], change repository_id from "
                  "ojs.pkp.sfu.ca to your own domain name (e.g. journal.example.ac.id). "
                  "Every article's identifier changes with it, so do it before the first "
                  "harvest."),
        "slims": _t(f"Di {_SLIMS_CONFIG} SLiMS, ganti $sysconf['OAI']['identifierPrefix'] "
                    f"dari 'oai:slims/' menjadi awalan milik Anda sendiri, misalnya "
                    f"'oai:perpustakaan.contoh.ac.id:'. Lakukan sebelum panen pertama.",
                    f"In SLiMS's {_SLIMS_CONFIG}, change "
                    f"$sysconf['OAI']['identifierPrefix'] from 'oai:slims/' to a prefix of "
                    f"your own, e.g. 'oai:library.example.ac.id:'. Do it before the first "
                    f"harvest."),
        "eprints": _t("Di cfg/cfg.d/oai.pl arsip EPrints, isi $oai->{v2}->{archive_id} "
                      "dengan nama domain Anda sebagai pengganti generic.eprints.org, lalu "
                      "muat ulang server web.",
                      "In the EPrints archive's cfg/cfg.d/oai.pl, set "
                      "$oai->{v2}->{archive_id} to your domain name instead of "
                      "generic.eprints.org, then restart the web server."),
        "dspace": _t("Handle Anda memakai 123456789, awalan uji bawaan DSpace. Daftarkan "
                     "awalan handle di Handle.Net Registry, isi handle.prefix di "
                     "[dspace]/config/local.cfg, lalu bangun ulang indeks OAI "
                     "([dspace]/bin/dspace oai import -c). Item yang sudah ada tetap memakai "
                     "handle lamanya.",
                     "Your handles use 123456789, the test prefix DSpace ships with. "
                     "Register a handle prefix with the Handle.Net Registry, set "
                     "handle.prefix in [dspace]/config/local.cfg, then rebuild the OAI "
                     "index ([dspace]/bin/dspace oai import -c). Items that already exist "
                     "keep their old handles."),
        "koha": _t(f"Di Koha, ganti preferensi sistem OAI-PMH:archiveID ({_KOHA_PREFS_ID}) "
                   f"dari KOHA-OAI-TEST menjadi nama milik Anda, misalnya "
                   f"katalog.contoh.ac.id.",
                   f"In Koha, change the system preference OAI-PMH:archiveID ({_KOHA_PREFS}) "
                   f"from KOHA-OAI-TEST to a name of your own, e.g. "
                   f"catalogue.example.ac.id."),
    },
    "missing-datestamp": {
        "any": _t("Setiap kepala cantuman harus memuat tanggal perubahan terakhirnya.",
                  "Every record header must carry the date of its last change."),
        "slims": _t("SLiMS 9 mengirim kepala ListRecords tanpa datestamp; ini bawaan kode "
                    "OAI-nya (lib/oai-pmh.inc.php), bukan pengaturan. Jaringan tetap dapat "
                    "memanen seluruh katalog setiap kali; perbaikannya ada di tangan "
                    "pengembang SLiMS.",
                    "SLiMS 9 sends ListRecords headers without a datestamp; this comes from "
                    "its OAI code (lib/oai-pmh.inc.php), not a setting. The network can "
                    "still harvest the whole catalogue each time; a fix is up to the SLiMS "
                    "developers."),
    },
    "bad-datestamp": {
        "any": _t("Tanggal harus dalam UTC dan ditulis seperti 2024-05-31 atau "
                  "2024-05-31T08:15:00Z.",
                  "Dates must be in UTC and written like 2024-05-31 or "
                  "2024-05-31T08:15:00Z."),
        "slims": _t("ListIdentifiers SLiMS 9 menuliskan waktu lokal basis data apa adanya "
                    "(2024-11-02 09:15:33); ini bawaan kode OAI-nya, bukan pengaturan.",
                    "SLiMS 9's ListIdentifiers writes the database's local time as it is "
                    "(2024-11-02 09:15:33); this comes from its OAI code, not a setting."),
    },
    "granularity-mismatch": {
        "any": _t("Samakan ketelitian tanggal cantuman dengan granularity yang dinyatakan.",
                  "Make the records' dates match the declared granularity."),
        "koha": _t("Koha menyatakan satuan hari (YYYY-MM-DD) di kodenya sendiri; tidak ada "
                   "yang perlu diubah, agregator memanen per hari.",
                   "Koha declares whole days (YYYY-MM-DD) in its own code; nothing to "
                   "change, the aggregator harvests by days."),
    },
    "empty-repository": {"any": _t(
        "Pastikan cantuman sudah diterbitkan dan terlihat oleh publik; repositori kosong "
        "belum dapat dipanen.",
        "Make sure records are published and visible to the public; an empty repository "
        "cannot be harvested yet.")},
    "repaired-xml": {"any": _t(
        "Karakter yang dilarang XML (karakter kendali, pengodean rusak) biasanya berasal "
        "dari teks yang ditempel dari pengolah kata; contohnya ada di keterangan teknis.",
        "Characters XML forbids (control characters, broken encodings) usually come from "
        "text pasted from word processors; the technical detail shows an example.")},
    "no-namespace": {"any": _t(
        "Perbarui modul OAI; jawaban harus diawali <OAI-PMH "
        "xmlns=\"http://www.openarchives.org/OAI/2.0/\">.",
        "Upgrade the OAI module; answers must start with <OAI-PMH "
        "xmlns=\"http://www.openarchives.org/OAI/2.0/\">.")},
    "leading-junk": {"any": _t(
        "Hapus keluaran sebelum <?xml: peringatan PHP, tanda urutan bita (BOM), atau baris "
        "kosong di berkas pengaturan.",
        "Remove whatever comes before <?xml: PHP notices, a byte-order mark or blank lines "
        "in a configuration file.")},
    "trailing-junk": {"any": _t(
        "Hapus keluaran setelah penutup </OAI-PMH>, misalnya pesan galat PHP.",
        "Remove whatever comes after the closing </OAI-PMH>, such as PHP error messages.")},
    "salvaged-page": {"any": _t(
        "Cari cantuman dengan karakter aneh di halaman itu dan periksa log galat server.",
        "Look for records with odd characters on that page and check the server's error "
        "log.")},
    "bad-record": {"any": _t(
        "Periksa cantuman yang disebut di keterangan teknis.",
        "Check the record named in the technical detail.")},
    "missing-identifier": {"any": _t(
        "Setiap cantuman harus memiliki pengidentifikasi; periksa cantuman yang rusak.",
        "Every record needs an identifier; look for damaged records.")},
    "header-only": {
        "any": _t("Periksa apakah cantuman itu dapat diekspor dalam format oai_dc.",
                  "Check that those records can be exported as oai_dc."),
        "eprints": _t("EPrints hanya mengirim kepala cantuman jika cantuman itu tidak dapat "
                      "diekspor dalam format yang diminta; periksa ekspor oai_dc-nya.",
                      "EPrints sends only the header when a record cannot be exported in "
                      "the format asked for; check its oai_dc export."),
    },
}

ADVICE["identify-earliest-datestamp"] = ADVICE["empty-earliest-datestamp"]
ADVICE["identify-granularity"] = ADVICE["bad-granularity"]
ADVICE["provenance-ignored"] = {"any": _t(
    "Tidak ada yang perlu diubah jika repositori Anda tidak memanen dari tempat lain; jika "
    "memanen, periksa blok <about> cantuman yang disebut.",
    "Nothing to change unless your repository harvests from elsewhere; if it does, check "
    "the <about> block of the record named.")}
ADVICE["other-notice"] = {"any": _t(
    "Keterangan teknis di bawah menjelaskan apa yang ditemukan.",
    "The technical detail below says what was found.")}

# What to do when a URL is refused (check_registered_url), per cause; other causes need
# no more than the sentence saying what is wrong.
_PUBLIC = _t("Berikan alamat publik repositori, yaitu alamat yang dapat dibuka dari "
             "internet.",
             "Give the repository's public address, the one that opens from the internet.")
REFUSED_ADVICE: dict[str, dict[str, str]] = {
    cause: _PUBLIC
    for cause in ("loopback", "private", "link-local", "multicast", "unspecified", "reserved")
}
REFUSED_ADVICE["unresolvable"] = _t(
    "Periksa ejaan nama server dan pastikan nama itu terdaftar di DNS publik.",
    "Check the spelling of the server name and that it is registered in public DNS.")
REFUSED_ADVICE["unparsable"] = REFUSED_ADVICE["scheme"] = _t(
    "Salin alamat dari bilah alamat peramban, lengkap dengan https://.",
    "Copy the address from the browser's address bar, https:// included.")

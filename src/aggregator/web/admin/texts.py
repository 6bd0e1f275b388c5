"""The plain-language sentences of the endpoint report, in Indonesian and English: what
each finding means (:data:`TEXTS`), and why a URL was refused (:data:`REFUSED`).

``{sample}`` stands for the finding's sample (a verb, an identifier, a status); it is
used only by codes whose findings always carry one.
"""

from __future__ import annotations

__all__ = ["COUNTED", "READY", "REFUSED", "SUMMARIES", "TEXTS"]


def _t(id_: str, en: str) -> dict[str, str]:
    return {"id": id_, "en": en}


TEXTS: dict[str, dict[str, str]] = {
    # the probe could not go on
    "refused-url": _t(
        "Alamat ini tidak dapat didaftarkan.",
        "This address cannot be registered."),
    "unreachable": _t(
        "Agregator tidak dapat tersambung ke alamat ini: nama servernya tidak ditemukan, "
        "server tidak menjawab, atau sambungan terputus di tengah jalan.",
        "The aggregator could not connect to this address: the server name was not found, "
        "the server did not answer, or the connection broke off."),
    "http-error": _t(
        "Server menjawab dengan kode galat HTTP {sample}, bukan dengan data OAI-PMH.",
        "The server answered with HTTP error {sample} instead of OAI-PMH data."),
    "blocked-address": _t(
        "Alamat ini, atau halaman tujuan pengalihannya, mengarah ke jaringan privat atau "
        "internal. Agregator hanya mengunjungi alamat publik di internet.",
        "This address, or a page it redirects to, leads into a private or internal "
        "network. The aggregator only visits public addresses on the internet."),
    "retry-later": _t(
        "Server meminta agregator datang lagi jauh kemudian; server mungkin sedang sibuk "
        "atau dalam perawatan.",
        "The server asked the aggregator to come back much later; it may be busy or under "
        "maintenance."),
    "response-too-large": _t(
        "Salah satu jawaban server lebih besar daripada batas yang diterima agregator.",
        "One of the server's answers was larger than the aggregator accepts."),
    "not-oai": _t(
        "Alamat ini menjawab, tetapi bukan dengan OAI-PMH: yang datang halaman web atau isi "
        "lain, bukan XML OAI-PMH.",
        "This address answers, but not with OAI-PMH: what came back is a web page or "
        "something else, not OAI-PMH XML."),
    "malformed-xml": _t(
        "Jawaban server berupa XML yang rusak dan tidak dapat dibaca, bahkan setelah "
        "agregator mencoba memperbaikinya.",
        "The server's answer is broken XML that could not be read, even after the "
        "aggregator tried to repair it."),
    "identify-error": _t(
        "Server menolak permintaan perkenalan (Identify) dengan galat OAI-PMH {sample}.",
        "The server refused the introductory request (Identify) with OAI-PMH error {sample}."),
    "wrong-verb": _t(
        "Ketika diminta memperkenalkan diri (Identify), server menjawab hal lain; tampaknya "
        "server mengabaikan permintaan yang dikirim kepadanya.",
        "Asked to introduce itself (Identify), the server answered something else; it seems "
        "to ignore what it is asked."),
    # Identify
    "bad-protocol-version": _t(
        "Server tidak menyatakan memakai OAI-PMH versi 2.0.",
        "The server does not say it speaks version 2.0 of OAI-PMH."),
    "identify-missing": _t(
        "Perkenalan server (Identify) tidak memuat semua unsur wajib, misalnya nama "
        "repositori atau alamat surel pengelola.",
        "The server's introduction (Identify) leaves out a required element, such as the "
        "repository's name or the administrator's e-mail address."),
    "bad-granularity": _t(
        "Server menyatakan ketelitian tanggal (granularity) yang tidak dikenal OAI-PMH; "
        "agregator akan memanen per hari.",
        "The server declares a date precision (granularity) that OAI-PMH does not know; the "
        "aggregator will harvest by whole days."),
    "empty-earliest-datestamp": _t(
        "Server tidak menyebutkan tanggal cantuman tertuanya (earliestDatestamp kosong).",
        "The server does not say how old its oldest record is (earliestDatestamp is empty)."),
    "bad-earliest-datestamp": _t(
        "Tanggal cantuman tertua yang disebutkan server (earliestDatestamp) bukan tanggal "
        "yang sah.",
        "The date the server gives for its oldest record (earliestDatestamp) is not a valid "
        "date."),
    "base-url-mismatch": _t(
        "Server menyebut alamat dasar (baseURL) yang berbeda dari alamat yang diperiksa.",
        "The server gives itself a different base address (baseURL) from the one checked."),
    "default-repository-name": _t(
        "Repositori masih memakai nama bawaan perangkat lunaknya, bukan nama perpustakaan "
        "Anda.",
        "The repository still carries the name its software ships with, not your library's "
        "name."),
    "default-admin-email": _t(
        "Alamat surel pengelola masih alamat bawaan perangkat lunak; pesan ke alamat itu "
        "tidak akan sampai ke perpustakaan Anda.",
        "The administrator's e-mail address is still the one the software ships with; "
        "messages sent there never reach your library."),
    "default-policy": _t(
        "Kebijakan metadata dan data masih berbunyi bahwa server belum selesai diatur, dan "
        "menurut teks itu sendiri tidak ada hak pakai ulang yang diberikan.",
        "The metadata and data policies still say the server has not been set up, and by "
        "their own words grant no right to re-use anything."),
    "identify-repository-name": _t(
        "Nama repositori disebutkan lebih dari sekali dalam perkenalan server.",
        "The repository's name appears more than once in the server's introduction."),
    "identify-earliest-datestamp": _t(
        "Tanggal cantuman tertua (earliestDatestamp) tidak ada atau tidak ditulis sebagai "
        "tanggal OAI-PMH.",
        "The date of the oldest record (earliestDatestamp) is missing or not written as an "
        "OAI-PMH date."),
    "identify-granularity": _t(
        "Ketelitian tanggal (granularity) tidak ditulis seperti yang diminta OAI-PMH.",
        "The date precision (granularity) is not written the way OAI-PMH requires."),
    "identify-admin-email": _t(
        "Alamat surel pengelola diawali mailto:, padahal OAI-PMH hanya menerima alamatnya "
        "saja.",
        "The administrator's e-mail address starts with mailto:, but OAI-PMH wants the bare "
        "address."),
    "identify-deleted-record": _t(
        "Keterangan server tentang cantuman terhapus (deletedRecord) bukan salah satu dari "
        "tiga nilai yang sah: no, transient, persistent.",
        "What the server says about deleted records (deletedRecord) is not one of the three "
        "allowed values: no, transient, persistent."),
    "identify-repository-identifier": _t(
        "Pengenal repositori dalam deskripsi server tidak berbentuk seperti nama domain.",
        "The repository identifier in the server's description does not look like a domain "
        "name."),
    # the other verbs
    "oai-error": _t(
        "Permintaan {sample} dijawab dengan galat OAI-PMH.",
        "The {sample} request was answered with an OAI-PMH error."),
    "verb-failed": _t(
        "Jawaban atas permintaan {sample} tidak dapat dibaca.",
        "The answer to the {sample} request could not be read."),
    "no-oai-dc": _t(
        "Server tidak menyediakan Dublin Core sederhana (oai_dc), format yang wajib ada di "
        "setiap server OAI-PMH dan yang dipakai agregator.",
        "The server does not offer simple Dublin Core (oai_dc), the format every OAI-PMH "
        "server must offer and the one the aggregator uses."),
    "prefix-not-listed": _t(
        "Format metadata {sample} yang dipilih untuk dipanen tidak ada dalam daftar format "
        "server.",
        "The metadata format {sample} chosen for harvesting is not in the server's list of "
        "formats."),
    # the sample page
    "no-complete-list-size": _t(
        "Server tidak menyebutkan berapa cantuman yang dimilikinya, jadi besarnya panen "
        "belum dapat diperkirakan.",
        "The server does not say how many records it holds, so the size of a harvest cannot "
        "be estimated."),
    "placeholder-identifier": _t(
        "Pengidentifikasi cantuman memakai awalan bawaan perangkat lunak (misalnya "
        "{sample}). Perpustakaan lain yang memakai perangkat lunak yang sama punya "
        "pengidentifikasi yang persis sama, sehingga pemanen yang hanya melihat "
        "pengidentifikasi, termasuk agregator nasional, tidak dapat membedakan cantuman "
        "Anda dari cantuman mereka.",
        "The record identifiers use the prefix the software ships with (for example "
        "{sample}). Other libraries running the same software have exactly the same "
        "identifiers, so harvesters that go by the identifier alone, national aggregators "
        "included, cannot tell your records from theirs."),
    "missing-datestamp": _t(
        "Sebanyak {sample} cantuman dalam contoh tidak memiliki cap tanggal (datestamp), "
        "sehingga agregator tidak dapat mengetahui cantuman mana yang berubah sejak panen "
        "terakhir.",
        "{sample} records of the sample have no date stamp (datestamp), so the aggregator "
        "cannot tell which records changed since the last harvest."),
    "bad-datestamp": _t(
        "Sebagian tanggal cantuman tidak ditulis dalam bentuk yang diminta OAI-PMH "
        "(misalnya {sample}).",
        "Some record dates are not written the way OAI-PMH requires (for example {sample})."),
    "granularity-mismatch": _t(
        "Ketelitian tanggal cantuman berbeda dari yang dinyatakan server dalam perkenalannya.",
        "Record dates are written with another precision than the server declares."),
    "empty-repository": _t(
        "Server menyatakan tidak ada cantuman yang dapat diberikan (noRecordsMatch).",
        "The server says it has no records to give (noRecordsMatch)."),
    # what the parser met
    "repaired-xml": _t(
        "Salah satu jawaban berisi XML rusak yang harus diperbaiki agregator sebelum dapat "
        "dibaca.",
        "One answer held broken XML that the aggregator had to repair before reading it."),
    "no-namespace": _t(
        "Jawaban OAI-PMH tidak menyatakan namespace OAI-PMH.",
        "The OAI-PMH answer does not declare the OAI-PMH namespace."),
    "leading-junk": _t(
        "Ada teks sebelum dokumen XML dimulai, sering kali peringatan PHP atau baris kosong.",
        "There is text before the XML document begins, often a PHP warning or a blank line."),
    "trailing-junk": _t(
        "Ada teks setelah dokumen XML berakhir.",
        "There is text after the end of the XML document."),
    "salvaged-page": _t(
        "Satu halaman cantuman begitu rusak sehingga harus dibaca cantuman demi cantuman; "
        "sebagian cantuman mungkin hilang.",
        "A page of records was so broken that it had to be read record by record; some "
        "records may be lost."),
    "bad-record": _t(
        "Sebagian cantuman tidak dapat dibaca dan akan dilewati.",
        "Some records could not be read and will be skipped."),
    "missing-identifier": _t(
        "Sebagian cantuman tidak memiliki pengidentifikasi dan akan dilewati.",
        "Some records have no identifier and will be skipped."),
    "header-only": _t(
        "Sebagian cantuman yang tidak terhapus datang tanpa deskripsinya (metadata) dan "
        "akan dilewati.",
        "Some records that are not deleted came without their description (metadata) and "
        "will be skipped."),
    "provenance-ignored": _t(
        "Keterangan asal-usul (provenance) sebagian cantuman tidak sah dan diabaikan.",
        "The origin statement (provenance) of some records is not valid and is ignored."),
    "other-notice": _t(
        "Agregator menemukan hal yang tidak biasa dalam salah satu jawaban; rinciannya ada "
        "di keterangan teknis.",
        "The aggregator noticed something unusual in one of the answers; the technical "
        "detail says what."),
}

# Why check_registered_url refused a URL, per RefusedURL.cause.
_NOT_PUBLIC = _t(" Agregator hanya memanen alamat publik di internet.",
                 " The aggregator only harvests public addresses on the internet.")
REFUSED: dict[str, dict[str, str]] = {
    "empty": _t("Alamat belum diisi.", "No address was given."),
    "unparsable": _t(
        "Alamat ini tidak dapat dibaca sebagai alamat web (ada spasi, karakter aneh, atau "
        "nama server dan port yang salah tulis).",
        "This cannot be read as a web address (it has spaces, odd characters, or a "
        "mistyped server name or port)."),
    "scheme": _t("Hanya alamat yang diawali http:// atau https:// yang dapat didaftarkan.",
                 "Only addresses starting with http:// or https:// can be registered."),
    "credentials": _t("Alamat tidak boleh memuat nama pengguna atau kata sandi.",
                      "The address must not contain a user name or password."),
    "no-host": _t("Alamat tidak memuat nama server.", "The address has no server name."),
    "fragment": _t("Alamat tidak boleh memuat bagian yang diawali tanda #.",
                   "The address must not contain a part starting with #."),
    "port": _t("Nomor port dalam alamat tidak sah.", "The port number in the address is "
               "not valid."),
    "bad-host": _t("Nama server dalam alamat bukan nama atau alamat IP yang sah.",
                   "The server name in the address is neither a valid name nor a valid IP "
                   "address."),
    "unresolvable": _t("Nama server ini tidak ditemukan di DNS.",
                       "This server name cannot be found in DNS."),
    "loopback": _t("Alamat ini menunjuk ke mesin agregator sendiri." + _NOT_PUBLIC["id"],
                   "This address points at the aggregator's own machine." + _NOT_PUBLIC["en"]),
    "private": _t("Alamat ini berada di jaringan privat." + _NOT_PUBLIC["id"],
                  "This address is in a private network." + _NOT_PUBLIC["en"]),
    "link-local": _t("Alamat ini adalah alamat link-local, tempat layanan internal seperti "
                     "metadata server awan." + _NOT_PUBLIC["id"],
                     "This is a link-local address, where internal services such as cloud "
                     "metadata live." + _NOT_PUBLIC["en"]),
    "multicast": _t("Alamat ini adalah alamat multicast." + _NOT_PUBLIC["id"],
                    "This is a multicast address." + _NOT_PUBLIC["en"]),
    "unspecified": _t("Alamat ini adalah alamat kosong (0.0.0.0 atau ::)." + _NOT_PUBLIC["id"],
                      "This is the empty address (0.0.0.0 or ::)." + _NOT_PUBLIC["en"]),
    "reserved": _t("Alamat ini termasuk rentang khusus yang dicadangkan." + _NOT_PUBLIC["id"],
                   "This address is in a reserved, special-purpose range." + _NOT_PUBLIC["en"]),
}

READY = _t(
    "Server menjawab OAI-PMH dengan benar dan cantumannya dapat dipanen.",
    "The server answers OAI-PMH correctly and its records can be harvested.")

# ``{count}`` is a number with its noun from COUNTED (singular, plural).
SUMMARIES: dict[str, dict[str, str]] = {
    "ready": _t("Siap dipanen: alamat ini dapat didaftarkan apa adanya.",
                "Ready: this address can be registered as it is."),
    "warnings": _t("Siap dipanen dengan catatan: alamat ini dapat didaftarkan, tetapi ada "
                   "{count} yang sebaiknya diperbaiki.",
                   "Ready with warnings: this address can be registered, but {count} "
                   "should be fixed."),
    "not-ready": _t("Belum siap dipanen: ada {count} yang harus diperbaiki lebih dulu.",
                    "Not ready: {count} must be fixed first."),
}
COUNTED: dict[str, dict[str, tuple[str, str]]] = {
    "warnings": {"id": ("hal", "hal"), "en": ("thing", "things")},
    "not-ready": {"id": ("masalah", "masalah"), "en": ("problem", "problems")},
}

"""The portal's Indonesian texts, keyed by the English message, plus type and language names."""

from __future__ import annotations

INDONESIAN: dict[str, str] = {
    # layout
    "Skip to content": "Langsung ke isi",
    "Main menu": "Menu utama",
    "Language": "Bahasa",
    "Search": "Cari",
    "Members": "Anggota",
    "About": "Tentang",
    "Search the catalogue of every member library":
        "Cari di katalog semua perpustakaan anggota",
    "Title, author, subject, ISBN …": "Judul, pengarang, subjek, ISBN …",
    "One catalogue of every member library of the network.":
        "Satu katalog untuk semua perpustakaan anggota jaringan.",
    # home
    "{records} records from {members} member libraries":
        "{records} cantuman dari {members} perpustakaan anggota",
    "Recently added": "Baru ditambahkan",
    "(untitled)": "(tanpa judul)",
    "Nothing has been harvested yet.": "Belum ada yang dipanen.",
    "Member libraries": "Perpustakaan anggota",
    "All members": "Semua anggota",
    # members
    "{n} records": "{n} cantuman",
    "Website": "Situs web",
    "Last harvested {date}": "Terakhir dipanen {date}",
    "Not harvested yet": "Belum dipanen",
    "{n} libraries share their catalogues in this network. Each record links back to the "
    "library that holds it.":
        "{n} perpustakaan berbagi katalog di jaringan ini. Setiap cantuman menautkan kembali "
        "ke perpustakaan yang memilikinya.",
    "Search the collection of {member}": "Cari di koleksi {member}",
    "Works by type": "Karya menurut jenis",
    "Works by year": "Karya menurut tahun",
    "Sources harvested": "Sumber yang dipanen",
    "Endpoint": "Alamat OAI-PMH",
    "Format": "Format",
    "Records": "Cantuman",
    "Last harvest": "Panen terakhir",
    "Public library": "Perpustakaan umum",
    "University library": "Perpustakaan perguruan tinggi",
    "School library": "Perpustakaan sekolah",
    "Special library": "Perpustakaan khusus",
    # about
    "About {network}": "Tentang {network}",
    "Every member library publishes its catalogue over OAI-PMH. This portal collects them on "
    "a schedule, groups copies of the same work, and sends you to the library that holds what "
    "you found. It now holds {records} records from {members} members.":
        "Setiap perpustakaan anggota menerbitkan katalognya melalui OAI-PMH. Portal ini "
        "mengumpulkannya secara terjadwal, mengelompokkan salinan dari karya yang sama, dan "
        "mengantar Anda ke perpustakaan yang memiliki apa yang Anda temukan. Saat ini portal "
        "memuat {records} cantuman dari {members} anggota.",
    "How to join": "Cara bergabung",
    "Any library whose system speaks OAI-PMH (SLiMS, OJS, EPrints, DSpace, Koha and many "
    "others do) can join: send the network coordinator the address of your OAI-PMH endpoint.":
        "Setiap perpustakaan yang sistemnya mendukung OAI-PMH (SLiMS, OJS, EPrints, DSpace, "
        "Koha, dan banyak lagi) dapat bergabung: kirimkan alamat OAI-PMH Anda kepada "
        "koordinator jaringan.",
    "For developers and other aggregators": "Untuk pengembang dan agregator lain",
    "The catalogue can be searched as JSON at {url}, and browsers can add it as a search "
    "engine.":
        "Katalog ini dapat dicari dalam format JSON di {url}, dan peramban dapat menambahkannya "
        "sebagai mesin pencari.",
    # search
    "Some search options were not understood and were left out: {names}.":
        "Beberapa pilihan pencarian tidak dikenali dan diabaikan: {names}.",
    "The query could not be read as search syntax, so its words were searched as they are.":
        "Kueri tidak dapat dibaca sebagai sintaks pencarian, jadi kata-katanya dicari apa "
        "adanya.",
    "Filters": "Filter",
    "Remove filter {name}: {value}": "Hapus filter {name}: {value}",
    "{n} works found": "{n} karya ditemukan",
    "No works found": "Tidak ada karya yang ditemukan",
    "Sort": "Urutkan",
    "Relevance": "Relevansi",
    "Newest": "Terbaru",
    "Oldest": "Terlama",
    "Title": "Judul",
    "Export these results": "Ekspor hasil ini",
    "Results per page": "Hasil per halaman",
    "Held by": "Dimiliki oleh",
    "Pages": "Halaman",
    "Previous": "Sebelumnya",
    "Next": "Berikutnya",
    "Page {page} of {pages}": "Halaman {page} dari {pages}",
    "Did you mean": "Mungkin maksud Anda",
    "Without one of the filters the search finds more:":
        "Tanpa salah satu filter, pencarian menemukan lebih banyak:",
    "Without {name}: {value}": "Tanpa {name}: {value}",
    "Tips: check the spelling, use fewer words, or search for a word of the title or the "
    "author's surname.":
        "Saran: periksa ejaan, gunakan lebih sedikit kata, atau cari satu kata dari judul atau "
        "nama keluarga pengarang.",
    "Refine the results": "Persempit hasil",
    "remove": "hapus",
    "Back to the results": "Kembali ke hasil",
    "Show all": "Tampilkan semua",
    "Every year": "Semua tahun",
    "Works per year, {first} to {last}": "Karya per tahun, {first} sampai {last}",
    "{n} works": "{n} karya",
    "From": "Dari",
    "To": "Sampai",
    "Apply": "Terapkan",
    "Every value for the search “{q}”, which finds {n} works.":
        "Semua nilai untuk pencarian “{q}”, yang menemukan {n} karya.",
    "Every value for these {n} works.": "Semua nilai untuk {n} karya ini.",
    "Page {page}": "Halaman {page}",
    "Member": "Anggota",
    "Type": "Jenis",
    "Year": "Tahun",
    "Subject": "Subjek",
    # record
    "This record was withdrawn by the member library.":
        "Cantuman ini telah ditarik oleh perpustakaan anggota.",
    "See it at {member}": "Lihat di {member}",
    "this copy's record": "cantuman salinan ini",
    "Details": "Rincian",
    "Other titles": "Judul lain",
    "Authors": "Pengarang",
    "Contributors": "Kontributor",
    "Publisher": "Penerbit",
    "Subjects": "Subjek",
    "Abstract": "Abstrak",
    "Rights": "Hak",
    "Link": "Tautan",
    "Other identifier": "Pengenal lain",
    "OAI identifier": "Pengenal OAI",
    "Harvested from": "Dipanen dari",
    "Datestamp": "Cap tanggal",
    "For librarians": "Untuk pustakawan",
    "Published in": "Terbit dalam",
    "Vol. {volume}": "Vol. {volume}",
    "No. {issue}": "No. {issue}",
    "pp. {pages}": "hlm. {pages}",
    "Classification": "Klasifikasi",
    "Call number": "Nomor panggil",
    "Cite": "Kutip",
    "Export": "Ekspor",
    "Metadata as harvested": "Metadata sebagaimana dipanen",
    # the API page (summaries and parameters come from web/openapi.json)
    "The catalogue as JSON": "Katalog sebagai JSON",
    "Every endpoint below answers GET requests with JSON and may be called from any web "
    "page (CORS, without credentials). Searches share a limit per client; a 429 answer "
    "says in Retry-After when to try again.":
        "Setiap titik akhir di bawah menjawab permintaan GET dengan JSON dan boleh dipanggil "
        "dari halaman web mana pun (CORS, tanpa kredensial). Pencarian berbagi satu batas "
        "per klien; jawaban 429 menyebut dalam Retry-After kapan boleh mencoba lagi.",
    "The machine-readable description (OpenAPI 3.1):":
        "Deskripsi yang dapat dibaca mesin (OpenAPI 3.1):",
    "Other aggregators can harvest the whole catalogue over OAI-PMH at {url}.":
        "Agregator lain dapat memanen seluruh katalog melalui OAI-PMH di {url}.",
    "Parameters": "Parameter",
    "Where": "Letak",
    "Meaning": "Arti",
    "Answers": "Jawaban",
    "query": "kueri",
    "path": "alamat",
    "Search the catalogue: works, facets and a spelling suggestion":
        "Mencari di katalog: karya, faset dan saran ejaan",
    "Words to find; author:, title:, subject: and quoted phrases work":
        "Kata yang dicari; author:, title:, subject: dan frasa dalam tanda kutip dapat dipakai",
    "Only works a member holds (its slug; repeatable)":
        "Hanya karya yang dimiliki seorang anggota (slug-nya; dapat diulang)",
    "Only works of a type (repeatable)": "Hanya karya dari satu jenis (dapat diulang)",
    "Only works in a language (ISO 639-1; repeatable)":
        "Hanya karya dalam satu bahasa (ISO 639-1; dapat diulang)",
    "A year (2019) or a range (2015..2020)": "Satu tahun (2019) atau rentang (2015..2020)",
    "The order of the results": "Urutan hasil",
    "The page of results": "Halaman hasil",
    "One record: its fields, its member and the other members' copies":
        "Satu cantuman: ruasnya, anggotanya dan salinan milik anggota lain",
    "The record's number, as in its page's address":
        "Nomor cantuman, seperti pada alamat halamannya",
    "Every member library with its number of records":
        "Setiap perpustakaan anggota dengan jumlah cantumannya",
    "Completions of the last word typed (OpenSearch suggestions)":
        "Pelengkapan kata terakhir yang diketik (saran OpenSearch)",
    "What was typed so far": "Yang sudah diketik",
    "This description of the API (OpenAPI 3.1)": "Deskripsi API ini (OpenAPI 3.1)",
    "Whether the store answers and the search index opens":
        "Apakah basis data menjawab dan indeks pencarian dapat dibuka",
    # errors
    "Page not found": "Halaman tidak ditemukan",
    "There is no page at this address. The record may have been removed, or the link may be "
    "mistyped.":
        "Tidak ada halaman di alamat ini. Cantuman mungkin telah dihapus, atau tautannya salah "
        "ketik.",
    "Gone": "Sudah tidak ada",
    "Search is not available right now": "Pencarian sedang tidak tersedia",
    "This search took too long. Try fewer or more specific words.":
        "Pencarian ini terlalu lama. Coba kata yang lebih sedikit atau lebih spesifik.",
    "The catalogue is being prepared. Try again in a few minutes.":
        "Katalog sedang disiapkan. Coba lagi beberapa menit lagi.",
    "Too many searches": "Terlalu banyak pencarian",
    "This address has searched very often in the last minute. Try again in {seconds} seconds.":
        "Alamat ini terlalu sering mencari dalam semenit terakhir. Coba lagi dalam {seconds} "
        "detik.",
    "Too many requests": "Terlalu banyak permintaan",
    "Try again in {seconds} seconds.": "Coba lagi dalam {seconds} detik.",
    "Something went wrong": "Terjadi kesalahan",
    "The error has been logged. Try again in a moment.":
        "Kesalahan telah dicatat. Coba lagi sebentar lagi.",
    "The request could not be handled": "Permintaan tidak dapat diproses",
    "Back to the home page": "Kembali ke beranda",
    # signing in and the admin pages
    "Sign in": "Masuk",
    "Sign out": "Keluar",
    "Email": "Surel",
    "Password": "Kata sandi",
    "For the repository managers of member libraries and the network's coordinator.":
        "Untuk pengelola repositori perpustakaan anggota dan koordinator jaringan.",
    "The email or the password is wrong.": "Surel atau kata sandi salah.",
    "Too many sign-in attempts. Try again in {seconds} seconds.":
        "Terlalu banyak percobaan masuk. Coba lagi dalam {seconds} detik.",
    "Administration": "Administrasi",
    "Overview": "Ikhtisar",
    "Sources": "Sumber",
    "No sources yet.": "Belum ada sumber.",
    "never": "belum pernah",
    # the dashboard
    "Accounts": "Akun",
    "Live records": "Cantuman aktif",
    "Sources failing": "Sumber yang gagal",
    "Runs in the last 24 hours": "Panen dalam 24 jam terakhir",
    "{n} applications to join are waiting": "{n} permohonan bergabung menunggu",
    "{n} accounts": "{n} akun",
    "Failures in a row": "Gagal berturut-turut",
    "Failing for": "Gagal selama",
    "Next run": "Panen berikutnya",
    "since {when}": "sejak {when}",
    "unknown": "tidak diketahui",
    "paused": "dijeda",
    "now": "sekarang",
    "ok": "berhasil",
    "partial": "sebagian",
    "failed": "gagal",
    "interrupted": "terputus",
    "running": "berjalan",
    "incremental": "inkremental",
    "full": "penuh",
    "{n} days": "{n} hari",
    "{n} hours": "{n} jam",
    "{n} minutes": "{n} menit",
    "Role": "Peran",
    "Last sign-in": "Terakhir masuk",
    "coordinator": "koordinator",
    "manager": "pengelola",
    "all": "semua",
    "Accounts are added and removed with `aggregator users add|remove`.":
        "Akun ditambah dan dihapus dengan `aggregator users add|remove`.",
    # joining the network (/register) and the coordinator's applications
    "Join the network": "Bergabung dengan jaringan",
    "A library whose catalogue or repository answers OAI-PMH can share it here. Give its "
    "address below: it is checked at once, and you see what the aggregator found and what "
    "to change. The network's coordinator then decides on the application, and you hear "
    "from them at the email address you give.":
        "Perpustakaan yang katalog atau repositorinya menjawab OAI-PMH dapat berbagi di "
        "sini. Isikan alamatnya di bawah: alamat itu langsung diperiksa, dan Anda melihat "
        "apa yang ditemukan agregator serta apa yang perlu diubah. Koordinator jaringan lalu "
        "memutuskan permohonan Anda, dan kabarnya dikirim ke alamat surel yang Anda berikan.",
    "Too many applications from your address. Try again in {seconds} seconds.":
        "Terlalu banyak permohonan dari alamat Anda. Coba lagi dalam {seconds} detik.",
    "The check of {url}": "Hasil pemeriksaan {url}",
    "The application was not sent: fix what must be fixed, then send the form again.":
        "Permohonan belum dikirim: perbaiki yang harus diperbaiki, lalu kirim formulir ini "
        "lagi.",
    "Name of the library": "Nama perpustakaan",
    "Website (optional)": "Situs web (boleh dikosongkan)",
    "For example https://perpustakaan.example.ac.id/":
        "Misalnya https://perpustakaan.example.ac.id/",
    "Contact email": "Surel kontak",
    "The decision is sent here.": "Keputusan dikirim ke alamat ini.",
    "OAI-PMH address (base URL)": "Alamat OAI-PMH (URL dasar)",
    "For example https://journal.example.ac.id/index.php/jurnal/oai (OJS), "
    "https://repository.example.ac.id/cgi/oai2 (EPrints) or "
    "https://repository.example.ac.id/server/oai/request (DSpace)":
        "Misalnya https://journal.example.ac.id/index.php/jurnal/oai (OJS), "
        "https://repository.example.ac.id/cgi/oai2 (EPrints) atau "
        "https://repository.example.ac.id/server/oai/request (DSpace)",
    "Check and apply": "Periksa dan ajukan",
    "The check asks the address a few questions and may take up to a minute.":
        "Pemeriksaan mengajukan beberapa pertanyaan ke alamat itu dan dapat memakan waktu "
        "hingga satu menit.",
    "Please fill in this field.": "Kolom ini wajib diisi.",
    "At most {n} characters.": "Paling banyak {n} karakter.",
    "This is not an email address.": "Ini bukan alamat surel.",
    "Give a web address starting with http:// or https://.":
        "Isikan alamat web yang diawali http:// atau https://.",
    "The network harvests this endpoint already.":
        "Jaringan sudah memanen alamat ini.",
    "An application for this endpoint is waiting for the coordinator already.":
        "Permohonan untuk alamat ini sudah menunggu keputusan koordinator.",
    "Platform detected: {platform}": "Platform yang terdeteksi: {platform}",
    "Must be fixed": "Harus diperbaiki",
    "Should be fixed": "Sebaiknya diperbaiki",
    "Ready": "Siap",
    "Technical detail": "Keterangan teknis",
    "Application sent": "Permohonan terkirim",
    "Thank you. The application of {name} (number {id}) waits for the network's "
    "coordinator.":
        "Terima kasih. Permohonan {name} (nomor {id}) menunggu keputusan koordinator "
        "jaringan.",
    "The decision will be sent to {email}.": "Keputusannya akan dikirim ke {email}.",
    "The coordinator will write to {email}.": "Koordinator akan menulis ke {email}.",
    "Register another endpoint": "Daftarkan alamat lain",
    "Applications": "Permohonan",
    "Application": "Permohonan",
    "Applications to join the network": "Permohonan bergabung dengan jaringan",
    "Libraries apply at {url}. Waiting applications come first, oldest first.":
        "Perpustakaan mengajukan permohonan di {url}. Permohonan yang menunggu tampil "
        "lebih dulu, yang terlama di atas.",
    "Received": "Diterima",
    "Library": "Perpustakaan",
    "Platform": "Platform",
    "Check": "Pemeriksaan",
    "No applications yet.": "Belum ada permohonan.",
    "waiting": "menunggu",
    "approved": "disetujui",
    "rejected": "ditolak",
    "by {who}, {when}": "oleh {who}, {when}",
    "Note": "Catatan",
    "The check when the library applied": "Hasil pemeriksaan saat perpustakaan mendaftar",
    "Approve": "Setujui",
    "Reject": "Tolak",
    "Member slug (a new member, or an existing member to add this endpoint to)":
        "Slug anggota (anggota baru, atau anggota yang sudah ada untuk ditambah alamat ini)",
    "Note to the applicant (optional)": "Catatan untuk pemohon (boleh dikosongkan)",
    "The member and its source are created and harvested at once.":
        "Anggota dan sumbernya dibuat lalu langsung dipanen.",
    "Why (sent to the applicant)": "Alasan (dikirim ke pemohon)",
    "To give the library an account for its pages:":
        "Untuk memberi perpustakaan ini akun bagi halaman-halamannya:",
    "Approved: member {slug} and its source are created, harvested at once.":
        "Disetujui: anggota {slug} dan sumbernya dibuat, dan langsung dipanen.",
    "Rejected.": "Ditolak.",
    "The applicant was told by email ({email}).":
        "Pemohon sudah diberi tahu lewat surel ({email}).",
    "No email was sent: tell the applicant yourself at {email}.":
        "Tidak ada surel yang terkirim: beri tahu pemohon sendiri di {email}.",
    "Not approved: the endpoint's address is refused now ({reason}).":
        "Tidak disetujui: alamat ini sekarang ditolak ({reason}).",
    # /admin: a source's page and a member's page
    "Source": "Sumber",
    "Base URL": "URL dasar",
    "Metadata prefix": "Prefiks metadata",
    "Set": "Set",
    "whole repository": "seluruh repositori",
    "Interval": "Interval",
    "Status": "Status",
    "active": "aktif",
    "Next harvest": "Panen berikutnya",
    "none while paused": "tidak ada selama dijeda",
    "as soon as a scheduler looks": "segera setelah penjadwal memeriksa",
    "backing off until {time}": "ditunda sampai {time}",
    "Being harvested by": "Sedang dipanen oleh",
    "until {time}": "sampai {time}",
    "Last success": "Berhasil terakhir",
    "Consecutive failures": "Kegagalan berturut-turut",
    "Last error": "Galat terakhir",
    "Harvest now": "Panen sekarang",
    "Pause": "Jeda",
    "Resume": "Lanjutkan",
    "Change what is harvested": "Ubah apa yang dipanen",
    "The endpoint is asked first: a prefix or set it does not list is refused.":
        "Endpoint ditanya lebih dulu: prefiks atau set yang tidak dicantumkannya ditolak.",
    "Save": "Simpan",
    "Records by month first harvested": "Rekaman menurut bulan pertama dipanen",
    "Harvest runs": "Riwayat panen",
    "Started": "Mulai",
    "Mode": "Mode",
    "Duration": "Durasi",
    "New": "Baru",
    "Updated": "Diperbarui",
    "Deleted": "Dihapus",
    "Unchanged": "Tidak berubah",
    "Error": "Galat",
    "Warning": "Peringatan",
    "Not harvested yet.": "Belum pernah dipanen.",
    "Newer runs": "Panen yang lebih baru",
    "Older runs": "Panen yang lebih lama",
    "A paused source is not harvested: resume it first.":
        "Sumber yang dijeda tidak dipanen: lanjutkan dulu.",
    "The source is due now: a scheduler will harvest it shortly.":
        "Sumber kini dijadwalkan: penjadwal akan segera memanennya.",
    "The source is paused: it is not harvested until it is resumed.":
        "Sumber dijeda: tidak dipanen sampai dilanjutkan.",
    "The source is active again: it is harvested on its schedule.":
        "Sumber aktif lagi: dipanen sesuai jadwalnya.",
    "Nothing was saved: {reason}": "Tidak ada yang disimpan: {reason}",
    "Nothing was saved: the endpoint did not answer ({reason}).":
        "Tidak ada yang disimpan: endpoint tidak menjawab ({reason}).",
    "Nothing was saved: the endpoint offers no prefix {prefix} ({offered}).":
        "Tidak ada yang disimpan: endpoint tidak menawarkan prefiks {prefix} ({offered}).",
    "Nothing was saved: the endpoint does not list the set {set}.":
        "Tidak ada yang disimpan: endpoint tidak mencantumkan set {set}.",
    "The source's settings are saved.": "Pengaturan sumber telah disimpan.",
    "Name": "Nama",
    "City": "Kota",
    "Province": "Provinsi",
    "Kind": "Jenis",
    "Contact": "Kontak",
    "Logo URL": "URL logo",
    "The member's details are saved.": "Data anggota telah disimpan.",
    # -- interlibrary loan and copy requests (issue 14) --------------------------------
    "A copy": "Salinan",
    "A loan": "Peminjaman",
    "Accept": "Terima",
    "Accepted": "Diterima",
    "All": "Semua",
    "Another library (type its name)": "Perpustakaan lain (ketik namanya)",
    "Answer": "Jawaban",
    "Ask {member}": "Ajukan permintaan ke {member}",
    "Asked for": "Yang diminta",
    "Choose which requests the member takes.": "Pilih permintaan yang dilayani anggota ini.",
    "Choose your library": "Pilih perpustakaan Anda",
    'Choose your library, or "Another library".':
        'Pilih perpustakaan Anda, atau "Perpustakaan lain".',
    "Conditions of {member}": "Ketentuan {member}",
    "Conditions shown to patrons (fees, delivery, who may ask)":
        "Ketentuan yang dibaca pemustaka (biaya, pengiriman, siapa yang boleh meminta)",
    "Copies": "Salinan",
    "Copy": "Salinan",
    "Decline": "Tolak",
    "Declined": "Ditolak",
    "Exchange or donation": "Pertukaran atau hibah",
    "Figures": "Angka",
    "For example the pages or chapter you need.":
        "Misalnya halaman atau bab yang Anda perlukan.",
    "For:": "Untuk:",
    "Fulfilled": "Dipenuhi",
    "Home library": "Perpustakaan asal",
    "Hours to answer (90%)": "Jam sampai dijawab (90%)",
    "Hours to answer (median)": "Jam sampai dijawab (median)",
    "Interlibrary requests": "Layanan silang layan",
    "Keep the address of this page to yourself: whoever has it can see your request.":
        "Simpan alamat halaman ini untuk Anda sendiri: siapa pun yang memilikinya dapat "
        "melihat permintaan Anda.",
    "Library asked": "Perpustakaan yang diminta",
    "Loan": "Peminjaman",
    "Loan, copy and exchange requests to your libraries, and those of their patrons to "
    "other libraries (to read only).":
        "Permintaan peminjaman, salinan, dan pertukaran kepada perpustakaan Anda, serta "
        "permintaan pemustakanya kepada perpustakaan lain (hanya dapat dibaca).",
    "Loans": "Peminjaman",
    "Loans and copies": "Peminjaman dan salinan",
    "Made": "Diajukan",
    "Mark as fulfilled": "Tandai sudah dipenuhi",
    "Message to the patron (optional)": "Pesan untuk pemustaka (boleh dikosongkan)",
    "Name your library, or pick it from the list.":
        "Tulis nama perpustakaan Anda, atau pilih dari daftar.",
    "No account is needed. The library answers by email, and you can follow your request "
    "at the page you see after sending it.":
        "Tidak perlu akun. Perpustakaan menjawab lewat surel, dan Anda dapat mengikuti "
        "permintaan Anda di halaman yang tampil setelah mengirimnya.",
    "No requests.": "Belum ada permintaan.",
    "None": "Tidak ada",
    "Note to the library (optional)": "Catatan untuk perpustakaan (boleh dikosongkan)",
    "Nothing was changed: the request is already {status}.":
        "Tidak ada yang diubah: permintaan ini sudah {status}.",
    "Nothing was saved: say why the request is declined (the patron reads it).":
        "Tidak ada yang disimpan: tuliskan alasan penolakan (pemustaka akan membacanya).",
    "accepted": "diterima",
    "declined": "ditolak",
    "fulfilled": "dipenuhi",
    "Open": "Belum selesai",
    "Patron": "Pemustaka",
    "Request": "Permintaan",
    "Request a copy from {member}": "Minta salinan dari {member}",
    "Request a loan from {member}": "Pinjam dari {member}",
    "Request a loan or a copy from {member}": "Pinjam atau minta salinan dari {member}",
    "Request figures": "Angka permintaan",
    "Requests": "Permintaan",
    "Requests by library and kind": "Permintaan menurut perpustakaan dan jenis",
    "Requests made to each library and to the whole network, by their status now, and the "
    "hours from a request to its first answer.":
        "Permintaan kepada setiap perpustakaan dan seluruh jaringan, menurut statusnya "
        "sekarang, serta jam dari permintaan sampai jawaban pertamanya.",
    "Requests this library takes": "Permintaan yang dilayani perpustakaan ini",
    "Requests, newest first": "Permintaan, yang terbaru lebih dulu",
    "Send the request": "Kirim permintaan",
    "Show": "Tampilkan",
    "Status:": "Status:",
    "Steps": "Tahapan",
    "The answer is saved.": "Jawaban telah disimpan.",
    "The library's answer": "Jawaban perpustakaan",
    "The library's answers are sent here.": "Jawaban perpustakaan dikirim ke sini.",
    "The member's request settings are saved.":
        "Pengaturan permintaan anggota telah disimpan.",
    "The patron of your library made this request; the library asked answers it.":
        "Pemustaka perpustakaan Anda mengajukan permintaan ini; perpustakaan yang diminta "
        "yang menjawabnya.",
    "The patron was told by email.": "Pemustaka telah diberi tahu lewat surel.",
    "The patron's name, email and note were deleted after the retention period ({when}).":
        "Nama, surel, dan catatan pemustaka telah dihapus setelah masa simpan ({when}).",
    "The whole network": "Seluruh jaringan",
    "Too many requests from your address. Try again in {seconds} seconds.":
        "Terlalu banyak permintaan dari alamat Anda. Coba lagi dalam {seconds} detik.",
    "Waiting for an answer": "Menunggu jawaban",
    "What do you ask for?": "Apa yang Anda minta?",
    "Why (shown to the patron)": "Alasannya (ditampilkan kepada pemustaka)",
    "You get an email at each step.": "Anda menerima surel pada setiap tahap.",
    "Your details": "Data Anda",
    "Your email": "Surel Anda",
    "Your home library": "Perpustakaan asal Anda",
    "Your library, if it is not in the list": "Perpustakaan Anda, jika tidak ada di daftar",
    "Your name": "Nama Anda",
    "Your name, email and note are deleted {days} days after the request.":
        "Nama, surel, dan catatan Anda dihapus {days} hari setelah permintaan.",
    "Your name, email and note were deleted after the retention period.":
        "Nama, surel, dan catatan Anda telah dihapus setelah masa simpan.",
    "Your note": "Catatan Anda",
    "Your request": "Permintaan Anda",
    "your patron": "pemustaka Anda",
    # exchange and donation lists (issue 14, part "offers")
    "Exchange and donation": "Pertukaran dan hibah",
    "Exchange list": "Daftar pertukaran",
    "Items the member libraries offer to each other for exchange or donation. A manager of "
    "a member library can sign in and ask for an item; the offering library answers the "
    "request.":
        "Bahan pustaka yang ditawarkan perpustakaan anggota satu sama lain untuk ditukar atau "
        "dihibahkan. Pengelola perpustakaan anggota dapat masuk dan meminta suatu bahan; "
        "perpustakaan yang menawarkan menjawab permintaan itu.",
    "Items your library offers to other libraries of the network for exchange or donation. "
    "Other members find them at {link} and ask for them; their requests reach you like any "
    "other request.":
        "Bahan pustaka yang ditawarkan perpustakaan Anda kepada perpustakaan lain di jaringan "
        "untuk ditukar atau dihibahkan. Anggota lain menemukannya di {link} dan memintanya; "
        "permintaan mereka sampai kepada Anda seperti permintaan lainnya.",
    "A CSV file (UTF-8, comma or semicolon) with a header line: title, creators, year, "
    "publisher, isbn, condition, quantity, note (or judul, pengarang, tahun, penerbit, isbn, "
    "kondisi, jumlah, catatan); or MARC records (ISO 2709 or MARCXML). At most {kib} KiB "
    "and {n} items. If any line is wrong, nothing is added.":
        "Berkas CSV (UTF-8, koma atau titik koma) dengan baris judul kolom: judul, pengarang, "
        "tahun, penerbit, isbn, kondisi, jumlah, catatan (atau title, creators, year, "
        "publisher, isbn, condition, quantity, note); atau cantuman MARC (ISO 2709 atau "
        "MARCXML). Paling besar {kib} KiB dan {n} eksemplar. Jika ada satu baris yang salah, "
        "tidak ada yang ditambahkan.",
    "Actions": "Tindakan",
    "Add to the exchange list": "Tambahkan ke daftar pertukaran",
    "Added to the exchange list: {title}": "Ditambahkan ke daftar pertukaran: {title}",
    "Any condition": "Semua kondisi",
    "Ask for this item": "Minta bahan ini",
    "At most {n} copies are offered.": "Paling banyak {n} eksemplar yang ditawarkan.",
    "Change the offer": "Ubah tawaran",
    "Choose a file to upload.": "Pilih berkas yang akan diunggah.",
    "Choose a record to offer.": "Pilih cantuman yang akan ditawarkan.",
    "Condition": "Kondisi",
    "Copies given (empty: all)": "Eksemplar yang diberikan (kosong: semua)",
    "Copies wanted": "Jumlah eksemplar yang diminta",
    "Creators": "Pengarang",
    "Edit": "Ubah",
    "Fair": "Cukup",
    "File": "Berkas",
    "Good": "Baik",
    "Poor": "Rusak",
    "Mark given": "Tandai sudah diberikan",
    "Marked given: {title}": "Ditandai sudah diberikan: {title}",
    "Marked given; {n} copies are still offered.":
        "Ditandai sudah diberikan; {n} eksemplar masih ditawarkan.",
    "No item offered matches.": "Tidak ada bahan tawaran yang cocok.",
    "None of your records holds all these words.":
        "Tidak ada cantuman Anda yang memuat semua kata ini.",
    "Note to the offering library": "Catatan untuk perpustakaan yang menawarkan",
    "Nothing is offered yet.": "Belum ada yang ditawarkan.",
    "Nothing was added: fix these lines and upload the file again.":
        "Tidak ada yang ditambahkan: perbaiki baris-baris ini lalu unggah berkasnya lagi.",
    "Nothing was added: {reason}": "Tidak ada yang ditambahkan: {reason}",
    "Offered by": "Ditawarkan oleh",
    "On behalf of": "Atas nama",
    "Only an available offer can be changed.":
        "Hanya tawaran yang masih tersedia yang dapat diubah.",
    "Only managers of another member library can ask for this item.":
        "Hanya pengelola perpustakaan anggota lain yang dapat meminta bahan ini.",
    "Pick from your records": "Pilih dari cantuman Anda",
    "Quantity": "Jumlah",
    "Record": "Cantuman",
    "Records of {member}": "Cantuman {member}",
    "See the list as others see it": "Lihat daftar seperti yang dilihat anggota lain",
    "Sign in as a manager of a member library to ask for this item.":
        "Masuk sebagai pengelola perpustakaan anggota untuk meminta bahan ini.",
    "as a manager of a member library to ask for this item.":
        "sebagai pengelola perpustakaan anggota untuk meminta bahan ini.",
    "The file is too large: at most {kib} KiB. Split it into several files.":
        "Berkas terlalu besar: paling besar {kib} KiB. Pecah menjadi beberapa berkas.",
    "The note may have at most {n} characters.": "Catatan paling panjang {n} karakter.",
    "The offer is saved.": "Tawaran telah disimpan.",
    "The quantity must be a whole number.": "Jumlah harus bilangan bulat.",
    "The record in the catalogue": "Cantumannya di katalog",
    "This item is not offered any more.": "Bahan ini tidak ditawarkan lagi.",
    "This item is offered by your own library.":
        "Bahan ini ditawarkan oleh perpustakaan Anda sendiri.",
    "Title, author, publisher or ISBN": "Judul, pengarang, penerbit atau ISBN",
    "Too many requests from this address: try again in {seconds} seconds.":
        "Terlalu banyak permintaan dari alamat ini: coba lagi dalam {seconds} detik.",
    "Upload": "Unggah",
    "Upload a list": "Unggah daftar",
    "Withdraw": "Tarik kembali",
    "Withdrawn: {title}": "Ditarik kembali: {title}",
    "Words of the title, author, publisher or ISBN":
        "Kata dari judul, pengarang, penerbit atau ISBN",
    "You do not manage this library.": "Anda bukan pengelola perpustakaan ini.",
    "Your library is not an active member of the network.":
        "Perpustakaan Anda bukan anggota aktif jaringan.",
    "Your request was sent to {member}.": "Permintaan Anda telah dikirim ke {member}.",
    "available": "tersedia",
    "given": "sudah diberikan",
    "withdrawn": "ditarik kembali",
    "{n} items offered": "{n} bahan ditawarkan",
    "{n} items offered for exchange or donation":
        "{n} bahan ditawarkan untuk ditukar atau dihibahkan",
    "{n} items were added to the exchange list.":
        "{n} bahan telah ditambahkan ke daftar pertukaran.",
    "{n} offers": "{n} tawaran",
    # -- New acquisitions (issue 14) --
    "New acquisitions": "Koleksi baru",
    "New acquisitions of the network": "Koleksi baru jaringan",
    "New acquisitions of this library": "Koleksi baru perpustakaan ini",
    "New acquisitions this week": "Koleksi baru minggu ini",
    "New acquisitions this month": "Koleksi baru bulan ini",
    "New acquisitions: {name}, last {days} days": "Koleksi baru: {name}, {days} hari terakhir",
    "New this week": "Baru minggu ini",
    "New this month": "Baru bulan ini",
    "Atom feed": "Umpan Atom",
    "Period": "Periode",
    "Last 7 days": "7 hari terakhir",
    "Last 30 days": "30 hari terakhir",
    "Works new to the network, by the date the first copy of each was harvested.":
        "Karya yang baru di jaringan, menurut tanggal salinan pertamanya dipanen.",
    "Works this library holds for the first time, by the date its first copy was harvested.":
        "Karya yang pertama kali dimiliki perpustakaan ini, menurut tanggal panen pertamanya.",
    "Printable list of {month}": "Daftar cetak {month}",
    "CSV of {month}": "CSV {month}",
    "Works first harvested in {month} (UTC)": "Karya yang pertama kali dipanen pada {month} (UTC)",
    "The first {n} are listed; the CSV holds them all.":
        "Hanya {n} karya pertama yang didaftar; CSV memuat semuanya.",
    "Back to the new acquisitions": "Kembali ke koleksi baru",
    "First harvested": "Pertama dipanen",
    "Nothing new was harvested in this month.": "Tidak ada karya baru yang dipanen pada bulan ini.",
    "Listed on {date} from {url}": "Didaftar pada {date} dari {url}",
    "Held by: {members}": "Dimiliki oleh: {members}",
    "Type: {value}": "Jenis: {value}",
    "Classification: {value}": "Klasifikasi: {value}",
    # -- the About page's cooperation services (issue 14) ------------------------------
    "Cooperation services": "Layanan kerja sama",
    "The network exists so that its libraries work together. Beside the catalogue it "
    "offers:":
        "Jaringan ini ada agar perpustakaan anggotanya bekerja sama. Selain katalog, "
        "jaringan menyediakan:",
    "Every week and every month, the works that newly arrived in the network or at one "
    "member: as a page, as an Atom feed other websites can show, and as a monthly list to "
    "print or to send as CSV.":
        "Setiap minggu dan setiap bulan, karya yang baru masuk ke jaringan atau ke satu "
        "anggota: sebagai halaman, umpan Atom yang dapat dipasang di situs lain, dan daftar "
        "bulanan untuk dicetak atau dikirim sebagai CSV.",
    "Interlibrary loans and copies": "Silang layan dan peminjaman antarperpustakaan",
    "On the page of a record, ask a member library that holds it for a loan or a copy, "
    "where that library takes requests. No account is needed: you follow your request at "
    "a private link and by email.":
        "Di halaman sebuah cantuman, mintalah pinjaman atau salinan kepada perpustakaan "
        "anggota yang memilikinya, jika perpustakaan itu menerima permintaan. Tidak perlu "
        "akun: permintaan Anda dapat diikuti melalui tautan pribadi dan surel.",
    "The personal details of a request (name, email, note) are deleted {days} days after "
    "it was made.":
        "Data pribadi sebuah permintaan (nama, surel, catatan) dihapus {days} hari setelah "
        "permintaan dibuat.",
    "Exchange and donation lists": "Daftar pertukaran dan hibah",
    "Member libraries list the items they offer to other libraries; the managers of other "
    "members ask for them here.":
        "Perpustakaan anggota mendaftarkan bahan yang mereka tawarkan kepada perpustakaan "
        "lain; pengelola anggota lain dapat memintanya di sini.",
    "Collection overlap": "Tumpang tindih koleksi",
    "Managers see how much of their collection is unique and what they share with each "
    "other member, so that members buy less of the same.":
        "Pengelola melihat berapa bagian koleksinya yang unik dan apa yang sama dengan "
        "setiap anggota lain, agar anggota tidak membeli bahan yang sama.",
    # -- Collection overlap (issue 14: coordinated acquisition) --
    "Which works each member alone holds and which it shares with others, so that members can "
    "coordinate what they buy. A work is a group of duplicate records; a member holds it when one "
    "of its live records is in the group.":
        "Karya mana yang hanya dimiliki satu anggota dan mana yang dimiliki bersama anggota lain, "
        "agar anggota dapat mengoordinasikan pengadaan. Satu karya adalah sekelompok cantuman "
        "duplikat; anggota memilikinya bila salah satu cantumannya yang masih aktif ada dalam "
        "kelompok itu.",
    "Filter": "Saring",
    "All types": "Semua jenis",
    "First year": "Tahun awal",
    "Last year": "Tahun akhir",
    "Classes": "Kelas",
    "DDC hundreds, UDC main classes": "Ratusan DDC, kelas utama UDC",
    "DDC tens, UDC two digits": "Puluhan DDC, dua angka UDC",
    "Download as CSV:": "Unduh sebagai CSV:",
    "members": "anggota",
    "shared works": "karya bersama",
    "most widely held works": "karya yang paling banyak dimiliki",
    "classes and subjects": "kelas dan subjek",
    "{n} works match the filter.": "{n} karya sesuai dengan saringan.",
    "Counted at {when}; counted again when the catalogue changes, at most every five "
    "minutes.":
        "Dihitung pada {when}; dihitung ulang bila katalog berubah, paling sering lima menit "
        "sekali.",
    "These figures are being counted again; reload the page in a minute for new ones.":
        "Angka ini sedang dihitung ulang; muat ulang halaman sebentar lagi untuk angka "
        "terbaru.",
    "Works per member": "Karya per anggota",
    "Works": "Karya",
    "Unique works": "Karya unik",
    "Unique share": "Persentase unik",
    "your library": "perpustakaan Anda",
    "No members yet.": "Belum ada anggota.",
    "Works shared by two members: each cell counts the works the row member shares with the "
    "column member, with their share of the row member's works; darker cells share more.":
        "Karya yang dimiliki dua anggota: setiap sel menghitung karya yang dimiliki anggota baris "
        "bersama anggota kolom, dengan persentasenya dari karya anggota baris; sel yang lebih "
        "gelap berbagi lebih banyak.",
    "The most widely held works": "Karya yang paling banyak dimiliki",
    "(no title)": "(tanpa judul)",
    "No work is held by more than one member.": "Tidak ada karya yang dimiliki lebih dari satu "
    "anggota.",
    "Classes held by one member or by none": "Kelas yang hanya dimiliki satu anggota atau tidak "
    "dimiliki siapa pun",
    "Class": "Kelas",
    "no member": "tidak ada anggota",
    "Every class is held by at least two members.": "Setiap kelas dimiliki sedikitnya dua anggota.",
    "Subjects held by one member only (most works first)":
        "Subjek yang hanya dimiliki satu anggota (karya terbanyak dahulu)",
    "No subject is held by one member only.": "Tidak ada subjek yang hanya dimiliki satu anggota.",
    "Unknown type: {value}.": "Jenis tidak dikenal: {value}.",
    "Unknown class level: {value}.": "Tingkat kelas tidak dikenal: {value}.",
    "The first year comes after the last year.": "Tahun awal jatuh setelah tahun akhir.",
    "{field}: give a year between {low} and {high}.": "{field}: isikan tahun antara {low} dan "
    "{high}.",
    "Unknown part: {value} (members, matrix, duplicated, classes).":
        "Bagian tidak dikenal: {value} (members, matrix, duplicated, classes).",
    "Computer science, information and general works": "Ilmu komputer, informasi dan karya umum",
    "Philosophy and psychology": "Filsafat dan psikologi",
    "Religion": "Agama",
    "Social sciences": "Ilmu sosial",
    "Science": "Ilmu murni",
    "Technology": "Teknologi (ilmu terapan)",
    "Arts and recreation": "Kesenian dan rekreasi",
    "Literature": "Kesusastraan",
    "History and geography": "Sejarah dan geografi",
    "Science and knowledge, information, librarianship": "Ilmu pengetahuan, informasi, "
    "kepustakawanan",
    "Mathematics and natural sciences": "Matematika dan ilmu pengetahuan alam",
    "Applied sciences, medicine and technology": "Ilmu terapan, kedokteran dan teknologi",
    "The arts, recreation and sport": "Kesenian, rekreasi dan olahraga",
    "Language, linguistics and literature": "Bahasa, linguistik dan kesusastraan",
    "Geography, biography and history": "Geografi, biografi dan sejarah",
}

# Controlled types (normalize/vocab.py) in Indonesian.
TYPE_NAMES: dict[str, str] = {
    "Book": "Buku", "Article": "Artikel", "Thesis": "Skripsi/Tesis",
    "Dissertation": "Disertasi", "Report": "Laporan", "Dataset": "Dataset",
    "Conference paper": "Makalah konferensi", "Book chapter": "Bab buku",
    "Journal": "Jurnal", "Image": "Gambar", "Video": "Video", "Audio": "Audio",
    "Map": "Peta", "Software": "Perangkat lunak", "Other": "Lainnya",
}

# ISO 639-1 code → (Indonesian name, English name), for the languages met most often.
LANGUAGE_NAMES: dict[str, tuple[str, str]] = {
    "id": ("Bahasa Indonesia", "Indonesian"), "en": ("Bahasa Inggris", "English"),
    "ms": ("Bahasa Melayu", "Malay"), "jv": ("Bahasa Jawa", "Javanese"),
    "su": ("Bahasa Sunda", "Sundanese"), "ar": ("Bahasa Arab", "Arabic"),
    "nl": ("Bahasa Belanda", "Dutch"), "de": ("Bahasa Jerman", "German"),
    "fr": ("Bahasa Prancis", "French"), "ja": ("Bahasa Jepang", "Japanese"),
    "zh": ("Bahasa Tionghoa", "Chinese"), "ko": ("Bahasa Korea", "Korean"),
    "es": ("Bahasa Spanyol", "Spanish"), "pt": ("Bahasa Portugis", "Portuguese"),
    "ru": ("Bahasa Rusia", "Russian"), "it": ("Bahasa Italia", "Italian"),
    "la": ("Bahasa Latin", "Latin"), "th": ("Bahasa Thai", "Thai"),
    "vi": ("Bahasa Vietnam", "Vietnamese"), "tl": ("Bahasa Tagalog", "Tagalog"),
}

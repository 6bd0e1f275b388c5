"""The command line as a user drives it: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import pytest

from aggregator.cli import main
from aggregator.demo.oaiserver import OAIServer, Repository, Response
from aggregator.errors import RefusedURL
from aggregator.harvest.registration import check_registered_url
from harvesting import make_records
from httpfixture import LocalServer

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_ADDRESS = "93.184.215.14"
_system_getaddrinfo = socket.getaddrinfo


def offline_getaddrinfo(host: str, port: object, *args: Any, **kwargs: Any) -> Any:
    """The system resolver, except that the documentation names the tests register
    (``*.example.org``, ``*.example.ac.id`` ...) resolve to one public address: no test
    asks real DNS."""
    if ".example." in f".{host.rstrip('.')}.":
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]
    return _system_getaddrinfo(host, port, *args, **kwargs)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment pointing the CLI at a fresh SQLite store in tmp_path (and example
    names resolving offline, for the in-process commands)."""
    monkeypatch.setattr(socket, "getaddrinfo", offline_getaddrinfo)
    values = {"AGGREGATOR_DATA_DIR": str(tmp_path / "data"),
              "AGGREGATOR_ALLOW_NETWORKS": "127.0.0.0/8", "AGGREGATOR_DATABASE_URL": ""}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AGGREGATOR_CONFIG", raising=False)
    return values


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def process(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own process, as a user does."""
    return subprocess.run([sys.executable, "-m", "aggregator", *args], input=stdin,
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=60)


def test_init_is_idempotent(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    first = cli(capsys, "init")
    second = cli(capsys, "init")
    assert first[0] == second[0] == 0
    assert "revision" in first[1] and first[1] == second[1]


def test_commands_before_init_say_what_to_do(env: dict[str, str]) -> None:
    result = process(env, "members", "list")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "aggregator init" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (["members", "add", "Bad Slug!", "--name", "X"], "slug"),
    (["members", "add", "ok", "--name", "X", "--url", "ftp://example.org/oai"], "http"),
    (["members", "add", "ok", "--name", "X", "--url", "http://10.1.2.3/oai"], "not a public"),
    (["members", "add", "ok", "--name", "X", "--url", "not a url"], "URL"),
    (["sources", "add", "nobody", "http://example.org/oai"], "unknown member"),
    (["harvest", "nobody"], "unknown member"),
    (["harvest"], "--all"),
    (["sources", "add", "nobody", "http://example.org/oai", "--every", "sometimes"], "interval"),
])
def test_user_errors_are_one_line(env: dict[str, str], capsys: pytest.CaptureFixture[str],
                                  args: list[str], needle: str) -> None:
    assert cli(capsys, "init")[0] == 0
    if args[:2] == ["sources", "add"] and "--every" in args:
        assert cli(capsys, "members", "add", "nobody", "--name", "N")[0] == 0
    code, out, err = cli(capsys, *args)
    assert code != 0
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert needle.lower() in err.lower()


def test_a_loopback_url_in_hex_is_refused_at_once_as_the_library_says(
        env: dict[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGGREGATOR_ALLOW_NETWORKS", "")
    with pytest.raises(RefusedURL) as info:
        check_registered_url("http://0x7f000001/oai")
    # the library's words, and on the command line the very setting that allows it
    expected = (f"error: {info.value} (e.g. AGGREGATOR_ALLOW_NETWORKS=127.0.0.1/32, or "
                f'allow_networks = ["127.0.0.1/32"] in the settings file)\n')
    assert "allow_networks setting" in str(info.value)
    assert cli(capsys, "init")[0] == 0
    assert cli(capsys, "members", "add", "kota", "--name", "Perpustakaan Kota")[0] == 0
    with LocalServer() as server:  # what the URL would reach: it must hear nothing
        url = f"http://0x7f000001:{server.port}/oai"
        for args in (["members", "add", "desa", "--name", "Desa", "--url", url],
                     ["sources", "add", "kota", url],
                     ["check", url]):
            code, out, err = cli(capsys, *args)
            assert (code, out, err) == (2, "", expected), args
        assert server.seen == []
    members = json.loads(cli(capsys, "members", "list", "--json")[1])
    assert [(m["slug"], m["sources"]) for m in members] == [("kota", 0)]


def test_registered_urls_are_stored_canonically(env: dict[str, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, "init")
    code, out, _ = cli(capsys, "members", "add", "lokal", "--name", "Lokal", "--url",
                       "HTTP://0x7f000001:8080/slims/oai.php")  # 127.0.0.0/8 is allowed here
    assert code == 0 and "http://127.0.0.1:8080/slims/oai.php" in out
    sources = json.loads(cli(capsys, "sources", "list", "--json")[1])
    assert [s["base_url"] for s in sources] == ["http://127.0.0.1:8080/slims/oai.php"]


def test_bad_setting_is_one_line(env: dict[str, str]) -> None:
    result = process({**env, "AGGREGATOR_READ_TIMEOUT": "soon"}, "init")
    assert result.returncode == 2
    assert "read_timeout" in result.stderr and "Traceback" not in result.stderr


def test_members_and_sources_round_trip(env: dict[str, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, "init")
    code, out, _ = cli(capsys, "members", "add", "unira", "--name", "Universitas Nusantara",
                       "--homepage", "https://unira.example.ac.id", "--url",
                       "https://repo.unira.example.ac.id/cgi/oai2", "--every", "6h")
    assert code == 0 and "unira" in out
    assert cli(capsys, "sources", "add", "unira", "https://jurnal.unira.example.ac.id/oai",
               "--set", "jipi:ART", "--prefix", "oai_dc")[0] == 0
    code, out, _ = cli(capsys, "members", "list", "--json")
    members = json.loads(out)
    assert [(m["slug"], m["sources"], m["records"]) for m in members] == [("unira", 2, 0)]
    code, out, _ = cli(capsys, "sources", "list", "--json")
    sources = json.loads(out)
    assert {s["base_url"] for s in sources} == {"https://repo.unira.example.ac.id/cgi/oai2",
                                                 "https://jurnal.unira.example.ac.id/oai"}
    assert {s["every"] for s in sources} == {"6h", "1d"}
    assert cli(capsys, "members", "add", "unira", "--name", "Again")[0] == 2  # duplicate


def test_remove_asks_first(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, "init")
    cli(capsys, "members", "add", "gone", "--name", "Gone")
    refused = process(env, "members", "remove", "gone", stdin="n\n")
    assert refused.returncode == 1
    assert json.loads(cli(capsys, "members", "list", "--json")[1])[0]["slug"] == "gone"
    assert process(env, "members", "remove", "gone", "--yes").returncode == 0
    assert json.loads(cli(capsys, "members", "list", "--json")[1]) == []


def test_harvest_json_lines_and_exit_status(env: dict[str, str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    good = Repository(make_records(25), page_size=10)
    broken = Repository(make_records(5))
    with OAIServer(good) as one, OAIServer(broken) as two:
        two.quirk = lambda r: Response(body=b"<html>maintenance</html>", content_type="text/html")
        cli(capsys, "init")
        cli(capsys, "members", "add", "good", "--name", "Good", "--url", one.base_url)
        code, out, _ = cli(capsys, "harvest", "good", "--json")
        assert code == 0
        line = json.loads(out)
        for key in ("source", "status", "new", "updated", "deleted", "unchanged", "pages",
                    "warnings", "errors"):
            assert key in line
        assert (line["status"], line["new"], line["pages"]) == ("ok", 25, 3)

        cli(capsys, "members", "add", "broken", "--name", "Broken", "--url", two.base_url)
        code, out, _ = cli(capsys, "harvest", "--all", "--json")
    lines = [json.loads(x) for x in out.strip().splitlines()]
    assert code == 1  # one source failed
    assert sorted(x["status"] for x in lines) == ["failed", "ok"]
    failed = next(x for x in lines if x["status"] == "failed")
    assert failed["errors"][0]["code"] == "not-oai"


def test_check_reports_what_a_manager_can_fix(env: dict[str, str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    records = make_records(12, prefix="oai:ojs.pkp.sfu.ca:article/")
    repo = Repository(records, page_size=5, earliest_datestamp="", granularity="yyyy-mm-dd")
    with OAIServer(repo) as server:
        code, out, _ = cli(capsys, "check", server.base_url, "--json")
    report = json.loads(out)
    text = " ".join(report["warnings"])
    assert "ojs.pkp.sfu.ca" in text
    assert "earliestDatestamp is empty" in text
    assert "granularity" in text
    assert report["info"]["estimated_size"] == 12
    assert code == (1 if report["errors"] else 0)


def test_check_of_a_web_page_and_of_nothing(env: dict[str, str]) -> None:
    with OAIServer(Repository()) as server:
        server.quirk = lambda r: Response(body=b"<!doctype html><title>Beranda</title>",
                                          content_type="text/html")
        page = process(env, "check", server.base_url)
    assert page.returncode != 0 and "Traceback" not in page.stderr
    assert page.stderr.startswith("error:") and "OAI" in page.stderr
    nothing = process({**env, "AGGREGATOR_MAX_RETRIES": "0"}, "check", "http://127.0.0.1:9/oai")
    assert nothing.returncode == 1 and "127.0.0.1" in nothing.stderr
    assert len(nothing.stderr.strip().splitlines()) == 1


def test_check_passes_a_clean_endpoint(env: dict[str, str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = Repository(make_records(3), page_size=10)
    with OAIServer(repo) as server:
        code, out, _ = cli(capsys, "check", server.base_url)
    assert code == 0 and "result: usable" in out


def test_demo_harvests_the_sample_network(tmp_path: Path, env: dict[str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    code, out, _ = cli(capsys, "demo", "--data-dir", str(folder), "--no-serve")
    assert code == 0, out
    assert out.count(" ok ") >= 10  # five members, harvested twice
    assert "Total:" in out and (folder / "aggregator.sqlite3").exists()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.docx").write_text("do not delete")
    code, _, err = cli(capsys, "demo", "--data-dir", str(precious), "--no-serve")
    assert code == 2 and "not empty" in err
    assert (precious / "thesis.docx").exists()


def _read_until(stream: IO[str], marker: str, deadline: float) -> str:
    seen = ""
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen += line
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} never printed; output so far:\n{seen}")


def test_demo_serves_the_portal_until_interrupted(tmp_path: Path, env: dict[str, str]) -> None:
    with subprocess.Popen(
            [sys.executable, "-m", "aggregator", "demo", "--data-dir", str(tmp_path / "demo"),
             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **env}) as child:
        try:
            assert child.stdout is not None
            out = _read_until(child.stdout, "The portal is ready:", time.monotonic() + 90)
            url = re.search(r"The portal is ready: (http://127\.0\.0\.1:\d+/)", out)
            assert url, out
            with urllib.request.urlopen(url.group(1) + "search?q=pendidikan",
                                        timeout=10) as page:
                html = page.read().decode()
            assert page.status == 200 and "karya ditemukan" in html
            assert "Dimiliki oleh" in html
            child.send_signal(signal.SIGINT)
            assert child.wait(timeout=15) == 0
        finally:
            child.kill()
            child.wait()


def test_demo_reports_a_busy_port_before_harvesting(tmp_path: Path, env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = process(env, "demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port))
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("error: cannot listen on") and "--port" in result.stderr
    assert "harvest" not in result.stdout.lower()


def test_readme_documents_every_command() -> None:
    from aggregator.cli import cli as group

    readme = (ROOT / "README.md").read_text()
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        for sub in subcommands or [None]:
            usage = f"aggregator {name}" + (f" {sub}" if sub else "")
            assert f"`{usage}" in readme, f"{usage} is not documented in README.md"


def test_progress_line_only_draws_on_a_terminal(tmp_path: Path) -> None:
    from aggregator.console import ProgressLine

    with open(tmp_path / "log", "w") as stream:
        line = ProgressLine("x", stream=stream, interval=0)
        line.update(10, 100)
        line.finish()
    assert (tmp_path / "log").read_text() == ""



# -- a new user's first mistakes: one `error:` line each, exit code 2 ----------------------


def one_error(err: str) -> str:
    """The single `error:` line of stderr (failing when there is anything else)."""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_searching_an_unknown_member_is_an_error_not_zero_hits(
        env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "init")[0] == 0
    assert cli(capsys, "members", "add", "kota", "--name", "Perpustakaan Kota")[0] == 0
    code, out, err = cli(capsys, "search", "--member", "kota", "--member", "nosuch", "padi")
    assert (code, out) == (2, "")
    assert one_error(err) == "error: unknown member 'nosuch'"


def test_a_bad_option_value_is_one_error_line_naming_the_allowed_values(
        env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "search", "--sort", "bogus", "padi")
    assert (code, out) == (2, "")
    line = one_error(err)
    assert "'bogus'" in line and "'relevance', 'newest', 'oldest', 'title'" in line
    assert line.endswith("(see `aggregator search --help`)")


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("AGGREGATOR_READ_TIMEOUT", "-5", "bad value -5.0; it must be more than 0 seconds"),
    ("AGGREGATOR_SEARCH_BACKEND", "solr", "bad value 'solr'; it must be one of tantivy, whoosh"),
    ("AGGREGATOR_READ_TIMOUT", "5", "environment variable AGGREGATOR_READ_TIMOUT names no "
                                    "setting; did you mean AGGREGATOR_READ_TIMEOUT?"),
])
def test_a_bad_setting_says_why_and_what_is_allowed(
        env: dict[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str) -> None:
    monkeypatch.setenv(name, value)
    code, out, err = cli(capsys, "members", "list")
    assert (code, out) == (2, "")
    assert reason in one_error(err)


def test_the_test_suites_own_variables_are_not_settings(
        env: dict[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGGREGATOR_TEST_ANYTHING", "1")
    monkeypatch.setenv("AGGREGATOR_CONFIG", "")
    assert cli(capsys, "init")[0] == 0
    assert cli(capsys, "members", "list")[0] == 0


def test_reading_an_absent_store_creates_nothing(
        env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(env["AGGREGATOR_DATA_DIR"])
    for args in (["members", "list"], ["sources", "list"], ["search", "--member", "x", "y"],
                 ["harvest", "--all"]):
        code, out, err = cli(capsys, *args)
        assert (code, out) == (2, ""), args
        assert "run `aggregator init`" in one_error(err), args
        assert not data.exists(), args  # neither the folder nor an empty database


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run the CLI with its stderr on a pseudo-terminal; return (exit code, stderr)."""
    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "aggregator", *args],
                              stdout=subprocess.DEVNULL, stderr=follower,
                              env={**os.environ, **env}, timeout=60)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    return done.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_dead_host_is_one_error_line_on_a_terminal(env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/oai"
    quick = {**env, "AGGREGATOR_BACKOFF_BASE": "0.01", "AGGREGATOR_MAX_RETRIES": "3"}
    code, err = on_a_terminal(quick, "check", url)
    assert code == 1
    assert one_error(err).startswith("error: cannot connect to host: 127.0.0.1")
    code, err = on_a_terminal(quick, "-v", "check", url)  # the retries are logged, shown on -v
    assert code == 1 and "WARNING" in err and "retry 1 of" in err
    # a log going to a file or a journal keeps the warnings
    piped = process(quick, "check", url)
    assert piped.returncode == 1 and "WARNING" in piped.stderr
